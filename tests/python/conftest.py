"""Shared fixtures of the Python tests: the package, the CLI binary and the example models.

Run from ctest (python/CMakeLists.txt sets PYTHONPATH, XPUSIM_CLI and XPUSIM_TEST_MODELS), or
by hand: PYTHONPATH=build/python /usr/bin/python3 -m pytest -q tests/python
"""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

try:
    import xpusim  # noqa: F401
except ImportError:  # not on PYTHONPATH: the default build folder
    sys.path.insert(0, os.path.join(ROOT, "build", "python"))
    import xpusim  # noqa: F401

# The target most API tests run on: the reference is the fastest and has a numeric parameter
# (host.threads) to override; test_run.py covers every preset, and the sweep tests also sweep
# tpu_v1's mxu.rows and clock_mhz.
TARGET = "reference"


@pytest.fixture(scope="session")
def models(tmp_path_factory):
    """A folder holding small_cnn.onnx and small_transformer.onnx."""
    given = os.environ.get("XPUSIM_TEST_MODELS")
    if given and all(os.path.isfile(os.path.join(given, m + ".onnx"))
                     for m in ("small_cnn", "small_transformer")):
        return os.path.abspath(given)  # notebooks and workers run in other folders
    out = str(tmp_path_factory.mktemp("models"))
    subprocess.run([sys.executable, os.path.join(ROOT, "examples", "models", "generate.py"), out],
                   check=True, capture_output=True)
    return out


@pytest.fixture(scope="session")
def small_cnn(models):
    return os.path.join(models, "small_cnn.onnx")


@pytest.fixture(scope="session")
def small_transformer(models):
    return os.path.join(models, "small_transformer.onnx")


@pytest.fixture(scope="session")
def cli():
    """The `xpusim` command-line binary of the same build."""
    path = os.environ.get("XPUSIM_CLI")
    if not path:
        from xpusim import _build_info
        path = _build_info.CLI
    assert os.path.isfile(path), "no xpusim binary at " + path
    return path


@pytest.fixture(scope="session")
def python_env():
    """The environment for child Python processes: this package on PYTHONPATH."""
    env = dict(os.environ)
    parent = os.path.dirname(os.path.dirname(os.path.abspath(xpusim.__file__)))
    env["PYTHONPATH"] = parent + (":" + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["MPLBACKEND"] = "Agg"
    return env


def pytest_configure(config):
    # Debian's tornado warns inside distributed's LocalCluster; not ours to fix.
    config.addinivalue_line("filterwarnings",
                            "ignore:make_current is deprecated:DeprecationWarning")
