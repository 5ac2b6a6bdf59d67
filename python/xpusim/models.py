"""The bundled example models (examples/models/generate.py), built on first use."""
import os
import subprocess
import sys

EXAMPLES = ("small_cnn", "small_transformer", "resnet50")


def _build_info():
    try:
        from xpusim import _build_info
        return _build_info
    except ImportError:  # an installed wheel: no build tree
        return None


def source_dir(start=None):
    """The xpusim source tree: the build's, else the first folder above `start` (or the
    current directory) holding examples/models/generate.py."""
    info = _build_info()
    if info and os.path.isfile(os.path.join(info.SOURCE_DIR, "examples", "models", "generate.py")):
        return info.SOURCE_DIR
    here = os.path.abspath(start or os.getcwd())
    while True:
        if os.path.isfile(os.path.join(here, "examples", "models", "generate.py")):
            return here
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def models_dir(start=None):
    """$XPUSIM_MODELS_DIR, else <build>/models of this build, else <source>/build/models."""
    if os.environ.get("XPUSIM_MODELS_DIR"):
        return os.path.abspath(os.environ["XPUSIM_MODELS_DIR"])
    info = _build_info()
    if info:
        return os.path.join(info.BINARY_DIR, "models")
    src = source_dir(start)
    return os.path.join(src, "build", "models") if src else None


def example_model(name="small_cnn", outdir=None, start=None):
    """The path of a bundled example model (small_cnn, small_transformer, resnet50), written by
    examples/models/generate.py into `outdir` (default: models_dir()) if it is not there yet."""
    from xpusim._native import IoError
    if name not in EXAMPLES:
        raise IoError("unknown example model '{}' (known: {})".format(name, ", ".join(EXAMPLES)))
    outdir = outdir or models_dir(start)
    if not outdir:
        raise IoError("no folder for example models: set XPUSIM_MODELS_DIR")
    path = os.path.join(outdir, name + ".onnx")
    if os.path.isfile(path):
        return path
    src = source_dir(start)
    if not src:
        raise IoError("cannot build example model '{}': examples/models/generate.py not found "
                      "(run from the xpusim source tree)".format(name))
    cmd = [sys.executable, os.path.join(src, "examples", "models", "generate.py"), outdir]
    if name == "resnet50":
        cmd.append("--resnet50")
    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0 or not os.path.isfile(path):
        raise IoError("examples/models/generate.py failed: " + done.stderr.strip()[-500:])
    return path
