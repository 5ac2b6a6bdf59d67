#!/usr/bin/env python3
"""How far int8 deviations move when the calibration samples are kept apart from the evaluation
input (the default: quant.samples draws from seed + 1000) instead of being the evaluation input
itself (what xpusim did before the calibration policy; reproduced with --calibration pointing at
the run's own inputs). Reports numbers; asserts nothing.

    /usr/bin/python3 bench/calibration_shift.py [BUILD_DIR]
"""
import json
import os
import subprocess
import sys
import tempfile

build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "build")
xpusim, models = os.path.join(build, "xpusim"), os.path.join(build, "models")
CASES = [("small_cnn", ["--shape", "image=1x3x32x32"]), ("resnet50", [])]
PRESETS = ["tpu_v1", "nvdla_full", "nvdla_small"]


def run(model, preset, extra, out, *more):
    subprocess.run([xpusim, "run", os.path.join(models, model + ".onnx"), "-c", preset, "-o", out, "--seed", "7",
                    *extra, *more], check=True, capture_output=True)
    stats = json.load(open(os.path.join(out, "stats.json")))
    (name, m), = stats["numerics"].items()
    return m


print(f"{'model':12} {'preset':12} {'on eval: rel_l2':>16} {'cosine':>9} {'apart: rel_l2':>14} {'cosine':>9}")
with tempfile.TemporaryDirectory() as d:
    for model, extra in CASES:
        for preset in PRESETS:
            apart = run(model, preset, extra, os.path.join(d, "a"))
            on_eval = run(model, preset, extra, os.path.join(d, "b"), "--calibration", os.path.join(d, "a", "inputs"))
            print(f"{model:12} {preset:12} {on_eval['rel_l2']:16.4g} {on_eval['cosine']:9.5f} "
                  f"{apart['rel_l2']:14.4g} {apart['cosine']:9.5f}")
