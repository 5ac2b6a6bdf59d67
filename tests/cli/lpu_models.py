#!/usr/bin/env python3
"""LPU target end to end on models built like PyTorch exports (examples/models/generate.py).

    lpu_models.py CASE       (see _harness.py)

CASE:
  resnet50_int8    groq_tsp: logits' cosine >= 0.98 against the fp32 reference, same top-1; the
                   schedule passes the checker; MXM utilization is far from peak at batch 1 (5-60%)
                   and the final FC is bound by weight install
  resnet50_fp16    groq_tsp_fp16: rel-L2 <= 2e-2, same top-1 (on generate.py's residual_scale
                   ResNet-50, whose activations stay in fp16's range)
  transformer      groq_tsp int8 cosine >= 0.98 and groq_tsp_fp16 rel-L2 <= 2e-2 on the small
                   transformer; Softmax and LayerNorm on the VXM, nothing on the host
  capacity         an encoder larger than a (shrunk) chip's MEM: check fails, says how many chips
                   it needs; with --set chips=N it runs, one pipeline stage per chip, C2C bytes
                   between them, and a throughput from the slowest stage
  pipeline         the small CNN on 2 chips is slower than on 1 (a C2C hop) and its stages add up
  deterministic    two timing-only runs of ResNet-50 give identical cycles and stats
  program_file     `xpusim lower -o FILE` then `xpusim simulate FILE` gives the run's cycles; the
                   same program with a second Read in one slice and cycle exits 2 with one line
                   naming the schedule conflict
"""
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

import _harness


run = _harness.run_stats


check = _harness.check


def compare(xpusim, model, preset, d, *extra):
    run(xpusim, model, "reference", os.path.join(d, "ref"), *extra)
    name = os.listdir(os.path.join(d, "ref", "outputs"))[0]
    ref = np.load(os.path.join(d, "ref", "outputs", name)).astype(np.float64)
    stats = run(xpusim, model, preset, os.path.join(d, preset), *extra)
    got = np.load(os.path.join(d, preset, "outputs", name)).astype(np.float64)
    rel = np.linalg.norm(got - ref) / np.linalg.norm(ref)
    cos = float(np.dot(got.ravel(), ref.ravel()) / (np.linalg.norm(got) * np.linalg.norm(ref)))
    return stats, rel, cos, got, ref


def generated(name, **kw):
    sys.path.insert(0, os.path.join(_harness.path("XPUSIM_SOURCE"), "examples", "models"))
    import generate
    return getattr(generate, name)(**kw)


def case_resnet50_int8(xpusim, models):
    with tempfile.TemporaryDirectory() as d:
        stats, rel, cos, got, ref = compare(xpusim, os.path.join(models, "resnet50.onnx"), "groq_tsp", d)
    util = stats["stats"]["lpu"]["mxm_utilization"]
    fc = next(o for o in stats["ops"] if o["op_type"] == "Gemm")
    print(f"groq_tsp int8: cosine {cos:.6f}, top-1 {got.argmax()} vs {ref.argmax()}, {stats['cycles']} cycles = "
          f"{stats['latency_s'] * 1e6:.1f} us, MXM utilization {util:.3f}, FC bound: {fc['bound']}, "
          f"{stats['energy_j'] / stats['latency_s']:.0f} W")
    ok = check(cos >= 0.98, f"cosine {cos:.5f} >= 0.98")
    ok &= check(got.argmax() == ref.argmax(), "same top-1 class")
    ok &= check(0.05 <= util <= 0.6, f"MXM utilization {util:.3f} in 5-60% at batch 1")
    ok &= check(fc["bound"] == "weight install", "the batch-1 FC layer is bound by weight install")
    return ok


