#!/usr/bin/env python3
"""Sensitivity of ResNet-50 int8 frames/s on the NPU to the preset values marked "estimate".

Each estimate is moved by -50% and +50% from the nvdla_full value (everything else as the
preset says), at the NVDLA primer's two published design points with a shipped preset behind
them: 2048 MACs (nvdla_full as is) and 64 MACs (nvdla_full with 8 x 8 atomics, 128 KiB CBUF,
1 GB/s DRAM). The table shows frames/s and the change against the unmoved point. An estimate
whose +-50% moves frames/s by little does not need a source to trust the result; one that moves
it a lot does.

    /usr/bin/python3 bench/npu_sensitivity.py [BUILD_DIR]

BUILD_DIR (default: build) holds the xpusim binary and models/resnet50.onnx
(examples/models/generate.py --resnet50).
"""
import json
import os
import subprocess
import sys
import tempfile

POINTS = {
    "2048 MACs": [],
    "64 MACs": ["conv.atomic_c=8", "conv.atomic_k=8", "cbuf.kib=128", "dram.bandwidth_gbps=1"],
}
# (key, nvdla_full's value, what it is)
ESTIMATES = [
    ("sequencer.program_cycles", 500, "CSB writes of one register group"),
    ("sequencer.dependency_cycles", 1000, "completion interrupt -> dependent layer enabled"),
    ("dram.queue_depth", 32, "DRAM controller queue (was the MCIF queue bytes)"),
    ("dram.interleave_bytes", 2048, "channel interleave"),
    ("dram.latency_ns", 30, "controller + PHY latency"),
    ("dram.channels", 4, "x16 channels making up the 20 GB/s"),
]


def fps(exe, model, sets):
    with tempfile.TemporaryDirectory() as d:
        cmd = [exe, "run", model, "-c", "nvdla_full", "--timing-only", "-o", d]
        for s in sets:
            cmd += ["--set", s]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(d, "stats.json")) as f:
            s = json.load(f)
    return s["clock_hz"] / s["cycles"]


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    exe, model = os.path.join(build, "xpusim"), os.path.join(build, "models", "resnet50.onnx")
    base = {p: fps(exe, model, sets) for p, sets in POINTS.items()}
    print("ResNet-50 int8 frames/s, nvdla_full, each estimate at -50% / +50%")
    print(f"{'estimate':30s} {'value':>7s}  " + "  ".join(f"{p + ' -50%':>18s} {p + ' +50%':>18s}" for p in POINTS))
    print(f"{'(as shipped)':30s} {'':>7s}  " + "  ".join(f"{base[p]:18.2f} {'':>18s}" for p in POINTS))
    for key, value, what in ESTIMATES:
        cells = []
        for p, sets in POINTS.items():
            for factor in (0.5, 1.5):
                v = value * factor
                v = int(round(v)) if isinstance(value, int) else v
                f = fps(exe, model, sets + [f"{key}={v}"])
                cells.append(f"{f:9.2f} ({f / base[p] - 1:+6.1%})")
        print(f"{key:30s} {value:7}  " + "  ".join(f"{c:>18s}" for c in cells))


if __name__ == "__main__":
    main()
