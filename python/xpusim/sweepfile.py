"""Sweep files (configs/sweeps/*.yaml): a model, a base config, the points, and what to
optimize. Strict like the configs: an unknown key or a wrong value is a ConfigError naming the
file and the key.

    model: examples/my.onnx        # relative to the sweep file, the current folder or the repo
    # or: generate: small_cnn      # examples/models/generate.py output in <build>/models
    base: reference                # preset name or YAML path (relative like model)
    overrides: {host.threads: 1}   # applied to every point first
    shapes: {image: 1x3x32x32}     # input shapes (--shape)
    seed: 0
    timing_only: true
    grid:                          # the cartesian product ...
      host.threads: [1, 2]
      shape:image: [1x3x32x32, 4x3x32x32]
    # random:                      # ... or n points drawn from ranges ...
    #   n: 16
    #   seed: 1
    #   params:
    #     clock_mhz: {min: 500, max: 1000}              # uniform
    #     mxu.rows: {choices: [64, 128, 256]}
    #     sram_kib: {min: 256, max: 16384, log: true, int: true}
    # points: [{host.threads: 1}, ...]   # ... or the points themselves
    objectives: {latency_s: min, energy_j: min}
"""
import math
import os

_KEYS = ("model", "generate", "base", "preset", "overrides", "shapes", "seed", "timing_only",
         "grid", "random", "points", "objectives", "description")
_RANDOM_KEYS = ("n", "seed", "params")
_RANGE_KEYS = ("min", "max", "log", "int", "choices")


class SweepSpec:
    """A parsed sweep file: everything sweep() needs, with paths resolved."""

    def __init__(self, path, model, base, points, overrides, shapes, seed, timing_only,
                 objectives, description):
        self.path, self.model, self.base, self.points = path, model, base, points
        self.overrides, self.shapes, self.seed = overrides, shapes, seed
        self.timing_only, self.objectives, self.description = timing_only, objectives, description


def _error(path, message):
    from xpusim._native import ConfigError
    return ConfigError("{}: {}".format(path, message))


def _resolve(path, value, what, must_exist=True):
    """A path as given (absolute), else relative to the sweep file, the current folder or the
    source tree, first that exists."""
    from xpusim.models import source_dir
    value = os.path.expanduser(str(value))
    if os.path.isabs(value):
        candidates = [value]
    else:
        here = os.path.dirname(os.path.abspath(path))
        src = source_dir(here)
        candidates = [os.path.join(here, value), os.path.abspath(value)]
        if src:
            candidates.append(os.path.join(src, value))
    for c in candidates:
        if os.path.exists(c):
            return os.path.abspath(c)
    if must_exist:
        raise _error(path, "{} '{}' not found (looked in {})".format(what, value, ", ".join(
            os.path.dirname(c) or "." for c in candidates)))
    return None


def _random_points(path, spec):
    import numpy as np
    if not isinstance(spec, dict):
        raise _error(path, "random: expected a mapping with n, seed and params")
    for k in spec:
        if k not in _RANDOM_KEYS:
            raise _error(path, "random.{}: unknown key (valid: {})".format(k, ", ".join(_RANDOM_KEYS)))
    n, params = spec.get("n"), spec.get("params")
    if not isinstance(n, int) or n < 1:
        raise _error(path, "random.n: expected a positive integer, got {!r}".format(n))
    if not isinstance(params, dict) or not params:
        raise _error(path, "random.params: expected a mapping of parameter ranges")
    rng = np.random.default_rng(int(spec.get("seed", 0)))
    columns = {}
    for name, r in params.items():
        where = "random.params.{}".format(name)
        if isinstance(r, list):
            r = {"choices": r}
        if not isinstance(r, dict):
            raise _error(path, where + ": expected {min, max} or {choices}")
        for k in r:
            if k not in _RANGE_KEYS:
                raise _error(path, "{}.{}: unknown key (valid: {})".format(where, k, ", ".join(_RANGE_KEYS)))
        if "choices" in r:
            choices = list(r["choices"])
            if not choices:
                raise _error(path, where + ".choices: empty")
            columns[name] = [choices[i] for i in rng.integers(0, len(choices), n)]
            continue
        lo, hi = r.get("min"), r.get("max")
        if not isinstance(lo, (int, float)) or not isinstance(hi, (int, float)) or lo > hi:
            raise _error(path, where + ": needs numbers min <= max, got {!r}..{!r}".format(lo, hi))
        if r.get("log"):
            if lo <= 0:
                raise _error(path, where + ": log ranges need min > 0")
            draws = np.exp(rng.uniform(math.log(lo), math.log(hi), n))
        else:
            draws = rng.uniform(lo, hi, n)
        if r.get("int") or (isinstance(lo, int) and isinstance(hi, int) and "int" not in r):
            columns[name] = [int(min(hi, max(lo, round(v)))) for v in draws]
        else:
            columns[name] = [float(v) for v in draws]
    return [{k: columns[k][i] for k in params} for i in range(n)]


