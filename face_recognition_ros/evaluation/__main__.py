"""``python -m face_recognition_ros.evaluation``: the ``evaluate`` command on its own."""

import sys

from face_recognition_ros.evaluation import main

sys.exit(main())
