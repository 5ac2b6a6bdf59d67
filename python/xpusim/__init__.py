"""xpusim from Python: run ONNX models on simulated AI processors, sweep their parameters.

    import xpusim
    r = xpusim.run("model.onnx", "reference")          # outputs, stats, trace, plots
    xpusim.check("model.onnx", "reference")["deployable"]
    df = xpusim.sweep("model.onnx", "reference", {"host.threads": [1, 2]})
    xpusim.pareto_front(df, ["latency_s", "energy_j"])

Errors are XpusimError subclasses (ConfigError, ModelError, UnsupportedError, CapacityError,
IoError) carrying the command line's messages.
"""
import os as _os

# An installed wheel carries the presets beside the package; the build tree's module finds
# them in the source tree without help.
_bundled = _os.path.join(_os.path.dirname(__file__), "configs")
if _os.path.isdir(_bundled):
    _path = _os.environ.get("XPUSIM_CONFIG_PATH", "")
    if _bundled not in _path.split(":"):
        _os.environ["XPUSIM_CONFIG_PATH"] = (_path + ":" if _path else "") + _bundled

from xpusim._native import (CapacityError, ConfigError, IoError, ModelError,  # noqa: E402
                            UnsupportedError, XpusimError)
from xpusim.api import Config, Result, check, compare, config, describe, presets, run  # noqa: E402
from xpusim.models import example_model  # noqa: E402
from xpusim.pareto import pareto_front  # noqa: E402
from xpusim.sweep import load_results, sweep, sweep_points  # noqa: E402
from xpusim.sweepfile import load_sweep_file, run_sweep_file  # noqa: E402
from xpusim.plots import (plot_pareto, plot_roofline, plot_sweep_utilization,  # noqa: E402
                          plot_timeline, plot_utilization)

__version__ = "0.1.0"

__all__ = [
    "run", "check", "compare", "config", "presets", "describe", "Config", "Result",
    "sweep", "sweep_points", "load_results", "pareto_front", "load_sweep_file", "run_sweep_file",
    "example_model", "plot_timeline", "plot_roofline", "plot_utilization", "plot_pareto",
    "plot_sweep_utilization", "XpusimError", "ConfigError", "ModelError", "UnsupportedError",
    "CapacityError", "IoError",
]
