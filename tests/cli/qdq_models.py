#!/usr/bin/env python3
"""Pre-quantized (QDQ) models on the int8 targets, against ONNX Runtime running the same QDQ
model. The models are quantized here in the layout ONNX Runtime's quantize_static writes
(examples/models/quantize_qdq.py, with ranges ONNX Runtime measures on calibration samples).

    qdq_models.py CASE        (see _harness.py)

- reference: xpusim's reference executor runs every QuantizeLinear/DequantizeLinear as the
  spec defines them, so it matches ONNX Runtime but for the few elements where a different
  float summation order moves a value across a rounding boundary (one quantum).
- nvdla_full, tpu_v1 (and groq_tsp, h100 in int8): the Q/DQ pairs fold into int8 ops with the model's scales, so stats.json
  says calibration.source "model" and nothing is calibrated; the output matches ONNX Runtime's
  at cosine >= 0.995. The int8 zero points of ONNX Runtime's activations are asymmetric, which
  both chips round to symmetric scales; `check` names each such value.

Skips (exit 77) when ONNX Runtime is not installed in XPUSIM_ORT.
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

import _harness

COSINE_MIN = 0.995
HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "..", "..")
MODELS = {"small_cnn": ("image", [1, 3, 32, 32]), "resnet50": ("input", [1, 3, 224, 224])}


def ort_dir():
    d = _harness.path("XPUSIM_ORT")
    return d if os.path.isdir(os.path.join(d, "node_modules", "onnxruntime-node")) else None


def quantized(model, activation_type, work):
    """The QDQ copy of MODEL, calibrated by ONNX Runtime on 4 samples unrelated to the
    evaluation inputs (seeds 100..103)."""
    name, shape = MODELS[model]
    cal = os.path.join(work, "calibration")
    for i in range(4):
        os.makedirs(os.path.join(cal, f"s{i}"), exist_ok=True)
        x = np.random.default_rng(100 + i).standard_normal(shape).astype(np.float32)
        np.save(os.path.join(cal, f"s{i}", name + ".npy"), x)
    out = os.path.join(work, f"{model}_qdq_{activation_type}.onnx")
    subprocess.run([sys.executable, os.path.join(SOURCE, "examples", "models", "quantize_qdq.py"),
                    os.path.join(_harness.models(), model + ".onnx"), out, "--calibration", cal,
                    "--activation-type", activation_type, "--ort", ort_dir()], check=True)
    return out


def ort_outputs(model_path, inputs_dir, work):
    out = os.path.join(work, "ort")
    subprocess.run(["node", os.path.join(SOURCE, "tests", "ort", "run_ort.js"), model_path, inputs_dir, out],
                   check=True, env=dict(os.environ, NODE_PATH=os.path.join(ort_dir(), "node_modules")))
    return {f: np.load(os.path.join(out, f)).astype(np.float64) for f in sorted(os.listdir(out))}


def cosine(a, b):
    a, b = a.ravel(), b.ravel()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def run_target(model, config, activation_type="int8", extra=()):
    if not ort_dir():
        print("ONNX Runtime is not installed (npm install in XPUSIM_ORT); skipping")
        return _harness.SKIP
    xpusim = _harness.xpusim()
    name, shape = MODELS[model]
    shape_arg = ["--shape", f"{name}=" + "x".join(map(str, shape)), *extra]
    ok = True
    with tempfile.TemporaryDirectory() as work:
        qdq = quantized(model, activation_type, work)
        run = os.path.join(work, "run")
        stats = _harness.run_stats(xpusim, qdq, config, run, *shape_arg)
        theirs = ort_outputs(qdq, os.path.join(run, "inputs"), work)
        for f, want in theirs.items():
            got = np.load(os.path.join(run, "outputs", f)).astype(np.float64)
            c = cosine(got, want)
            if config == "reference":
                ok &= _harness.check(c >= 0.9999, f"{f}: cosine {c:.6f} to ONNX Runtime's run of the QDQ model")
            else:
                ok &= _harness.check(c >= COSINE_MIN,
                                     f"{config} {f}: cosine {c:.5f} >= {COSINE_MIN} to ONNX Runtime's run")
        if config != "reference":
            cal = stats.get("calibration", {})
            ok &= _harness.check(cal.get("source") == "model" and "calibrated" not in cal,
                                 f"calibration {json.dumps(cal)}: the model's own scales, nothing calibrated")
            rows = [op for op in stats["ops"] if op["op_type"] in ("QuantizeLinear", "DequantizeLinear")]
            pairs = cal.get("qdq_pairs", 0)
            ok &= _harness.check(pairs > 0 and len(rows) == 2 * pairs and
                                 all(op["placement"] == "lowered" for op in rows),
                                 f"{len(rows)} Q/DQ rows, each folded into an int8 op ({pairs} pairs)")
            p = subprocess.run([xpusim, "check", qdq, "-c", config, *shape_arg], capture_output=True, text=True)
            print(p.stdout[-1500:])
            ok &= _harness.check("the model's own" in p.stdout, "check says the scales are the model's")
            if activation_type == "int8":
                ok &= _harness.check("zero point" in p.stdout and "on symmetric int8" in p.stdout,
                                     "check names the asymmetric zero points rounded to symmetric scales")
    return ok


if __name__ == "__main__":
    sys.exit(_harness.main({
        "small_cnn_reference": lambda: run_target("small_cnn", "reference"),
        "small_cnn_nvdla_full": lambda: run_target("small_cnn", "nvdla_full"),
        "small_cnn_tpu_v1": lambda: run_target("small_cnn", "tpu_v1"),
        "small_cnn_uint8_nvdla_full": lambda: run_target("small_cnn", "nvdla_full", "uint8"),
        "small_cnn_groq_tsp": lambda: run_target("small_cnn", "groq_tsp"),
        "small_cnn_h100_int8": lambda: run_target("small_cnn", "h100", extra=("--set", "precision=int8")),
        "resnet50_nvdla_full": lambda: run_target("resnet50", "nvdla_full"),
        "resnet50_tpu_v1": lambda: run_target("resnet50", "tpu_v1"),
    }))
