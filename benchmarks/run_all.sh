#!/usr/bin/env bash
# Runs every speed and memory benchmark once, in sequence, and keeps each JSON result in
# output/benchmarks/ (docs/benchmarks.md summarises one such run). About 3 minutes on 2 cores.
# Run it on a quiet machine: the numbers are wall-clock times.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
venv=$(scripts/setup_env.sh | tail -n 1)
# shellcheck disable=SC1091
. "$venv/bin/activate"
scripts/build_ros.sh
set +u  # ROS setup scripts read unset variables.
# shellcheck disable=SC1091
. scripts/ros_env.sh
set -u
export ROS_AUTOMATIC_DISCOVERY_RANGE=${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST}
out=${1:-output/benchmarks}
mkdir -p "$out"
for bench in model_backends gallery_match pipeline_fps ros_pipeline; do
  echo "== $bench" >&2
  python "benchmarks/$bench.py" | tee "$out/$bench.json"
done
echo "== ros_pipeline --annotated" >&2
python benchmarks/ros_pipeline.py --annotated | tee "$out/ros_pipeline_annotated.json"
uname -a > "$out/machine.txt"; nproc >> "$out/machine.txt"; uptime >> "$out/machine.txt"
