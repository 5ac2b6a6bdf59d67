"""The notebook API: run, check and compare a model on a target, and look at configs."""
import collections.abc
import functools
import json
import os

import numpy as np

from xpusim._convert import override_strings, shape_lists
from xpusim._native import native


class Text(str):
    """Text that a notebook shows as text (not as a quoted string with \\n)."""

    def __repr__(self):
        return str(self)

    def _repr_pretty_(self, p, cycle):
        p.text(str(self))


class Config:
    """A loaded, merged and validated configuration (`xpusim config show` in an object).

    spec: the preset name or YAML path it was loaded from; overrides: the "path=value" strings
    applied on top. Passing it to run/check/compare/sweep loads the same config there.
    """

    def __init__(self, spec, overrides=None):
        if isinstance(spec, Config):
            overrides = spec.overrides + override_strings(overrides)
            spec = spec.spec
        self.spec = _config_spec(spec)
        self.overrides = override_strings(overrides)
        self._native = native.load_config(self.spec, self.overrides)

    @property
    def target(self):
        return self._native.target

    @property
    def name(self):
        return self._native.name

    @property
    def source(self):
        return self._native.source

    @property
    def values(self):
        """Every parameter path -> its value (int, float, bool, str or list)."""
        return self._native.values()

    @property
    def text_values(self):
        """Every parameter path -> its value as `config show` writes it."""
        return self._native.flat()

    @property
    def params(self):
        """The target's parameters: path, type, unit, description, default, min, max, choices."""
        return self._native.params()

    def numeric_params(self):
        """Paths of the int and float parameters: what a sweep can vary."""
        return [p["path"] for p in self.params if p["type"] in ("int", "float")]

    def origin(self, path):
        """Where the value of `path` came from: "file:line", "--set ...", or "(default)"."""
        return self._native.origin(path)

    def show(self):
        """The fully resolved config as YAML, as `xpusim config show` prints it."""
        return Text(self._native.to_yaml())

    def describe(self):
        """The target's parameter table, as `xpusim config describe TARGET` prints it."""
        return Text(native.describe(self.target))

    def with_overrides(self, overrides):
        return Config(self, overrides)

    def __repr__(self):
        return "xpusim.Config({!r}, target={!r}, overrides={!r})".format(
            self.spec, self.target, self.overrides)


def _config_spec(spec):
    """A preset name stays a name; a path becomes absolute so worker processes elsewhere (and
    later chdirs) load the same file."""
    spec = os.fspath(spec)
    if os.path.exists(spec) or "/" in spec or spec.endswith((".yaml", ".yml")):
        return os.path.abspath(spec)
    return spec


def config_request(config, overrides=None):
    """(spec, overrides list) for the driver from a preset name, a path or a Config."""
    if isinstance(config, Config):
        return config.spec, config.overrides + override_strings(overrides)
    return _config_spec(config), override_strings(overrides)


def config(name_or_path, overrides=None):
    """Loads a preset or YAML file with overrides ({path: value} or ["path=value"])."""
    return Config(name_or_path, overrides)


def presets(details=False):
    """The preset names, sorted; with details=True a DataFrame of name, target, path, description."""
    rows = native.list_presets()
    if details:
        import pandas as pd
        return pd.DataFrame(rows, columns=["name", "target", "path", "description"])
    return [r["name"] for r in rows]


def describe(target):
    """Every parameter of a target (or of a preset's target) with unit, default and range."""
    if target in presets():
        target = Config(target).target
    return Text(native.describe(target))


_OP_COLUMNS = ["name", "op_type", "placement", "unit", "start_cycle", "end_cycle",
               "compute_cycles", "macs", "bytes"]


class Result:
    """One run: outputs, stats (stats.json), trace (trace.json), and plots of them."""

    def __init__(self, outcome):
        self._outcome = outcome

    @functools.cached_property
    def outputs(self):
        """Graph output name -> numpy array (a view of the simulator's buffer). float16 is
        np.float16; bfloat16 and fp8 outputs are their raw bit patterns (uint16, uint8)."""
        return self._outcome.outputs()

    @functools.cached_property
    def inputs(self):
        """Every input the run used, given or drawn from the seed."""
        return self._outcome.inputs()

    @functools.cached_property
    def stats(self):
        """The stats.json document as a dict."""
        return json.loads(self._outcome.stats_json())

    @functools.cached_property
    def trace(self):
        """The trace.json document (Chrome trace events) as a dict."""
        return json.loads(self._outcome.trace_json())

    @property
    def ops(self):
        """stats['ops'] as a DataFrame: one row per graph node."""
        import pandas as pd
        df = pd.DataFrame(self.stats["ops"])
        first = [c for c in _OP_COLUMNS if c in df.columns]
        return df[first + [c for c in df.columns if c not in first]]

    @property
    def units(self):
        """stats['units'] as a DataFrame: busy cycles and utilization per hardware unit."""
        import pandas as pd
        return pd.DataFrame(self.stats["units"], columns=["name", "busy_cycles", "utilization"])

    target = property(lambda self: self.stats["target"])
    cycles = property(lambda self: self.stats["cycles"])
    latency_s = property(lambda self: self.stats["latency_s"])
    energy_j = property(lambda self: self.stats["energy_j"])
    numerics = property(lambda self: self.stats["numerics"])

    def summary(self):
        """The summary `xpusim run` prints."""
        return Text(self._outcome.summary())

    def __repr__(self):
        return self._outcome.summary().rstrip()

    def write(self, outdir):
        """Writes outputs/, inputs/, stats.json and trace.json as `xpusim run -o OUTDIR`."""
        outdir = os.fspath(outdir)
        self._outcome.write(outdir)
        return outdir

    feasible = property(lambda self: self.stats["feasible"])
    problems = property(lambda self: self.stats["problems"])

    def check(self, max_rel_err=None):
        """The `xpusim check` verdict of this run (see xpusim.check); max_rel_err defaults to
        the preset's numerics.max_rel_l2."""
        deployable, text, report = self._outcome.check_report(max_rel_err)
        report = json.loads(report)
        report["text"] = Text(text)
        return report

    def plot_timeline(self, ax=None, **kwargs):
        from xpusim import plots
        return plots.plot_timeline(self.trace, ax=ax, **kwargs)

    def plot_roofline(self, ax=None, **kwargs):
        from xpusim import plots
        return plots.plot_roofline(self.stats, ax=ax, **kwargs)

    def plot_utilization(self, ax=None, **kwargs):
        from xpusim import plots
        return plots.plot_utilization(self.stats, ax=ax, **kwargs)


