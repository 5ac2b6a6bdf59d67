#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, and runs every test with ctest
# (Catch2 unit tests, command-line contract tests, ONNX conformance, ONNX Runtime comparisons,
# Python and notebook tests). Ends with ctest's summary.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/build.sh"
bash "$root/scripts/install_ort.sh"
cd "$root/build"
ctest -j "${XPUSIM_JOBS:-2}" --output-on-failure --timeout 1800
