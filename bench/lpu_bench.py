#!/usr/bin/env python3
"""The LPU: ResNet-50 batch 1 on groq_tsp (latency, what bounds it, MXM utilization, power) and a
BERT-large-sized encoder in fp16 across chips (check's chip count, then latency and throughput
on 1, 2, 4 and 8 chips where it fits, as pipeline stages and with partition: tensor), each with
the simulator's wall time and peak memory.

    /usr/bin/python3 bench/lpu_bench.py [--build build] [--layers 24] [--hidden 1024] [--seq 128]

The models come from examples/models/generate.py (random weights; the encoder is its
small_transformer at BERT-large's sizes: 24 layers, hidden 1024, 16 heads, FFN 4096, written to a
temporary folder, about 1.2 GB in fp32). Wall time and peak RSS are measured with
/usr/bin/time on the `xpusim run` command, loading the model included.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def timed_run(xpusim, model, config, out, *extra):
    """(stats, wall seconds, peak RSS MiB) of one `xpusim run`."""
    tf = os.path.join(out + ".time")
    r = subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", tf, xpusim, "run", model, "-c", config, "-o", out,
                        *extra], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    with open(tf) as f:
        wall, rss = f.read().split()[-2:]
    stats = None
    if os.path.exists(os.path.join(out, "stats.json")):
        with open(os.path.join(out, "stats.json")) as f:
            stats = json.load(f)
    return stats, float(wall), float(rss) / 1024, r


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--layers", type=int, default=24)
    ap.add_argument("--hidden", type=int, default=1024)
    ap.add_argument("--seq", type=int, default=128)
    args = ap.parse_args()
    xpusim = os.path.join(args.build, "xpusim")
    sys.path.insert(0, os.path.join(ROOT, "examples", "models"))
    import generate
    import onnx
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([sys.executable, os.path.join(ROOT, "examples", "models", "generate.py"), d, "--resnet50"],
                       check=True, stdout=subprocess.DEVNULL)
        s, wall, rss, _ = timed_run(xpusim, os.path.join(d, "resnet50.onnx"), "groq_tsp", os.path.join(d, "r50"),
                                    "--timing-only")
        lpu = s["stats"]["lpu"]
        bounds = {}
        for o in s["ops"]:
            if o.get("bound") in ("weight install", "MXM streaming"):
                bounds[o["bound"]] = bounds.get(o["bound"], 0) + 1
        print(f"ResNet-50 batch 1, groq_tsp (int8): {s['cycles']} cycles = {s['latency_s'] * 1e6:.1f} us "
              f"({1 / s['latency_s']:.0f} images/s; published 20.4K/s, ~49 us), MXM utilization "
              f"{lpu['mxm_utilization']:.3f}, {lpu['average_power_w']:.0f} W; MXM layers bound by {bounds}")
        for u in s["units"]:
            print(f"    {u['name']:12} utilization {u['utilization']:.3f}")
        print(f"    simulator: {wall:.2f} s wall, {rss:.0f} MiB peak (timing-only, model load included)")

        enc = os.path.join(d, "encoder.onnx")
        onnx.save(generate.small_transformer(vocab=1024, hidden=args.hidden, heads=args.hidden // 64,
                                             ffn=4 * args.hidden, layers=args.layers), enc)
        print(f"\nencoder: {args.layers} layers, hidden {args.hidden}, FFN {4 * args.hidden}, seq {args.seq}, fp16 "
              f"({os.path.getsize(enc) / 1e9:.2f} GB ONNX in fp32)")
        shape = ["--shape", f"input_ids=1x{args.seq}", "--timing-only"]
        c = subprocess.run([xpusim, "check", enc, "-c", "groq_tsp_fp16", *shape], capture_output=True, text=True)
        for line in c.stdout.splitlines():
            if line.startswith(("chip", "FAIL capacity", "NOT", "deployable")):
                print("    check: " + line)
        runs = [("pipeline", c) for c in (1, 2, 4, 8)] + [("tensor", c) for c in (2, 4, 8)]
        for partition, chips in runs:
            s, wall, rss, r = timed_run(xpusim, enc, "groq_tsp_fp16", os.path.join(d, f"enc{partition}{chips}"), *shape,
                                        "--set", f"chips={chips}", "--set", f"partition={partition}")
            label = f"{chips} chip(s), {partition}"
            if s is None or not s.get("feasible"):
                why = (s or {}).get("problems", [{}])[0].get("message", r.stderr.strip()[-200:]) if s else r.stderr.strip()[-200:]
                print(f"  {label}: does not fit ({why[:140]}); {wall:.2f} s, {rss:.0f} MiB")
                continue
            lpu = s["stats"]["lpu"]
            stages = [v["stage_cycles"] for k, v in lpu.items() if k.startswith("chip")]
            c2c = s["energy_breakdown"].get("c2c", {}).get("events", {}).get("byte", {}).get("count", 0)
            busiest = max([l["utilization"] for k, v in lpu.items() if k.startswith("chip")
                           for n, l in v.items() if n.startswith("link")] or [0])
            print(f"  {label}: {s['latency_s'] * 1e6:.1f} us for one sequence, throughput "
                  f"{lpu['throughput_per_s']:.0f}/s, stages {stages}, C2C {c2c / 1e6:.1f} MB (busiest link "
                  f"{100 * busiest:.0f}% busy); simulator {wall:.2f} s, {rss:.0f} MiB")


if __name__ == "__main__":
    main()
