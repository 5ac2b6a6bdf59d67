#!/usr/bin/env bash
# Installs ONNX Runtime (CPU, from the npm registry) into build/ort for the reference_vs_ort
# tests. Idempotent. Without it those tests report themselves skipped.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/build/ort"
[ -d "$dest/node_modules/onnxruntime-node" ] && exit 0
command -v npm >/dev/null || { echo "npm not found: ONNX Runtime tests will be skipped" >&2; exit 0; }
mkdir -p "$dest"
cp "$root/tests/ort/package.json" "$dest/"
(cd "$dest" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error) ||
  echo "npm install failed: ONNX Runtime tests will be skipped" >&2
