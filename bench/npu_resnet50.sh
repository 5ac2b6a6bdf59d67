#!/bin/bash
# Simulation speed of ResNet-50 (int8) on the NPU target: wall time and peak RSS of
# `xpusim run` on nvdla_full, with numerics (lower with calibration, int8 datapath, reference
# comparison) and with --timing-only, plus the simulate() share (stats.json wall_s) and the
# simulated frames/s. Reports numbers; asserts nothing.
#
#   bench/npu_resnet50.sh [BUILD_DIR] [CONFIG] [--set PATH=VALUE ...]
set -euo pipefail
BUILD=${1:-$(dirname "$0")/../build-npu}
CONFIG=${2:-nvdla_full}
shift $(( $# > 2 ? 2 : $# ))
XPUSIM="$BUILD/xpusim"
MODELS="$BUILD/models"
[ -x "$XPUSIM" ] || { echo "no xpusim in $BUILD (build target xpusim_cli first)" >&2; exit 2; }
[ -f "$MODELS/resnet50.onnx" ] || /usr/bin/python3 "$(dirname "$0")/../examples/models/generate.py" "$MODELS" --resnet50
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

measure() {  # label, extra args...
    local label=$1; shift
    /usr/bin/time -v "$XPUSIM" run "$MODELS/resnet50.onnx" -c "$CONFIG" -o "$OUT/$label" "$@" \
        > "$OUT/$label.log" 2> "$OUT/$label.time"
    local wall rss
    wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$OUT/$label.time")
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$OUT/$label.time")
    /usr/bin/python3 - "$OUT/$label/stats.json" "$label" "$wall" "$rss" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
fps = s["clock_hz"] / s["cycles"]
num = s.get("numerics") or {}
dev = ", ".join(f"{k}: cosine {v['cosine']:.5f}" for k, v in num.items()) or "-"
print(f"{sys.argv[2]:12} wall {sys.argv[3]:>8}  peak RSS {int(sys.argv[4]) / 1024:7.1f} MiB  "
      f"simulate() {s['wall_s']:.3f} s  {s['cycles']} cycles = {fps:.1f} frames/s  numerics {dev}")
PY
}

echo "ResNet-50 int8 on $CONFIG $*"
measure numerics "$@"
measure timing-only --timing-only "$@"
