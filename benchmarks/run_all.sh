#!/usr/bin/env bash
# Runs every speed and memory benchmark once, in sequence, and keeps each JSON result in
# output/benchmarks/ (docs/benchmarks.md summarises one such run). About 3 minutes on 2 cores.
# Run it on a quiet machine: the numbers are wall-clock times.
set -euo pipefail
# shellcheck disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/prepare.sh"
out=${1:-output/benchmarks}
mkdir -p "$out"
for bench in model_backends gallery_match pipeline_fps image_hop web_view; do
  echo "== $bench" >&2
  python "benchmarks/$bench.py" | tee "$out/$bench.json"
done
echo "== ros_pipeline --rounds 3" >&2
python benchmarks/ros_pipeline.py --rounds 3 | tee "$out/ros_pipeline.json"
echo "== ros_pipeline --annotated" >&2
python benchmarks/ros_pipeline.py --annotated | tee "$out/ros_pipeline_annotated.json"
uname -a > "$out/machine.txt"; nproc >> "$out/machine.txt"; uptime >> "$out/machine.txt"
