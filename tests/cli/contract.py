#!/usr/bin/env python3
"""The contract every preset keeps, on the bundled small CNN and small transformer. The cases are
the presets in configs/ (one per preset and model), so a new preset or target is covered without
editing this file; each case first checks that `xpusim config list` knows the preset.

    contract.py PRESET.MODEL | compare_presets      (see _harness.py)

For each preset and model:
  - stats.json carries the contract keys (docs/DESIGN.md), with roofline, memory.* and
    calibration (where int8 is used) on every hardware target;
  - trace.json is Chrome trace-event JSON with a named track for every busy unit;
  - a timing-only run has the same cycles, per-op timing and energy as the full run;
  - two runs give bit-identical outputs and identical stats (but wall time);
  - every output is within the preset's own numerics.max_rel_l2 of the reference;
  - `check` exits 0 there, 1 with --max-rel-err 0 where the numbers deviate at all, and 2 with
    one line on stderr for a bad --max-rel-err;
  - xpusim.run gives the same outputs and stats as the CLI.
"""
import glob
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np

import _harness

MODELS = {"small_cnn": ["--shape", "image=1x3x32x32"], "small_transformer": ["--shape", "input_ids=1x32"]}
SEED = "5"
TOP_KEYS = ["target", "config", "clock_hz", "cycles", "latency_s", "energy_j", "ops", "units", "numerics",
            "feasible", "problems", "roofline", "memory", "stats"]
OP_KEYS = ["name", "op_type", "placement", "unit", "start_cycle", "end_cycle", "macs", "bytes"]
MEMORY_KEYS = ["bytes_read", "bytes_written", "row_hits", "row_misses", "busy_ns", "utilization"]


def presets():
    """Target presets: the YAML files under configs/ with a top-level `target:` key (not the
    sweep files, not the memory interfaces of configs/memory that targets build on), by stem."""
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "configs")
    files = glob.glob(os.path.join(root, "**", "*.yaml"), recursive=True)

    def is_target(path):
        with open(path) as f:
            return any(line.startswith("target:") for line in f)
    return sorted(os.path.splitext(os.path.basename(f))[0] for f in files
                  if os.sep + "sweeps" + os.sep not in f and is_target(f))


class Checks:
    def __init__(self, what):
        self.what, self.failed = what, 0

    def __call__(self, cond, message):
        print(("ok   " if cond else "FAIL ") + message)
        self.failed += not cond
        return bool(cond)


def cli(*args, check=True):
    p = subprocess.run([_harness.xpusim(), *args], capture_output=True, text=True)
    if check and p.returncode != 0:
        raise SystemExit(f"FAIL: xpusim {' '.join(args)} exited {p.returncode}: {p.stderr.strip()}")
    return p


def run(model_path, preset, extra, outdir, *more):
    cli("run", model_path, "-c", preset, "--seed", SEED, *extra, "-o", outdir, *more)
    with open(os.path.join(outdir, "stats.json")) as f:
        stats = json.load(f)
    outputs = {}
    for name in sorted(os.listdir(os.path.join(outdir, "outputs"))):
        outputs[name] = np.load(os.path.join(outdir, "outputs", name))
    return stats, outputs


def without_wall(stats):
    """stats.json but the host's wall time (the reference target times its ops by it)."""
    s = dict(stats)
    s.pop("wall_s", None)
    s["ops"] = [{k: v for k, v in op.items() if k != "wall_s"} for op in s["ops"]]
    return s


def check_stats(c, stats, reference):
    missing = [k for k in TOP_KEYS if k not in stats]
    c(not missing, "stats.json has every contract key" + (f"; missing {missing}" if missing else ""))
    c(stats["feasible"] is True and stats["problems"] == [], "feasible, no problems")
    c(all(all(k in op for k in OP_KEYS) for op in stats["ops"]), "every ops row has " + ", ".join(OP_KEYS))
    if reference:
        c(stats["cycles"] is None and stats["roofline"] is None, "the reference models no timing")
        return
    c(isinstance(stats["cycles"], int) and stats["cycles"] > 0, f"{stats['cycles']} cycles")
    c(math.isclose(stats["latency_s"], stats["cycles"] / stats["clock_hz"]), "latency_s = cycles / clock_hz")
    roof = stats["roofline"] or {}
    c(roof.get("peak_macs_per_s", 0) > 0 and roof.get("peak_bytes_per_s", 0) > 0,
      f"roofline {roof}")
    c(stats["energy_j"] > 0, f"energy {stats['energy_j']:.3g} J")
    c(len(stats["memory"]) > 0 and all(all(k in m for k in MEMORY_KEYS) for m in stats["memory"].values()),
      "memory." + ", memory.".join(stats["memory"]) + " report their own counters")
    int8 = any(k.endswith("precision") and v == "int8" for k, v in stats["config_values"].items())
    if int8:
        cal = stats.get("calibration") or {}
        c(cal.get("source") == "drawn" and cal.get("samples") == int(stats["config_values"]["quant.samples"]),
          f"int8: calibration {cal} (drawn, quant.samples samples)")


