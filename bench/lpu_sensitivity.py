#!/usr/bin/env python3
"""How far each latency the LPU preset marks "estimate" moves ResNet-50 batch 1 on groq_tsp:
each set to half and to double its preset value, timing-only.

    /usr/bin/python3 bench/lpu_sensitivity.py [BUILD_DIR]
"""
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ESTIMATES = {"mem.read_latency_cycles": 5, "mxm.latency_cycles": 24, "vxm.latency_cycles": 4,
             "vxm.transcendental_cycles": 12, "sxm.latency_cycles": 4, "stream.hop_cycles": 1,
             "icu.instruction_bytes": 16}


def cycles(xpusim, model, d, *sets):
    out = os.path.join(d, "run")
    args = [a for s in sets for a in ("--set", s)]
    subprocess.run([xpusim, "run", model, "-c", "groq_tsp", "--timing-only", "-o", out, *args], check=True,
                   stdout=subprocess.DEVNULL)
    with open(os.path.join(out, "stats.json")) as f:
        return json.load(f)["cycles"]


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build")
    xpusim = os.path.join(build, "xpusim")
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([sys.executable, os.path.join(ROOT, "examples", "models", "generate.py"), d, "--resnet50"],
                       check=True, stdout=subprocess.DEVNULL)
        model = os.path.join(d, "resnet50.onnx")
        base = cycles(xpusim, model, d)
        print(f"ResNet-50 on groq_tsp: {base} cycles = {base / 900:.1f} us")
        print(f"{'estimate':28} {'value':>6} {'x0.5':>9} {'x2':>9}")
        for key, value in ESTIMATES.items():
            lo = cycles(xpusim, model, d, f"{key}={max(1, value // 2)}")
            hi = cycles(xpusim, model, d, f"{key}={value * 2}")
            print(f"{key:28} {value:6} {100 * (lo / base - 1):+8.1f}% {100 * (hi / base - 1):+8.1f}%")


if __name__ == "__main__":
    main()