def case_resnet50_fp16(xpusim):
    import onnx
    with tempfile.TemporaryDirectory() as d:
        model = os.path.join(d, "resnet50.onnx")
        onnx.save(generated("resnet50", residual_scale=0.2), model)
        stats, rel, cos, got, ref = compare(xpusim, model, "groq_tsp_fp16", d)
    print(f"groq_tsp_fp16: rel_l2 {rel:.4g}, top-1 {got.argmax()} vs {ref.argmax()}, "
          f"{stats['latency_s'] * 1e6:.1f} us")
    return check(rel <= 2e-2, f"rel-L2 {rel:.4g} <= 2e-2") & check(got.argmax() == ref.argmax(), "same top-1")


def case_transformer(xpusim, models):
    model = os.path.join(models, "small_transformer.onnx")
    ok = True
    with tempfile.TemporaryDirectory() as d:
        stats, rel, cos, _, _ = compare(xpusim, model, "groq_tsp", d, "--shape", "input_ids=1x32")
        print(f"groq_tsp: cosine {cos:.6f}, {stats['latency_s'] * 1e6:.2f} us")
        ok &= check(cos >= 0.98, f"int8 cosine {cos:.5f} >= 0.98")
        host = [o["name"] for o in stats["ops"] if o.get("placement") == "host"]
        units = {o["op_type"]: o["unit"] for o in stats["ops"]}
        ok &= check(not host, f"nothing on the host ({host})")
        ok &= check(units.get("Softmax") == "vxm" and units.get("LayerNormalization") == "vxm",
                    "Softmax and LayerNorm run on the VXM")
    with tempfile.TemporaryDirectory() as d:
        stats, rel, cos, _, _ = compare(xpusim, model, "groq_tsp_fp16", d, "--shape", "input_ids=1x32")
        print(f"groq_tsp_fp16: rel_l2 {rel:.4g}")
        ok &= check(rel <= 2e-2, f"fp16 rel-L2 {rel:.4g} <= 2e-2")
    return ok


def case_capacity(xpusim):
    import onnx
    # 4 layers of hidden 256 / FFN 1024: 3.1 M weights, 6.3 MB in fp16; a chip of 8 slices x
    # 512 KiB = 4 MiB holds a third of it.
    shrink = ["--set", "mem.slices=8", "--set", "mem.slice_kib=512", "--set", "mxm.install_streams=4"]
    with tempfile.TemporaryDirectory() as d:
        model = os.path.join(d, "encoder.onnx")
        onnx.save(generated("small_transformer", vocab=128, hidden=256, heads=4, ffn=1024, layers=4), model)
        c = subprocess.run([xpusim, "check", model, "-c", "groq_tsp_fp16", "--timing-only", "--shape",
                            "input_ids=1x64", *shrink], capture_output=True, text=True)
        print(c.stdout[-700:])
        ok = check(c.returncode == 1 and "NOT deployable" in c.stdout, "check fails on one chip")
        m = re.search(r"needs (\d+) chips: --set chips=(\d+)", c.stdout)
        ok &= check(m is not None, "check says how many chips the model needs")
        if not m:
            return False
        n = int(m.group(2))
        s = run(xpusim, model, "groq_tsp_fp16", os.path.join(d, "multi"), "--timing-only", "--shape", "input_ids=1x64",
                *shrink, "--set", f"chips={n}")
        stages = [v["stage_cycles"] for k, v in s["stats"]["lpu"].items() if k.startswith("chip")]
        sends = s["energy_breakdown"].get("c2c", {}).get("events", {}).get("byte", {}).get("count", 0)
        print(f"{n} chips: {s['latency_s'] * 1e6:.1f} us, stages {stages}, C2C bytes {sends:.0f}, "
              f"throughput {s['stats']['lpu']['throughput_per_s']:.0f}/s")
        ok &= check(s["feasible"] and s["cycles"] > 0, f"runs with --set chips={n}")
        ok &= check(sends > 0, "activations cross chips over C2C")
    return ok