def check_trace(c, trace_path, stats):
    with open(trace_path) as f:
        trace = json.load(f)
    events = trace.get("traceEvents")
    c(isinstance(events, list) and events, "trace.json holds traceEvents")
    tracks = {e["args"]["name"] for e in events if e.get("ph") == "M" and e.get("name") == "thread_name"}
    complete = [e for e in events if e.get("ph") == "X"]
    c(all(all(k in e for k in ("pid", "tid", "ts", "dur", "name")) for e in complete) and complete,
      f"{len(complete)} complete events, each with pid, tid, ts, dur, name")
    busy = [u["name"] for u in stats["units"] if u["busy_cycles"] > 0]
    missing = [u for u in busy if u not in tracks]
    c(not missing and tracks, f"a track per busy unit ({len(busy)} units, {len(tracks)} tracks)"
      + (f"; no track for {missing}" if missing else ""))


def check_case(preset, model):
    c = Checks(f"{preset}.{model}")
    listed = cli("config", "list").stdout.split()
    if not c(preset in listed, f"`xpusim config list` lists {preset}"):
        return False
    path = os.path.join(_harness.models(), model + ".onnx")
    extra = MODELS[model]
    with tempfile.TemporaryDirectory() as d:
        stats, outputs = run(path, preset, extra, os.path.join(d, "a"))
        reference = stats["numerics"] is None and stats["target"] == "reference"
        check_stats(c, stats, reference)
        check_trace(c, os.path.join(d, "a", "trace.json"), stats)

        again, outputs_again = run(path, preset, extra, os.path.join(d, "b"))
        c(without_wall(again) == without_wall(stats), "a second run gives the same stats")
        c(outputs.keys() == outputs_again.keys() and all(outputs[k].tobytes() == outputs_again[k].tobytes()
                                                         for k in outputs), "... and bit-identical outputs")

        if not reference:
            timed, _ = run(path, preset, extra, os.path.join(d, "t"), "--timing-only")
            rows = lambda s: [(o["name"], o["start_cycle"], o["end_cycle"]) for o in s["ops"]]
            c(timed["cycles"] == stats["cycles"] and rows(timed) == rows(stats) and timed["energy_j"] == stats["energy_j"],
              f"timing-only: same cycles ({timed['cycles']}), per-op timing and energy")
            tolerance = float(stats["config_values"]["numerics.max_rel_l2"])
            worst = max(m["rel_l2"] for m in stats["numerics"].values())
            c(worst <= tolerance, f"numerics: worst rel_l2 {worst:.4g} <= the preset's {tolerance}")
            # Per-op deviation: the rows of ops whose output the target held carry numerics, and
            # the op writing a graph output agrees with that output's own comparison.
            per_op = {o["name"]: o["numerics"] for o in stats["ops"] if "numerics" in o}
            by_value = {m["value"]: m for m in per_op.values()}
            c(len(per_op) >= 3, f"ops[i].numerics on {len(per_op)} ops")
            c(all(name in by_value and abs(by_value[name]["rel_l2"] - m["rel_l2"]) <= 1e-9
                  for name, m in stats["numerics"].items()),
              "the op writing each output has that output's rel_l2")
            c(not any("numerics" in o for o in timed["ops"]), "timing-only: no per-op numerics")

        base = ["check", path, "-c", preset, "--seed", SEED, *extra]
        ok = cli(*base, check=False)
        c(ok.returncode == 0, f"check exits 0 within the preset's tolerance ({ok.returncode})")
        c("rel_l2" in ok.stdout.splitlines()[0], "check's table has a per-op rel_l2 column")
        if not reference and worst > 0:
            strict = cli(*base, "--max-rel-err", "0", check=False)
            c(strict.returncode == 1, f"check --max-rel-err 0 exits 1 ({strict.returncode})")
        bad = cli(*base, "--max-rel-err", "nan", check=False)
        c(bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1,
          f"check --max-rel-err nan exits 2 with one line ({bad.returncode}: {bad.stderr.strip()})")

        import xpusim
        r = xpusim.run(path, preset, seed=int(SEED), shapes=dict([extra[1].split("=")]))
        c(without_wall(r.stats) == without_wall(stats), "xpusim.run gives the CLI's stats")
        from xpusim._native import native
        py_outputs = {native.safe_file_name(k) + ".npy": v for k, v in r.outputs.items()}
        c(py_outputs.keys() == outputs.keys() and all(py_outputs[k].tobytes() == outputs[k].tobytes() for k in outputs),
          "... and its outputs bit for bit")
    return c.failed == 0


def compare_presets():
    """`compare` runs the small CNN on every preset in one table."""
    path = os.path.join(_harness.models(), "small_cnn.onnx")
    args = ["compare", path, *MODELS["small_cnn"], "--timing-only"]
    for p in presets():
        args += ["-c", p]
    out = cli(*args).stdout
    print(out)
    return all(p in out for p in presets())


if __name__ == "__main__":
    cases = {f"{p}.{m}": (lambda p=p, m=m: check_case(p, m)) for p in presets() for m in MODELS}
    cases["compare_presets"] = compare_presets
    sys.exit(_harness.main(cases))
