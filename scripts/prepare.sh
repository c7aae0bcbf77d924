# Sourced (not run) by demo.sh, test.sh and benchmarks/run_all.sh: from a fresh machine,
# creates or reuses the Python environment (scripts/setup_env.sh), activates it, builds the
# ROS package (scripts/build_ros.sh) and puts it on the path (scripts/ros_env.sh), with
# discovery kept on this machine unless the caller chose otherwise. Leaves the shell in the
# repository root.
# shellcheck shell=bash
cd "$(dirname "${BASH_SOURCE[0]}")/.."
_fr_venv=$(scripts/setup_env.sh | tail -n 1)
# shellcheck disable=SC1091
. "$_fr_venv/bin/activate"
scripts/build_ros.sh
set +u  # ROS setup scripts read unset variables.
# shellcheck disable=SC1091
. scripts/ros_env.sh
set -u
export ROS_AUTOMATIC_DISCOVERY_RANGE=${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST}
