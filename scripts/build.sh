#!/usr/bin/env bash
# Configures (once) and builds xpusim into build/ with Debian's python3. Idempotent.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/install_deps.sh"
if [ ! -f "$root/build/build.ninja" ]; then
  cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
        -DPython_EXECUTABLE=/usr/bin/python3 >/dev/null
fi
cmake --build "$root/build" -j "${XPUSIM_JOBS:-2}"
