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
  tensor           partition: tensor on hand-sized MatMuls: an N split sends each chip's columns
                   to the other (M x 320 bytes on the pair's own link) and lasts at least the half
                   GEMM plus that transfer; a K split reduce-scatters fp32 partial sums and
                   all-gathers the int8 result; an encoder on 4 chips gives the 1-chip numbers
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


def matmul_model(path, m, k, n):
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    w = numpy_helper.from_array(np.random.default_rng(0).standard_normal((k, n)).astype(np.float32), "w")
    g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")], "mm",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [m, k])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [m, n])], [w])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), path)


def sends_of(xpusim, model, d, *extra):
    """[(chip, peer, link, bytes)] of the program's Sends, from `xpusim lower`'s text."""
    prog = os.path.join(d, "prog.s")
    subprocess.run([xpusim, "lower", model, "-c", "groq_tsp", *extra, "-o", prog], check=True, stdout=subprocess.DEVNULL)
    out = []
    with open(prog) as f:
        for line in f:
            if " Send " in line:
                m = re.search(r"^(\d+) .* count=(\d+) .*peer=(\d+) link=(\d+)", line)
                out.append((int(m.group(1)), int(m.group(3)), int(m.group(4)), int(m.group(2))))
    return sorted(out)


def case_tensor(xpusim, models):
    # Hand figures (groq_tsp: 14 GB/s a link, 600 ns a hop, 900 MHz):
    #   c2c(b) = ceil((b / 14e9 + 600e-9) x 0.9e9): c2c(640) = ceil(41.14 + 540) = 582,
    #   c2c(1280) = ceil(82.29 + 540) = 623, c2c(320) = ceil(20.57 + 540) = 561.
    # Chips 0 and 1 of a node: chip 0's link 0 reaches chip 1, chip 1's link 6 reaches chip 0.
    tensor = ["--set", "chips=2", "--set", "partition=tensor"]
    ok = True
    with tempfile.TemporaryDirectory() as d:
        # N split: y[2, 640] = x[2, 640] w[640, 640], 2 N tiles, one a chip; each chip sends its
        # 2 x 320 int8 columns (640 B) to the other.
        nsplit, half = os.path.join(d, "n.onnx"), os.path.join(d, "n_half.onnx")
        matmul_model(nsplit, 2, 640, 640)
        matmul_model(half, 2, 640, 320)
        sends = sends_of(xpusim, nsplit, d, *tensor)
        print("N split sends (chip, peer, link, bytes):", sends)
        ok &= check(sends == [(0, 1, 0, 640), (1, 0, 6, 640)], "N split: each chip's 640 B of columns to the other, on its link")
        one = run(xpusim, half, "groq_tsp", os.path.join(d, "half"), "--timing-only")
        two = run(xpusim, nsplit, "groq_tsp", os.path.join(d, "two"), "--timing-only", *tensor)
        print(f"half GEMM on 1 chip {one['cycles']} cycles; N split on 2 chips {two['cycles']} (+{two['cycles'] - one['cycles']})")
        ok &= check(one["cycles"] + 582 <= two["cycles"] <= one["cycles"] + 582 + 64,
                    "N split lasts the half GEMM + c2c(640 B) = 582 cycles (+ at most the Receive and the tiles' placement)")
        macs = [o["macs"] for o in two["ops"] if o.get("name") == "mm"]
        ok &= check(sorted(macs) == [2 * 640 * 320] * 2, f"each chip multiplies half the MACs ({macs})")
        links = two["stats"]["lpu"]["chip0"]["link0"]
        ok &= check(links["bytes"] == 640 and 0 < links["utilization"] <= 1, f"per-link bytes and utilization ({links})")
        # K split: y[2, 320] = x[2, 640] w[640, 320], 1 N tile, 2 K tiles. Reduce-scatter: each
        # chip sends the other chip's output vector of fp32 partial sums (320 x 4 = 1280 B), then
        # all-gathers its own reduced int8 vector (320 B).
        ksplit, khalf = os.path.join(d, "k.onnx"), os.path.join(d, "k_half.onnx")
        matmul_model(ksplit, 2, 640, 320)
        matmul_model(khalf, 2, 320, 320)
        sends = sends_of(xpusim, ksplit, d, *tensor)
        print("K split sends:", sends)
        ok &= check(sends == [(0, 1, 0, 320), (0, 1, 0, 1280), (1, 0, 6, 320), (1, 0, 6, 1280)],
                    "K split: 1280 B of fp32 partial sums and 320 B of the result each way")
        one = run(xpusim, khalf, "groq_tsp", os.path.join(d, "khalf"), "--timing-only")
        two = run(xpusim, ksplit, "groq_tsp", os.path.join(d, "ktwo"), "--timing-only", *tensor)
        print(f"half-K GEMM on 1 chip {one['cycles']} cycles; K split on 2 chips {two['cycles']} (+{two['cycles'] - one['cycles']})")
        ok &= check(one["cycles"] + 623 + 561 <= two["cycles"] <= one["cycles"] + 623 + 561 + 128,
                    "K split lasts the half-K GEMM + c2c(1280 B) + the VXM add + c2c(320 B)")
        # The same numbers on 1 chip and on 4 (int8 sums are exact in any split).
        enc = os.path.join(d, "enc.onnx")
        import onnx
        onnx.save(generated("small_transformer", vocab=128, hidden=640, heads=10, ffn=1280, layers=2), enc)
        shape = ["--shape", "input_ids=1x16"]
        a = run(xpusim, enc, "groq_tsp", os.path.join(d, "e1"), *shape)
        b = run(xpusim, enc, "groq_tsp", os.path.join(d, "e4"), *shape, "--set", "chips=4", "--set", "partition=tensor")
        name = os.listdir(os.path.join(d, "e1", "outputs"))[0]
        same = np.array_equal(np.load(os.path.join(d, "e1", "outputs", name)), np.load(os.path.join(d, "e4", "outputs", name)))
        print(f"encoder: 1 chip {a['latency_s'] * 1e6:.1f} us, 4 chips tensor {b['latency_s'] * 1e6:.1f} us")
        ok &= check(same, "the encoder's outputs on 4 chips equal those on 1")
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
                            "tensor": lambda: case_tensor(x, m),
                            "deterministic": lambda: case_deterministic(x, m),
                            "program_file": lambda: case_program_file(x, m)}))