def load_sweep_file(path):
    """Parses and checks a sweep file; returns a SweepSpec. Builds a `generate:` model if needed."""
    import yaml
    from xpusim.models import EXAMPLES, example_model
    from xpusim.sweep import sweep_points
    path = os.path.abspath(os.fspath(path))
    try:
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
    except OSError as e:
        from xpusim._native import IoError
        raise IoError("cannot read sweep file '{}': {}".format(path, e.strerror)) from None
    except yaml.YAMLError as e:
        raise _error(path, "not valid YAML: {}".format(str(e).replace("\n", " "))) from None
    if not isinstance(doc, dict):
        raise _error(path, "expected a mapping at the top level")
    for k in doc:
        if k not in _KEYS:
            raise _error(path, "unknown key '{}' (valid: {})".format(k, ", ".join(_KEYS)))
    if ("model" in doc) == ("generate" in doc):
        raise _error(path, "give exactly one of model: PATH or generate: NAME")
    if "generate" in doc:
        if doc["generate"] not in EXAMPLES:
            raise _error(path, "generate: unknown example '{}' (known: {})".format(
                doc["generate"], ", ".join(EXAMPLES)))
        model = example_model(doc["generate"], start=os.path.dirname(path))
    else:
        model = _resolve(path, doc["model"], "model")
    base = doc.get("base", doc.get("preset"))
    if not isinstance(base, str) or not base:
        raise _error(path, "base: expected a preset name or a YAML path")
    if base.endswith((".yaml", ".yml")) or "/" in base:
        base = _resolve(path, base, "base config")
    given = [k for k in ("grid", "random", "points") if k in doc]
    if len(given) != 1:
        raise _error(path, "give exactly one of grid, random or points")
    if "grid" in doc:
        if not isinstance(doc["grid"], dict) or not doc["grid"]:
            raise _error(path, "grid: expected a mapping of parameter -> list of values")
        try:
            points = sweep_points(doc["grid"])
        except ValueError as e:
            raise _error(path, "grid: {}".format(e)) from None
    elif "random" in doc:
        points = _random_points(path, doc["random"])
    else:
        if not isinstance(doc["points"], list) or not all(isinstance(p, dict) for p in doc["points"]):
            raise _error(path, "points: expected a list of mappings")
        points = [dict(p) for p in doc["points"]]
    for key in ("overrides", "shapes"):
        if not isinstance(doc.get(key) or {}, dict):
            raise _error(path, "{}: expected a mapping".format(key))
    objectives = doc.get("objectives") or {"latency_s": "min", "energy_j": "min"}
    if isinstance(objectives, list):
        objectives = {o: "min" for o in objectives}
    if not isinstance(objectives, dict):
        raise _error(path, "objectives: expected a mapping of column -> min|max")
    for col, d in objectives.items():
        if d not in ("min", "max"):
            raise _error(path, "objectives.{}: expected min or max, got {!r}".format(col, d))
    seed = doc.get("seed", 0)
    if not isinstance(seed, int) or seed < 0:
        raise _error(path, "seed: expected a non-negative integer")
    return SweepSpec(path, model, base, points, doc.get("overrides") or {}, doc.get("shapes") or {},
                     seed, bool(doc.get("timing_only", True)), objectives, doc.get("description"))


def run_sweep_file(path, executor=None, out=None, progress=True, workers=None):
    """Runs a sweep file; returns (SweepSpec, DataFrame of all points)."""
    from xpusim.sweep import sweep
    spec = load_sweep_file(path)
    df = sweep(spec.model, spec.base, spec.points, executor=executor,
               timing_only=spec.timing_only, out=out, seed=spec.seed, shapes=spec.shapes,
               progress=progress, overrides=spec.overrides, workers=workers)
    return spec, df
