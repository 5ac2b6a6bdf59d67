#!/usr/bin/env bash
# The sanitizer job: the library, the command line and the unit tests built with
# AddressSanitizer into build-asan/, then every Catch2 unit test, the ONNX backend test data
# through the reference executor (conformance_count) and the command line's bad- and
# hostile-input cases run there. Any report fails the test that made it. Ends with ctest's
# summary. CI (.ci/run) runs it before the release suite, scripts/run_tests.sh.
#
# What it leaves out, and why:
#   - stack instrumentation (--param=asan-stack=0, see CMakeLists.txt): SystemC's QuickThreads
#     switch stacks behind ASan's back, so every exception thrown after a simulation would be
#     reported as a stack-buffer-overflow. Heap and global accesses are checked in full.
#   - UndefinedBehaviorSanitizer: it triples the compile time of the Eigen-heavy files.
#   - leak checking (detect_leaks=0): LeakSanitizer scans the coroutine stacks' guard pages and
#     crashes. That a run frees its model is a unit test instead
#     (tests/unit/test_simulation_context.cpp).
#   - the Python, ONNX Runtime and whole-model tests: the interpreter is not instrumented, and
#     the models take minutes under ASan. The release suite runs them.
# The bad- and hostile-input cases see XPUSIM_SANITIZER=address: ASan's allocator then holds
# each child to the memory limit that RLIMIT_AS holds it to in the release suite
# (tests/cli/_harness.py, child_limits), and their time limits stretch by ASan's slowdown.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build-asan"
jobs="${XPUSIM_JOBS:-2}"
bash "$root/scripts/install_deps.sh"
if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DXPUSIM_SANITIZE=ON \
        -DXPUSIM_BUILD_PYTHON=OFF -DXPUSIM_BUILD_BENCH=OFF \
        -DPython_EXECUTABLE=/usr/bin/python3 >/dev/null
fi
cmake --build "$build" -j "$jobs" --target xpusim_tests xpusim_cli
cd "$build"
export ASAN_OPTIONS=detect_leaks=0:halt_on_error=1
export XPUSIM_SANITIZER=address
# Catch2's cases are named by their text; the command-line cases are SCRIPT.CASE.
ctest -j "$jobs" --output-on-failure --timeout 1800 \
      -E '^(contract|calibration|[a-z_]+_models|reference_vs_ort)\.'
