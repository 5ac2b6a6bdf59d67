#!/usr/bin/env python3
"""A Loop on the processor targets: with a trip count known at lowering time it is unrolled
into copies of its body (frontends/lower/loop_unroll.h) and runs on the chip; with one known
only at run time the target refuses it, saying so.

    control_flow_models.py CASE        (see _harness.py)

The model is the ONNX backend test test_loop11 (XPUSIM_TESTDATA): y, then for i in 0..M-1
y = y + x[i] with x = [1, 2, 3, 4, 5] sliced by the iteration number, scan output y each step.
With y0 = [-2], M = 5 (and cond true), as in its test_data_set_0, res_y = [-2 + 15] = [13] and
res_scan = [-1, 1, 4, 8, 13].
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

import _harness

LOOP11 = "node/test_loop11/model.onnx"


def constant_trip_count(src, dst):
    """test_loop11 with trip_count = 5 and cond = true as initializers."""
    m = onnx.load(src)
    g = m.graph
    for name, value in (("trip_count", np.array(5, np.int64)), ("cond", np.array(True))):
        g.initializer.append(numpy_helper.from_array(value, name))
        keep = [i for i in g.input if i.name != name]
        del g.input[:]
        g.input.extend(keep)
    onnx.save(m, dst)


def unrolled(config):
    xpusim, data = _harness.xpusim(), _harness.path("XPUSIM_TESTDATA")
    ok = True
    with tempfile.TemporaryDirectory() as d:
        model = os.path.join(d, "loop_const.onnx")
        constant_trip_count(os.path.join(data, LOOP11), model)
        y0 = os.path.join(d, "y.npy")
        np.save(y0, np.array([-2], np.float32))
        # Calibrated on the test's own y0 (a drawn y of scale ~1 would saturate -2 in int8).
        cal = os.path.join(d, "calibration")
        os.makedirs(cal)
        np.save(os.path.join(cal, "y.npy"), np.array([-2], np.float32))
        stats = _harness.run_stats(xpusim, model, config, os.path.join(d, "out"), "--input", "y=" + y0,
                                   "--calibration", cal)
        loop = [op for op in stats["ops"] if op["op_type"] == "Loop"]
        ok &= _harness.check(len(loop) == 1 and loop[0]["placement"] == "lowered",
                             f"the Loop is unrolled on the chip: {[(o['placement'], o['reason']) for o in loop]}")
        copies = [op["name"] for op in stats["ops"] if op["name"].startswith(loop[0]["name"] + "/i")] if loop else []
        ok &= _harness.check(any("/i4/" in c for c in copies), f"its fifth iteration has ops ({len(copies)} copies)")
        for name, want in (("res_y", [13.0]), ("res_scan", [[-1.0], [1.0], [4.0], [8.0], [13.0]])):
            got = np.load(os.path.join(d, "out", "outputs", name + ".npy")).astype(np.float64)
            want = np.array(want)
            err = float(np.abs(got.ravel() - want.ravel()).max()) if got.size == want.size else float("inf")
            # int8 with a per-tensor scale of 13 / 127 for the largest value: half a step is 0.05.
            ok &= _harness.check(err <= 0.06, f"{name} = {got.ravel().tolist()} (hand: {want.ravel().tolist()})")
    return ok


def runtime_trip_count():
    xpusim, data = _harness.xpusim(), _harness.path("XPUSIM_TESTDATA")
    p = subprocess.run([xpusim, "check", os.path.join(data, LOOP11), "-c", "tpu_v1"], capture_output=True, text=True)
    return _harness.check(p.returncode == 2 and "only known at run time" in p.stderr,
                          f"trip count as an input: exit {p.returncode}, {p.stderr.strip()[:200]}")


if __name__ == "__main__":
    sys.exit(_harness.main({
        "loop_tpu_v1": lambda: unrolled("tpu_v1"),
        "loop_nvdla_full": lambda: unrolled("nvdla_full"),
        "loop_groq_tsp": lambda: unrolled("groq_tsp"),
        "loop_runtime_trip_count": runtime_trip_count,
    }))
