#!/usr/bin/env python3
"""The int8 calibration policy (frontends/lower/calibration.h) through the command line and
Python: samples come from --calibration DIR (files, or one sub-folder per sample), from Python's
calibration=[...], or are drawn from seed + 1000; never the inputs a run is judged on.

    calibration.py CASE      (see _harness.py)
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

import _harness

MODEL = "small_cnn.onnx"
SHAPE = ["--shape", "image=1x3x32x32"]


def cli(*args):
    return subprocess.run([_harness.xpusim(), *args], capture_output=True, text=True)


def run(d, name, *extra):
    out = os.path.join(d, name)
    p = cli("run", os.path.join(_harness.models(), MODEL), "-c", "nvdla_full", *SHAPE, "-o", out, *extra)
    if p.returncode != 0:
        raise SystemExit(f"FAIL: run {' '.join(extra)} exited {p.returncode}: {p.stderr.strip()}")
    with open(os.path.join(out, "stats.json")) as f:
        return json.load(f)


def sample(seed):
    return np.random.default_rng(seed).standard_normal((1, 3, 32, 32)).astype(np.float32)


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    return bool(cond)


def drawn():
    """By default the scales come from quant.samples draws, not from the evaluation input:
    calibrating on the evaluation input itself (what the old policy did) gives other numbers."""
    with tempfile.TemporaryDirectory() as d:
        default = run(d, "default", "--seed", "3")
        ok = check(default["calibration"] == {"source": "drawn", "samples": 4, "seed": 1003},
                   f"default calibration {default['calibration']}")
        on_eval = run(d, "on_eval", "--seed", "3", "--calibration", os.path.join(d, "default", "inputs"))
        ok &= check(on_eval["calibration"]["source"] == "files" and on_eval["calibration"]["samples"] == 1,
                    f"--calibration of the evaluation input: {on_eval['calibration']}")
        a, b = default["numerics"]["softmax_1"], on_eval["numerics"]["softmax_1"]
        print(f"rel_l2 calibrated apart {a['rel_l2']:.4g}, on the evaluation input {b['rel_l2']:.4g}")
        ok &= check(a != b, "the two calibrations give different numbers")
        ok &= check(default["cycles"] == on_eval["cycles"], "and the same timing")
        return ok


def folders():
    """A folder of .npy files is one sample; a folder of sub-folders one sample each."""
    with tempfile.TemporaryDirectory() as d:
        one = os.path.join(d, "one")
        os.makedirs(one)
        np.save(os.path.join(one, "image.npy"), sample(1))
        many = os.path.join(d, "many")
        for i in range(3):
            os.makedirs(os.path.join(many, f"s{i}"))
            np.save(os.path.join(many, f"s{i}", "image.npy"), sample(10 + i))
        s1 = run(d, "r1", "--calibration", one)
        s3 = run(d, "r3", "--calibration", many)
        ok = check(s1["calibration"]["samples"] == 1 and s1["calibration"]["folder"] == one,
                   f"files: {s1['calibration']}")
        ok &= check(s3["calibration"]["samples"] == 3, f"sub-folders: {s3['calibration']}")
        import xpusim
        r = xpusim.run(os.path.join(_harness.models(), MODEL), "nvdla_full", shapes={"image": "1x3x32x32"},
                       calibration=[{"image": sample(10 + i)} for i in range(3)])
        ok &= check(r.stats["calibration"] == {"source": "given", "samples": 3}, f"Python: {r.stats['calibration']}")
        ok &= check(r.stats["numerics"] == s3["numerics"], "Python's list gives the folder's numbers")
        return ok


def bad():
    """A sample that does not match the graph's inputs is bad input: exit 2, one line."""
    with tempfile.TemporaryDirectory() as d:
        wrong = os.path.join(d, "wrong")
        os.makedirs(wrong)
        np.save(os.path.join(wrong, "pixels.npy"), sample(1))
        p = cli("run", os.path.join(_harness.models(), MODEL), "-c", "nvdla_full", *SHAPE, "-o", d,
                "--calibration", wrong)
        ok = check(p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1 and "calibration" in p.stderr,
                   f"an input the model lacks: exit {p.returncode}: {p.stderr.strip()}")
        p = cli("run", os.path.join(_harness.models(), MODEL), "-c", "nvdla_full", *SHAPE, "-o", d,
                "--calibration", os.path.join(d, "missing"))
        ok &= check(p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1,
                    f"no such folder: exit {p.returncode}: {p.stderr.strip()}")
        return ok


if __name__ == "__main__":
    sys.exit(_harness.main({"drawn": drawn, "folders": folders, "bad": bad}))