def case_pipeline(xpusim, models):
    model = os.path.join(models, "small_cnn.onnx")
    with tempfile.TemporaryDirectory() as d:
        one = run(xpusim, model, "groq_tsp", os.path.join(d, "one"), "--timing-only", "--shape", "image=1x3x32x32")
        two = run(xpusim, model, "groq_tsp", os.path.join(d, "two"), "--timing-only", "--shape", "image=1x3x32x32",
                  "--set", "chips=2")
        with open(os.path.join(d, "two", "trace.json")) as f:
            tracks = {e["args"]["name"] for e in json.load(f)["traceEvents"] if e.get("name") == "thread_name"}
    st = two["stats"]["lpu"]
    stages = [st["chip0"]["stage_cycles"], st["chip1"]["stage_cycles"]]
    print(f"1 chip {one['cycles']} cycles; 2 chips {two['cycles']} cycles, stages {stages}, "
          f"throughput {st['throughput_per_s']:.0f}/s; tracks {sorted(tracks)}")
    ok = check(two["cycles"] > one["cycles"], "the C2C hop makes 2 chips slower for one input")
    ok &= check(sum(stages) <= two["cycles"], "the stages run one after the other")
    ok &= check(any(t.startswith("chip1.") for t in tracks), "a trace track per queue group per chip")
    ok &= check(st["throughput_per_s"] >= 900e6 / max(stages) * 0.999, "throughput from the slowest stage")
    return ok


def case_deterministic(xpusim, models):
    model = os.path.join(models, "resnet50.onnx")
    with tempfile.TemporaryDirectory() as d:
        a = run(xpusim, model, "groq_tsp", os.path.join(d, "a"), "--timing-only")
        b = run(xpusim, model, "groq_tsp", os.path.join(d, "b"), "--timing-only")
    for s in (a, b):
        s.pop("wall_s", None)
    return check(a == b, "two runs give identical stats")


def case_program_file(xpusim, models):
    model = os.path.join(models, "small_cnn.onnx")
    shape = ["--shape", "image=1x3x32x32"]
    with tempfile.TemporaryDirectory() as d:
        prog = os.path.join(d, "prog.s")
        subprocess.run([xpusim, "lower", model, "-c", "groq_tsp", *shape, "-o", prog], check=True)
        timed = run(xpusim, model, "groq_tsp", os.path.join(d, "run"), "--timing-only", *shape)
        sim = subprocess.run([xpusim, "simulate", prog, "-c", "groq_tsp"], capture_output=True, text=True)
        print(sim.stdout.splitlines()[0] if sim.stdout else sim.stderr)
        ok = check(sim.returncode == 0 and f": {timed['cycles']} cycles" in sim.stdout,
                   f"simulate gives the run's {timed['cycles']} cycles")
        with open(prog) as f:
            lines = f.read().splitlines()
        read = next(line for line in lines if " Read " in line)
        clash = read.replace(" addr=0 ", " addr=1 ").replace(" tag=", " tag=9")  # same slice, same cycle
        bad = os.path.join(d, "bad.s")
        with open(bad, "w") as f:
            f.write("\n".join(lines + [clash]) + "\n")
        c = subprocess.run([xpusim, "simulate", bad, "-c", "groq_tsp"], capture_output=True, text=True)
        err = c.stderr.strip().splitlines()
        print(err)
        ok &= check(c.returncode == 2 and len(err) == 1 and "lpu schedule" in err[0] and "cycle" in err[0],
                    "a conflicting program exits 2 with one line naming the conflict")
    return ok


if __name__ == "__main__":
    x, m = os.environ.get("XPUSIM"), os.environ.get("XPUSIM_MODELS")
    sys.exit(_harness.main({"resnet50_int8": lambda: case_resnet50_int8(x, m),
                            "resnet50_fp16": lambda: case_resnet50_fp16(x),
                            "transformer": lambda: case_transformer(x, m),
                            "capacity": lambda: case_capacity(x),
                            "pipeline": lambda: case_pipeline(x, m),
                            "deterministic": lambda: case_deterministic(x, m),
                            "program_file": lambda: case_program_file(x, m)}))
