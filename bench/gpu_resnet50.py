#!/usr/bin/env python3
"""ResNet-50 on the GPU presets: simulated latency at batch 1 and 32 in pytorch_eager and fused,
where eager's time goes (launch gaps, GEMM kernels, BatchNorm, element-wise, layout transposes),
and the simulator's own speed and peak memory, timing-only and with numerics, beside ONNX
Runtime running the same model on the same machine.

    /usr/bin/python3 bench/gpu_resnet50.py [--build build] [--presets h100 h200 a100]

The models come from examples/models/generate.py (batch 1 and batch 32 exports of torchvision's
ResNet-50 shape, random weights); ONNX Runtime is the npm package scripts/install_ort.sh puts
in build/ort. Wall times are the best of two runs; peak memory is the larger of the two runs' own
maximum RSS (GNU time).
"""
import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def timed(cmd):
    """(best wall seconds of two runs, the larger peak RSS in MiB of the two). The peak comes
    from GNU time (/usr/bin/time, Debian's `time`): a child forked from this Python process
    starts its maximum RSS at the parent's, so wait4's figure would count the models held here."""
    best, rss = None, 0.0
    for _ in range(2):
        with tempfile.NamedTemporaryFile("r", suffix=".rss") as f:
            t = time.perf_counter()
            subprocess.run(["/usr/bin/time", "-f", "%M", "-o", f.name] + cmd, check=True, stdout=subprocess.DEVNULL)
            best = min(best or 1e9, time.perf_counter() - t)
            rss = max(rss, int(f.read().split()[-1]) / 1024)
    return best, rss


def breakdown(stats):
    """Eager time by kind of kernel, and the launch gaps, in microseconds."""
    kinds = collections.Counter()
    end = 0
    gaps = 0.0
    clock = stats["clock_hz"]
    for r in stats["kernels"]:
        name = r["name"]
        kind = ("gemm/conv" if "gemm" in name or "gemv" in name or "conv" in name
                else "batchnorm" if "_bn_" in name
                else "transpose" if "nchw" in name or "nhwc" in name
                else "elementwise" if "elementwise" in name
                else "other")
        kinds[kind] += (r["end_cycle"] - r["start_cycle"]) / clock * 1e6
        gaps += (r["start_cycle"] - end) / clock * 1e6
        end = r["end_cycle"]
    kinds["launch gaps"] = gaps
    return kinds


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--presets", nargs="+", default=["h100", "h200", "a100"])
    args = ap.parse_args()
    xpusim = os.path.join(args.build, "xpusim")
    sys.path.insert(0, os.path.join(ROOT, "examples", "models"))
    import generate
    import numpy as np
    import onnx
    with tempfile.TemporaryDirectory() as d:
        models = {}
        for batch in (1, 32):
            models[batch] = os.path.join(d, f"resnet50_b{batch}.onnx")
            onnx.save(generate.resnet50(residual_scale=0.2, batch=batch), models[batch])

        print("simulated latency, timing-only (ms)")
        print(f"{'preset':8} {'batch':>5} {'eager':>9} {'fused':>9} {'eager kernels':>14}")
        for preset in args.presets:
            for batch, model in models.items():
                row = {}
                for profile in ("pytorch_eager", "fused"):
                    out = os.path.join(d, f"{preset}_{batch}_{profile}")
                    subprocess.run([xpusim, "run", model, "-c", preset, "--timing-only", "-o", out,
                                    "--set", f"kernels.profile={profile}"], check=True, stdout=subprocess.DEVNULL)
                    with open(os.path.join(out, "stats.json")) as f:
                        row[profile] = json.load(f)
                print(f"{preset:8} {batch:5} {row['pytorch_eager']['latency_s'] * 1e3:9.3f} "
                      f"{row['fused']['latency_s'] * 1e3:9.3f} {len(row['pytorch_eager']['kernels']):14}")
                if preset == "h200":
                    for profile in ("pytorch_eager", "fused"):
                        parts = breakdown(row[profile])
                        total = sum(parts.values())
                        print(f"    {profile}: " + ", ".join(f"{k} {v:.0f} us ({v / total:.0%})"
                                                          for k, v in parts.most_common()))

        print("\nsimulation speed on this machine (h200, batch 32)")
        wall, rss = timed([xpusim, "run", models[32], "-c", "h200", "--timing-only", "-o", os.path.join(d, "s")])
        with open(os.path.join(d, "s", "stats.json")) as f:
            sim_s = json.load(f)["wall_s"]
        print(f"  timing-only      {wall:7.2f} s  (simulation {sim_s:.2f} s of it; peak RSS {rss:.0f} MiB)")
        wall_n, rss = timed([xpusim, "run", models[32], "-c", "h200", "-o", os.path.join(d, "n")])
        with open(os.path.join(d, "n", "stats.json")) as f:
            sim_n = json.load(f)["wall_s"]
        print(f"  with numerics    {wall_n:7.2f} s  (simulation {sim_n:.2f} s of it, then the fp32 reference the "
              f"deviations compare against; peak RSS {rss:.0f} MiB)")
        wall_r, rss = timed([xpusim, "run", models[32], "-c", "reference", "-o", os.path.join(d, "r")])
        print(f"  fp32 reference   {wall_r:7.2f} s  (the executor alone, as the numerics run uses it; peak RSS {rss:.0f} MiB)")
        ort = os.path.join(args.build, "ort")
        if os.path.isdir(os.path.join(ort, "node_modules")):
            inputs = os.path.join(d, "n", "inputs")
            script = os.path.join(ROOT, "tests", "ort", "run_ort.js")
            env = dict(os.environ, NODE_PATH=os.path.join(ort, "node_modules"))
            best = None
            for _ in range(2):
                t = time.perf_counter()
                subprocess.run(["node", script, models[32], inputs, os.path.join(d, "ort_out")], check=True,
                               stdout=subprocess.DEVNULL, env=env)
                best = min(best or 1e9, time.perf_counter() - t)
            print(f"  ONNX Runtime CPU {best:7.2f} s  -> numerics run / ORT = {wall_n / best:.2f}x")
        else:
            print("  ONNX Runtime not installed (bash scripts/install_ort.sh)")


if __name__ == "__main__":
    main()
