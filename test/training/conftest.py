"""Make ``training`` importable however pytest is started, and keep torch on 2 threads."""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

try:
    import torch
except ImportError:  # the training tests skip themselves without torch
    torch = None
else:
    torch.set_num_threads(2)
