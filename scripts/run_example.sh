#!/usr/bin/env bash
# The main job: builds xpusim if needed, generates the bundled example models, and runs each one
# on every preset built so far, printing one comparison table per model.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/build.sh"
models="$root/build/models"
/usr/bin/python3 "$root/examples/models/generate.py" "$models"
xpusim="$root/build/xpusim"
configs=()
presets=0
while read -r preset target _; do
  configs+=(-c "$preset")
  presets=$((presets + 1))
done < <("$xpusim" config list | tail -n +2)
echo "== small_cnn (batch 1, 3x32x32) on $presets presets"
"$xpusim" compare "$models/small_cnn.onnx" --shape image=1x3x32x32 "${configs[@]}"
echo
echo "== small_transformer (1 x 32 tokens) on $presets presets"
"$xpusim" compare "$models/small_transformer.onnx" --shape input_ids=1x32 "${configs[@]}"
