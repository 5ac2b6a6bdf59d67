#!/usr/bin/env python3
"""LSTM and GRU models on the processor targets, which unroll the recurrence into per-step GEMMs
and vector ops (frontends/lower/recurrent_unroll.h) instead of running it on the host.

    recurrent_models.py CASE        (see _harness.py; CASE: see CASES)

The models are shaped as PyTorch exports nn.LSTM / nn.GRU (batch 1, zero initial states as
initializers, GRU with linear_before_reset = 1), then Squeeze and a Linear head (MatMul + Add).
  numerics_*   the run on tpu_v1 / nvdla_full (int8) against the fp32 reference: output cosine
               >= 0.99; the LSTM/GRU node is not on the host, nor is any op of its recurrence
               (on nvdla_full the per-step row slices of the input projection,
               "<node>/t<k>/x_<gate>", are BDMA copies from an offset).
  sequential_* timing-only runs at T = 8 and 16: each step's recurrent GEMMs end after the
               step before wrote h, and the recurrent part (first to last per-step op) takes
               about twice as long at 16 steps (15 steps with a recurrent GEMM against 7).
  hand_*       W = R = 0, so every gate is constant and the states have a closed form derived
               below; the reference and tpu_v1 both match it.
"""
import json
import os
import re
import subprocess
import tempfile

import numpy as np

import _harness

COSINE_MIN = 0.99
I, H, O = 16, 32, 10


def make_model(path, cell, T, zero_weights=False, seed=0):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    G = {"LSTM": 4, "GRU": 3}[cell]
    s = 1 / np.sqrt(H)  # PyTorch's uniform(-1/sqrt(H), 1/sqrt(H)) initialisation

    def uniform(*shape):
        return rng.uniform(-s, s, shape).astype(np.float32)

    w, r = uniform(1, G * H, I), uniform(1, G * H, H)
    if zero_weights:
        w, r = np.zeros_like(w), np.zeros_like(r)
    inits = [numpy_helper.from_array(w, "W"), numpy_helper.from_array(r, "R"),
             numpy_helper.from_array(uniform(1, 2 * G * H) * 8, "B"),
             numpy_helper.from_array(np.zeros((1, 1, H), np.float32), "h0"),
             numpy_helper.from_array(np.array([1], np.int64), "axes"),
             numpy_helper.from_array(uniform(H, O), "fc_w"), numpy_helper.from_array(uniform(O), "fc_b")]
    ins, outs = ["input", "W", "R", "B", "", "h0"], ["Y", "Y_h"]
    attrs = {"hidden_size": H}
    if cell == "LSTM":
        inits.append(numpy_helper.from_array(np.zeros((1, 1, H), np.float32), "c0"))
        ins.append("c0")
        outs.append("Y_c")
    else:
        attrs["linear_before_reset"] = 1
    nodes = [helper.make_node(cell, ins, outs, name=f"{cell}_0", **attrs),
             helper.make_node("Squeeze", ["Y", "axes"], ["seq"], name="Squeeze_1"),
             helper.make_node("MatMul", ["seq", "fc_w"], ["mm"], name="MatMul_2"),
             helper.make_node("Add", ["mm", "fc_b"], ["logits"], name="Add_3")]
    graph = helper.make_graph(nodes, f"{cell.lower()}_t{T}",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, [T, 1, I])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [T, 1, O])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return {i.name: numpy_helper.to_array(i) for i in inits}


def run(model, config, out, *extra):
    return _harness.run_stats(_harness.xpusim(), model, config, out, *extra)


def logits(out):
    return np.load(os.path.join(out, "outputs", "logits.npy"))


def cosine(a, b):
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    return float(a @ b / np.sqrt((a @ a) * (b @ b)))


def numerics(cell, config):
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "m.onnx")
        make_model(model, cell, 8)
        stats = run(model, config, os.path.join(tmp, "chip"))
        run(model, "reference", os.path.join(tmp, "ref"))
        cos = cosine(logits(os.path.join(tmp, "chip")), logits(os.path.join(tmp, "ref")))
        ok = _harness.check(cos >= COSINE_MIN, f"{cell} on {config}: logits cosine {cos:.5f} >= {COSINE_MIN}")
        node = f"{cell}_0"
        row = [op for op in stats["ops"] if op["name"] == node]
        ok &= _harness.check(len(row) == 1 and row[0]["placement"] != "host",
                             f"{node} placed {row[0]['placement'] if row else 'nowhere'} ({row[0]['reason'] if row else ''})")
        host = [op["name"] for op in stats["ops"]
                if op["name"].startswith(node + "/") and op["placement"] == "host"]
        ok &= _harness.check(not host, f"no op of the recurrence on the host: {host[:5] or 'none'}")
        steps = [op for op in stats["ops"] if re.match(re.escape(node) + r"/t\d+/", op["name"])]
        ok &= _harness.check(len(steps) > 8 * 5, f"{len(steps)} per-step ops in stats")
        return ok


