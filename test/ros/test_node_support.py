"""node_support helpers that every node runs at start, checked in a child process each."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from face_recognition_ros.nodes.node_support import KEEP_FRAME_BUFFERS_ENV

# Allocates and frees four frame-sized buffers (as receiving one 640x480 image does) 100
# times and prints the page faults that took, after printing what keep_frame_buffers said.
FRAME_ALLOCATIONS = '''
import resource
from face_recognition_ros.nodes.node_support import keep_frame_buffers
print(keep_frame_buffers())
def receive_one_frame():
    buffers = [bytearray(921_600) for _ in range(4)]  # zero-filled: every page touched
    del buffers
receive_one_frame()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(100):
    receive_one_frame()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
'''


def _page_faults(keep: str) -> tuple[str, int]:
    env = dict(os.environ, **{KEEP_FRAME_BUFFERS_ENV: keep})
    result = subprocess.run([sys.executable, '-c', FRAME_ALLOCATIONS], env=env, check=True,
                            capture_output=True, text=True, timeout=60)
    said, faults = result.stdout.split()
    return said, int(faults)


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='glibc mallopt: Linux only')
def test_kept_frame_buffers_are_reused_without_page_faults():
    said_default, faults_default = _page_faults('0')
    said_kept, faults_kept = _page_faults('1')

    assert (said_default, said_kept) == ('False', 'True')
    # glibc's defaults hand the freed buffers back to the kernel: each new frame faults its
    # 4 x 225 pages in again. Kept, they are reused.
    assert faults_default > 100 * 225
    assert faults_kept < faults_default / 20