def _inputs_dict(inputs, what="inputs"):
    if inputs is None:
        return {}
    if not isinstance(inputs, collections.abc.Mapping):
        raise TypeError("{} must be a dict of name -> array, not {}".format(what, type(inputs).__name__))
    out = {}
    for name, value in inputs.items():
        a = np.asarray(value)
        if not a.dtype.isnative:
            a = a.astype(a.dtype.newbyteorder("="))
        out[str(name)] = np.ascontiguousarray(a)
    return out


def _calibration(calibration):
    """(folder, samples) for the driver from None, a folder path or a list of input dicts."""
    if calibration is None:
        return "", []
    if isinstance(calibration, (str, os.PathLike)):
        return os.fspath(calibration), []
    if isinstance(calibration, collections.abc.Mapping):
        raise TypeError("calibration must be a folder or a list of input dicts (one per sample), "
                        "not a single dict: wrap it in a list")
    samples = [_inputs_dict(s, "each calibration sample") for s in calibration]
    if not samples:
        raise ValueError("calibration is an empty list")
    return "", samples


def _run(model, config, inputs, overrides, seed, timing_only, shapes, input_files=None, calibration=None):
    if int(seed) < 0:
        raise ValueError("seed must be a non-negative integer, got {}".format(seed))
    spec, override_list = config_request(config, overrides)
    files = {str(k): os.fspath(v) for k, v in (input_files or {}).items()}
    folder, samples = _calibration(calibration)
    return native.run(os.fspath(model), spec, _inputs_dict(inputs), override_list,
                      shape_lists(shapes), files, int(seed), bool(timing_only), folder, samples)


def run(model, config, inputs=None, overrides=None, seed=0, timing_only=False, shapes=None,
        input_files=None, calibration=None):
    """Simulates `model` (an .onnx path) on `config` (a preset name, a YAML path or a Config).

    inputs: {name: array} (others are drawn from `seed`, as the CLI does); input_files:
    {name: .npy path} as the CLI's --input; overrides: {path: value} or ["path=value"] as
    --set; shapes: {name: "1x3x32x32" or a tuple} as --shape; calibration: the samples int8
    targets calibrate on, a list of {name: array} dicts or a folder as --calibration (default:
    drawn from seed + 1000, never the evaluation inputs). The same arguments give the same
    outputs and stats as `xpusim run` bit for bit. Raises XpusimError subclasses with the CLI's
    messages. An infeasible design returns a Result with feasible False and latency_s None.
    """
    return Result(_run(model, config, inputs, overrides, seed, timing_only, shapes, input_files, calibration))


def check(model, config, inputs=None, overrides=None, seed=0, shapes=None, max_rel_err=None,
          timing_only=False, calibration=None):
    """Can the model be deployed there? The `xpusim check --json` report as a dict: target,
    config, deployable, feasible, problems, ops (node, op_type, placement, unit, reason),
    numerics, failures, max_rel_err (default: the preset's numerics.max_rel_l2); plus text, the
    table the CLI prints."""
    return run(model, config, inputs, overrides, seed, timing_only, shapes,
               calibration=calibration).check(max_rel_err)


def compare(model, configs, inputs=None, overrides=None, seed=0, shapes=None, timing_only=False,
            calibration=None):
    """One row per config, as `xpusim compare`: config, target, cycles, latency_s, energy_j,
    host_ops, feasible, problem, worst_rel_l2, wall_s. The CLI's text table is in
    df.attrs["table"]."""
    import pandas as pd
    if isinstance(configs, (str, Config, os.PathLike)):
        configs = [configs]
    outcomes = [_run(model, c, inputs, overrides, seed, timing_only, shapes, calibration=calibration)
                for c in configs]
    text, rows = native.compare_table(outcomes)
    df = pd.DataFrame(json.loads(rows))
    df.attrs["table"] = Text(text)
    return df
