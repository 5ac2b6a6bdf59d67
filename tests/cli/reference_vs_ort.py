#!/usr/bin/env python3
"""The reference executor against ONNX Runtime, an independent implementation, on models built
the way PyTorch's exporters write them (examples/models/generate.py). Passes when every output
is within rel-L2 1e-5 of ONNX Runtime's.

    reference_vs_ort.py MODEL        (see _harness.py)

Skips (exit 77) when ONNX Runtime is not installed in XPUSIM_ORT.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np

import _harness

TOLERANCE = 1e-5
MODELS = {"small_cnn": ["--shape", "image=2x3x32x32"], "small_transformer": ["--shape", "input_ids=2x24"],
          "resnet50": [], "small_lstm": [], "small_gru": []}


def compare(model):
    xpusim, models, ort_dir = _harness.xpusim(), _harness.models(), _harness.path("XPUSIM_ORT")
    extra = MODELS[model]
    if not os.path.isdir(os.path.join(ort_dir, "node_modules", "onnxruntime-node")):
        print(f"ONNX Runtime is not installed in {ort_dir} (npm install there); skipping")
        return _harness.SKIP
    path = os.path.join(models, model + ".onnx")
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([xpusim, "run", path, "-c", "reference", "-o", d, "--seed", "3"] + extra, check=True)
        subprocess.run(["node", os.path.join(os.path.dirname(__file__), "..", "ort", "run_ort.js"), path,
                        os.path.join(d, "inputs"), os.path.join(d, "ort")], check=True,
                       env=dict(os.environ, NODE_PATH=os.path.join(ort_dir, "node_modules")))
        worst = 0.0
        for f in sorted(os.listdir(os.path.join(d, "ort"))):
            ours = np.load(os.path.join(d, "outputs", f)).astype(np.float64)
            theirs = np.load(os.path.join(d, "ort", f)).astype(np.float64)
            assert ours.shape == theirs.shape, f"{f}: shape {ours.shape} vs ONNX Runtime's {theirs.shape}"
            rel = np.linalg.norm(ours - theirs) / max(np.linalg.norm(theirs), 1e-30)
            print(f"{model} {f}: rel_l2 {rel:.3g} vs ONNX Runtime")
            worst = max(worst, rel)
    if worst > TOLERANCE:
        print(f"FAILED: rel_l2 {worst:.3g} > {TOLERANCE}")
        return False
    return True


if __name__ == "__main__":
    sys.exit(_harness.main({m: (lambda m=m: compare(m)) for m in MODELS}))
