"""``python -m face_recognition_ros <command>``: see ``face_recognition_ros.cli``."""

import sys

from face_recognition_ros.cli import main

if __name__ == '__main__':
    sys.exit(main())
