"""The one convention of the command-line tests in tests/cli/, which tests/CMakeLists.txt finds by
glob: every `*.py` here (but this one) is a test script with named cases.

    SCRIPT.py --list     prints the case names, one per line (run when CMake configures)
    SCRIPT.py CASE       runs one case: exit 0 passed, 1 failed, 77 skipped

ctest runs each case as the test SCRIPT.CASE, with the build's paths in the environment:
XPUSIM (the command line), XPUSIM_MODELS (the models examples/models/generate.py wrote),
XPUSIM_ORT (ONNX Runtime from npm), XPUSIM_TESTDATA (Debian's ONNX backend test data) and
XPUSIM_SOURCE (the source tree); PYTHONPATH holds the xpusim package.
"""
import json
import os
import resource
import subprocess
import sys

SKIP = 77

# The sanitizer job (scripts/run_sanitizers.sh) sets XPUSIM_SANITIZER=address. AddressSanitizer
# reserves terabytes of address space for its shadow memory, so a child cannot run under an
# address-space limit there: ASan's own allocator enforces the limit instead (see child_limits),
# and the time and resident-memory limits stretch by ASan's overhead (sanitized).
SANITIZED = os.environ.get("XPUSIM_SANITIZER") == "address"


def sanitized(limit, factor=3):
    """A time or resident-memory limit, stretched by `factor` under the sanitizer."""
    return limit * factor if SANITIZED else limit


def child_limits(memory_bytes):
    """(preexec_fn, env) that hold a child to `memory_bytes`: RLIMIT_AS normally; under the
    sanitizer, no allocation over the limit and none once the resident set passes it (ASan's
    allocator then returns null, so operator new throws as it would under RLIMIT_AS)."""
    if not SANITIZED:
        def apply():
            resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        return apply, None
    mib = memory_bytes >> 20
    options = [o for o in os.environ.get("ASAN_OPTIONS", "").split(":") if o]
    options += ["allocator_may_return_null=1", f"max_allocation_size_mb={mib}", f"soft_rss_limit_mb={mib}"]
    return None, dict(os.environ, ASAN_OPTIONS=":".join(options))


def path(name):
    """A path the environment gives (see above); a clear error when it is missing."""
    value = os.environ.get(name)
    if not value:
        raise SystemExit(f"{name} is not set: run this test through ctest")
    return value


def xpusim():
    return path("XPUSIM")


def models():
    return path("XPUSIM_MODELS")


def run_stats(xpusim_exe, model, config, out, *extra):
    """`xpusim run MODEL -c CONFIG -o OUT --seed 1 EXTRA...` (a non-zero exit raises); its stats.json."""
    subprocess.run([xpusim_exe, "run", model, "-c", config, "-o", out, "--seed", "1", *extra], check=True,
                   stdout=subprocess.DEVNULL)
    with open(os.path.join(out, "stats.json")) as f:
        return json.load(f)


def check(cond, what):
    """Prints "ok   WHAT" or "FAIL WHAT"; the verdict as a bool."""
    print(("ok   " if cond else "FAIL ") + what)
    return bool(cond)


def main(cases):
    """cases: {name: function()}; a function returns True/None to pass, False to fail, or SKIP."""
    if len(sys.argv) != 2:
        raise SystemExit(f"usage: {os.path.basename(sys.argv[0])} --list | CASE")
    if sys.argv[1] == "--list":
        print("\n".join(cases))
        return 0
    if sys.argv[1] not in cases:
        raise SystemExit(f"unknown case {sys.argv[1]!r} (cases: {', '.join(cases)})")
    result = cases[sys.argv[1]]()
    if result == SKIP:
        return SKIP
    return 1 if result is False else 0