def recurrent_span(stats, node):
    """Cycles from the first per-step op's start to the last one's end, and the ops by step."""
    by_step = {}
    for op in stats["ops"]:
        m = re.match(re.escape(node) + r"/t(\d+)/", op["name"])
        if m:
            by_step.setdefault(int(m.group(1)), []).append(op)
    ops = [op for v in by_step.values() for op in v]
    return max(op["end_cycle"] for op in ops) - min(op["start_cycle"] for op in ops), by_step


def sequential(cell):
    ok = True
    node = f"{cell}_0"
    with tempfile.TemporaryDirectory() as tmp:
        for config in ("tpu_v1", "nvdla_full"):
            spans = {}
            for T in (8, 16):
                model = os.path.join(tmp, f"{cell}_{T}.onnx")
                make_model(model, cell, T)
                stats = run(model, config, os.path.join(tmp, f"{config}_{T}"), "--timing-only")
                spans[T], by_step = recurrent_span(stats, node)
                # Step t's recurrent GEMMs read h of step t - 1: they cannot finish before it is
                # written (they may start earlier, loading their weights).
                for t in range(1, T):
                    h_end = max(op["end_cycle"] for op in by_step[t - 1] if op["name"].endswith("/h"))
                    ends = [op["end_cycle"] for op in by_step[t] if op["op_type"] == "MatMul"]
                    if not ends or min(ends) <= h_end:
                        ok &= _harness.check(False, f"{config} T={T}: a step {t} GEMM ends at "
                                                    f"{min(ends, default=-1)}, before step {t - 1} wrote h at {h_end}")
                        break
            ratio = spans[16] / spans[8]
            ok &= _harness.check(1.6 <= ratio <= 2.6,
                                 f"{cell} on {config}: recurrent part {spans[8]} -> {spans[16]} cycles "
                                 f"from T = 8 to 16 (x{ratio:.2f}, expected about 15/7 = 2.1)")
    return ok


def hand(cell):
    """With W = R = 0 the gates are constants of the bias b = Wb + Rb:
    LSTM: i, f, o = sigmoid(b_i), sigmoid(b_f), sigmoid(b_o), g = tanh(b_c); from C_0 = 0,
          C_t = f C_{t-1} + i g = i g (1 - f^t) / (1 - f) and h_t = o tanh(C_t).
    GRU (linear_before_reset): z = sigmoid(b_z), r = sigmoid(b_r), n = tanh(Wb_h + r Rb_h);
          from h_0 = 0, h_t = (1 - z) n + z h_{t-1} = n (1 - z^t).
    The logits are h_t fc_w + fc_b."""
    T = 8
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "m.onnx")
        p = make_model(model, cell, T, zero_weights=True)
        b = p["B"][0].astype(np.float64)
        sig = lambda x: 1 / (1 + np.exp(-x))
        t = np.arange(1, T + 1)[:, None]
        if cell == "LSTM":
            wb, rb = b[:4 * H], b[4 * H:]
            i, o, f, c = [wb[k * H:(k + 1) * H] + rb[k * H:(k + 1) * H] for k in range(4)]
            i, o, f, g = sig(i), sig(o), sig(f), np.tanh(c)
            h = o * np.tanh(i * g * (1 - f ** t) / (1 - f))
        else:
            wb, rb = b[:3 * H], b[3 * H:]
            z, r = sig(wb[:H] + rb[:H]), sig(wb[H:2 * H] + rb[H:2 * H])
            n = np.tanh(wb[2 * H:] + r * rb[2 * H:])
            h = n * (1 - z ** t)
        want = (h @ p["fc_w"].astype(np.float64) + p["fc_b"]).reshape(T, 1, O)
        ok = True
        for config, tol in (("reference", 1e-5), ("tpu_v1", None)):
            out = os.path.join(tmp, config)
            run(model, config, out)
            got = logits(out)
            if tol is not None:
                err = float(np.abs(got - want).max())
                ok &= _harness.check(err <= tol, f"{cell} {config}: max |logits - closed form| {err:.2e} <= {tol}")
            else:
                cos = cosine(got, want)
                ok &= _harness.check(cos >= COSINE_MIN, f"{cell} {config}: cosine to the closed form {cos:.5f}")
        return ok


CASES = {
    "numerics_lstm_tpu_v1": lambda: numerics("LSTM", "tpu_v1"),
    "numerics_gru_tpu_v1": lambda: numerics("GRU", "tpu_v1"),
    "numerics_lstm_nvdla_full": lambda: numerics("LSTM", "nvdla_full"),
    "numerics_gru_nvdla_full": lambda: numerics("GRU", "nvdla_full"),
    "sequential_lstm": lambda: sequential("LSTM"),
    "sequential_gru": lambda: sequential("GRU"),
    "hand_lstm": lambda: hand("LSTM"),
    "hand_gru": lambda: hand("GRU"),
}

if __name__ == "__main__":
    raise SystemExit(_harness.main(CASES))
