#!/usr/bin/env bash
# Simulation speed of ResNet-50 (batch 1) on the TPU presets: wall time and peak memory with and
# without --timing-only, simulated cycles per wall-second, next to the fp32 reference executor.
# Usage: bash bench/tpu_resnet50.sh [build dir]   (builds the model with examples/models/generate.py)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
xpusim="$build/xpusim"
models="$build/models"
/usr/bin/python3 "$root/examples/models/generate.py" "$models" --resnet50 2>/dev/null
model="$models/resnet50.onnx"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

measure() {  # label, xpusim args...
  local label=$1
  shift
  local best=""
  for _ in 1 2 3; do  # best of three wall times
    /usr/bin/time -f "%e %M" -o "$out/time" "$xpusim" "$@" -o "$out/run" >/dev/null
    read -r wall rss <"$out/time"
    if [ -z "$best" ] || awk "BEGIN{exit !($wall < $best)}"; then best=$wall; best_rss=$rss; fi
  done
  local cycles
  cycles=$(/usr/bin/python3 -c "import json;print(json.load(open('$out/run/stats.json'))['cycles'] or 0)")
  local rate="-"
  [ "$cycles" != "0" ] && rate=$(awk "BEGIN{printf \"%.3g\", $cycles / $best}")
  printf "%-28s %8s s %8.0f MiB %12s cycles %14s cycles/s\n" "$label" "$best" "$((best_rss / 1024))" "$cycles" "$rate"
}

echo "ResNet-50 batch 1, $(nproc) cores, best of 3 (wall includes loading the 100 MB model)"
measure "reference (fp32)" run "$model" -c reference
for preset in tpu_v1 tpu_v4i; do
  measure "$preset timing-only" run "$model" -c "$preset" --timing-only
  measure "$preset with numerics" run "$model" -c "$preset"
done
