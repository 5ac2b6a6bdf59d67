#!/usr/bin/env python3
"""End-to-end checks of the NPU target through the `xpusim` command line.

    npu_models.py CASE        (see _harness.py; CASE: see CASES)

MODELS_DIR holds the models examples/models/generate.py writes (small_cnn.onnx, resnet50.onnx);
the MobileNetV2-style model is built here. Numerics cases run the model on nvdla_full and on the
fp32 reference and require the same top-1 class and a logit cosine similarity >= 0.98. The primer
cases run ResNet-50 int8 timing-only at the NVDLA primer's seven design points and hold frames/s
to the primer's figures as PRIMER_POINTS explains; nvdla_small holds the shipped preset there.
timing_only requires identical cycles with and without --timing-only.
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

import _harness

COSINE_MIN = 0.98
FPS_TOLERANCE = 0.25
NVDLA_SMALL_TOLERANCE = 0.15
# NVDLA primer, "Example Area and Performance with NVDLA" (int8 ResNet-50 frames/s, no on-chip
# SRAM, 1 GHz). The primer gives MAC counts, not shapes; each point uses an atomic-C x atomic-K
# split the NVDLA docs allow (atomic-C 8..64, atomic-K 4..64, atomic-C >= atomic-K), with the
# rest of nvdla_full. The memory atom follows atomic_k (NpuSpec::atom_bytes).
#
# The primer's figures come from NVDLA's performance spreadsheet (nvdla/hw perf/
# NVDLA_OpenSource_Performance.xlsx), which bench/nvdla_primer_sheet.py re-implements and
# reproduces to the printed digit. That sheet counts a strided 1x1 kernel's weights 4x (it
# folds the stride into the channels; NVDLA stores R x S x C weights whatever the stride), and
# at a 128 KiB CBUF its multi-pass rule multiplies those inflated weights: its 64- and 32-MAC
# figures are 60% too slow for the sheet's own method. Each point is therefore held within 25%
# of the sheet with its conventions corrected (no stride folding, no Winograd, K rounded to
# atomic_k, ResNet-50 v1.5 shapes, 1 KB = 1024 B: "s5_fps"), and, where the published figure
# does not rest on that artefact (128 MACs and up), within 25% of the published figure too.
PRIMER_POINTS = {  # case: (MACs, atomic_c, atomic_k, CBUF KiB, DRAM GB/s)
    "primer_2048": (2048, 64, 32, 512, 20),
    "primer_1024": (1024, 32, 32, 256, 15),
    "primer_512": (512, 32, 16, 256, 10),
    "primer_256": (256, 16, 16, 256, 5),
    "primer_128": (128, 16, 8, 256, 2),
    "primer_64": (64, 8, 8, 128, 1),
    "primer_32": (32, 8, 4, 128, 0.5),
}
ARTEFACT_POINTS = {64, 32}  # where the published figure rests on the sheet's weight inflation


def run(exe, model, config, outdir, extra=()):
    cmd = [exe, "run", model, "-c", config, "-o", outdir, *extra]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"FAIL: {' '.join(cmd)} exited {p.returncode}: {p.stderr.strip()}")
    with open(os.path.join(outdir, "stats.json")) as f:
        return json.load(f)


def outputs(outdir):
    d = os.path.join(outdir, "outputs")
    return {name[:-4]: np.load(os.path.join(d, name)) for name in sorted(os.listdir(d))}


def check_numerics(exe, model, extra=()):
    with tempfile.TemporaryDirectory() as tmp:
        npu_dir, ref_dir = os.path.join(tmp, "npu"), os.path.join(tmp, "ref")
        stats = run(exe, model, "nvdla_full", npu_dir, extra)
        run(exe, model, "reference", ref_dir, extra)
        got, ref = outputs(npu_dir), outputs(ref_dir)
        for name, r in ref.items():
            g = got[name]
            cos = stats["numerics"][name]["cosine"] if name in stats["numerics"] else None
            r2, g2 = r.reshape(r.shape[0], -1), g.reshape(g.shape[0], -1)
            top_ref, top_got = r2.argmax(axis=1), g2.argmax(axis=1)
            cosine = float((r2 * g2).sum() / np.sqrt((r2 * r2).sum() * (g2 * g2).sum()))
            print(f"{os.path.basename(model)} output {name}: top-1 ref {top_ref.tolist()} npu {top_got.tolist()}, "
                  f"cosine {cosine:.6f} (stats.json {cos})")
            if not np.array_equal(top_ref, top_got):
                raise SystemExit(f"FAIL: top-1 differs for {name}")
            if cosine < COSINE_MIN:
                raise SystemExit(f"FAIL: cosine {cosine:.4f} < {COSINE_MIN} for {name}")
        host = [op["name"] for op in stats["ops"] if op["placement"] == "host"]
        print(f"  {stats['cycles']} cycles; ops on the host: {host or 'none'}")


def mobilenet_like(path):
    """A MobileNetV2-style classifier (inverted residuals with depthwise 3x3, ReLU6 as Clip,
    residual adds), one squeeze-excite block (global pool, 1x1 convs, Sigmoid, per-channel Mul)
    and a HardSwish head, at 1x3x96x96, BatchNormalization unfused, seeded weights."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(7)
    nodes, inits, count = [], [], {}

    def name(base):
        count[base] = count.get(base, 0) + 1
        return f"{base}_{count[base]}"

    def const(base, arr):
        n = name(base)
        inits.append(numpy_helper.from_array(np.asarray(arr), n))
        return n

    def op(t, inputs, **attrs):
        out = name(t.lower())
        nodes.append(helper.make_node(t, inputs, [out], name=name(t), **attrs))
        return out

    def conv(x, cin, cout, k, stride=1, group=1, bias=False):
        fan_in = cin // group * k * k
        w = rng.normal(0, np.sqrt(2.0 / fan_in), (cout, cin // group, k, k)).astype(np.float32)
        ins = [x, const("w", w)]
        if bias:
            ins.append(const("b", rng.normal(0, 0.01, cout).astype(np.float32)))
        return op("Conv", ins, kernel_shape=[k, k], strides=[stride, stride], pads=[k // 2] * 4, group=group)

    def bn(x, c):
        return op("BatchNormalization", [x, const("g", rng.uniform(0.5, 1.5, c).astype(np.float32)),
                                         const("beta", rng.normal(0, 0.1, c).astype(np.float32)),
                                         const("mean", rng.normal(0, 0.1, c).astype(np.float32)),
                                         const("var", rng.uniform(0.5, 1.5, c).astype(np.float32))], epsilon=1e-5)

    six = const("six", np.array(6.0, np.float32))
    zero = const("zero", np.array(0.0, np.float32))

    def relu6(x):
        return op("Clip", [x, zero, six])

    x = "image"
    y = relu6(bn(conv(x, 3, 16, 3, stride=2), 16))
    cin = 16
    for t, c, s in [(1, 16, 1), (4, 24, 2), (4, 24, 1), (4, 32, 2), (4, 32, 1), (4, 64, 2)]:
        h = y
        hidden = cin * t
        if t != 1:
            h = relu6(bn(conv(h, cin, hidden, 1), hidden))
        h = relu6(bn(conv(h, hidden, hidden, 3, stride=s, group=hidden), hidden))
        h = bn(conv(h, hidden, c, 1), c)
        y = op("Add", [h, y]) if s == 1 and cin == c else h
        cin = c
    # squeeze-excite on the last stage
    se = op("GlobalAveragePool", [y])
    se = op("Relu", [conv(se, cin, cin // 4, 1, bias=True)])
    se = op("Sigmoid", [conv(se, cin // 4, cin, 1, bias=True)])
    y = op("Mul", [y, se])
    y = op("HardSwish", [bn(conv(y, cin, 128, 1), 128)])
    y = op("Flatten", [op("GlobalAveragePool", [y])], axis=1)
    w = rng.normal(0, 0.2, (10, 128)).astype(np.float32)
    logits = op("Gemm", [y, const("fc_w", w), const("fc_b", np.zeros(10, np.float32))], transB=1)
    graph = helper.make_graph(nodes, "mobilenet_like",
                              [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, 3, 96, 96])],
                              [helper.make_tensor_value_info(logits, TensorProto.FLOAT, [1, 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)


def shufflenet_like(path, size=224, stages=((48, 4), (96, 8), (192, 4))):
    """A ShuffleNet V2 0.5x-shaped classifier (stages of 48, 96 and 192 channels, 4 + 8 + 4
    units) at 1x3x224x224: stride-1 units split the channels in two
    (Split), run one half through 1x1 / depthwise 3x3 / 1x1 with BatchNormalization and ReLU,
    and concatenate it with the untouched half; stride-2 units run both branches and
    concatenate; every unit ends with the channel shuffle Reshape(1, 2, C/2, H, W) ->
    Transpose(0, 2, 1, 3, 4) -> Reshape(1, C, H, W). Seeded weights."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(11)
    nodes, inits, count = [], [], {}

    def name(base):
        count[base] = count.get(base, 0) + 1
        return f"{base}_{count[base]}"

    def const(base, arr):
        n = name(base)
        inits.append(numpy_helper.from_array(np.asarray(arr), n))
        return n

    def op(t, inputs, outputs=1, **attrs):
        outs = [name(t.lower()) for _ in range(outputs)]
        nodes.append(helper.make_node(t, inputs, outs, name=name(t), **attrs))
        return outs[0] if outputs == 1 else outs

    def conv_bn(x, cin, cout, k, stride=1, group=1, relu=True):
        w = rng.normal(0, np.sqrt(2.0 / (cin // group * k * k)), (cout, cin // group, k, k)).astype(np.float32)
        y = op("Conv", [x, const("w", w)], kernel_shape=[k, k], strides=[stride, stride], pads=[k // 2] * 4,
               group=group)
        y = op("BatchNormalization", [y, const("g", rng.uniform(0.5, 1.5, cout).astype(np.float32)),
                                      const("b", rng.normal(0, 0.1, cout).astype(np.float32)),
                                      const("m", rng.normal(0, 0.1, cout).astype(np.float32)),
                                      const("v", rng.uniform(0.5, 1.5, cout).astype(np.float32))], epsilon=1e-5)
        return op("Relu", [y]) if relu else y

    def branch(x, cin, cout, stride):
        h = conv_bn(x, cin, cout, 1)
        h = conv_bn(h, cout, cout, 3, stride=stride, group=cout, relu=False)
        return conv_bn(h, cout, cout, 1)

    def shuffle(x, c, hw):
        y = op("Reshape", [x, const("s", np.array([1, 2, c // 2, hw, hw], np.int64))])
        y = op("Transpose", [y], perm=[0, 2, 1, 3, 4])
        return op("Reshape", [y, const("s", np.array([1, c, hw, hw], np.int64))])

    y = conv_bn("image", 3, 24, 3, stride=2)
    y = op("MaxPool", [y], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    c, hw = 24, size // 4
    for out, repeats in stages:
        half = out // 2
        left = conv_bn(conv_bn(y, c, c, 3, stride=2, group=c, relu=False), c, half, 1)
        right = branch(y, c, half, 2)
        hw //= 2
        y = shuffle(op("Concat", [left, right], axis=1), out, hw)
        c = out
        for _ in range(repeats - 1):
            a, b = op("Split", [y, const("split", np.array([c // 2, c // 2], np.int64))], outputs=2, axis=1)
            y = shuffle(op("Concat", [a, branch(b, c // 2, c // 2, 1)], axis=1), c, hw)
    y = conv_bn(y, c, 128, 1)
    y = op("Flatten", [op("GlobalAveragePool", [y])], axis=1)
    w = rng.normal(0, np.sqrt(1.0 / 128), (128, 10)).astype(np.float32)
    logits = op("Gemm", [y, const("fc", w), const("fcb", np.zeros(10, np.float32))])
    graph = helper.make_graph(nodes, "shufflenet_like",
                              [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, size, size])],
                              [helper.make_tensor_value_info(logits, TensorProto.FLOAT, [1, 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)


def op_zoo(path):
    """Less common ops in one graph: strided and dilated convs, LeakyRelu, PRelu, LRN (CDP),
    3x3 average pooling, a channel concat whose second part is not atom-aligned (copied by SDP),
    per-channel constant Mul and scalar Add (SDP ALU), Sigmoid (SDP LUT), a nearest Resize in the
    middle (host, with transfers both ways), a MatMul with a constant matrix and a Softmax."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(5)
    nodes, inits = [], []

    def const(n, a):
        inits.append(numpy_helper.from_array(np.asarray(a, np.float32), n))
        return n

    def op(t, ins, out, **kw):
        nodes.append(helper.make_node(t, ins, [out], name=t + "_" + out, **kw))
        return out

    def conv(x, cin, cout, k, name, stride=1, dil=1):
        w = const(name + "_w", rng.normal(0, np.sqrt(2.0 / (cin * k * k)), (cout, cin, k, k)))
        b = const(name + "_b", rng.normal(0, 0.05, cout))
        pad = dil * (k // 2)
        return op("Conv", [x, w, b], name, kernel_shape=[k, k], strides=[stride] * 2, dilations=[dil] * 2, pads=[pad] * 4)

    y = op("LeakyRelu", [conv("image", 3, 32, 3, "c1", stride=2)], "lr", alpha=0.1)
    y = op("PRelu", [conv(y, 32, 32, 3, "c2", dil=2), const("slope", rng.uniform(0.05, 0.3, (32, 1, 1)))], "pr")
    y = op("LRN", [y], "lrn", size=5, alpha=1e-3, beta=0.75, bias=1.0)
    y = op("AveragePool", [y], "ap", kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1])
    a = op("Relu", [conv(y, 32, 24, 1, "ca")], "ra")
    b = op("Relu", [conv(y, 32, 8, 3, "cb")], "rb")
    y = op("Concat", [a, b], "cat", axis=1)
    y = op("Mul", [y, const("chscale", rng.uniform(0.5, 1.5, (1, 32, 1, 1)))], "ms")
    y = op("Add", [y, const("shift", np.array(0.25))], "as")
    y = op("Sigmoid", [conv(y, 32, 32, 1, "cs")], "sg")
    y = op("Resize", [y, "", const("scales", [1, 1, 2, 2])], "up", mode="nearest")
    y = op("MaxPool", [conv(y, 32, 32, 3, "cu")], "mp", kernel_shape=[2, 2], strides=[2, 2])
    y = op("Flatten", [op("GlobalAveragePool", [y], "gap")], "flat", axis=1)
    y = op("MatMul", [y, const("proj", rng.normal(0, 0.5, (32, 10)))], "mm")
    y = op("Softmax", [y], "probs", axis=-1)
    graph = helper.make_graph(nodes, "op_zoo", [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 32, 32])],
                              [helper.make_tensor_value_info(y, TensorProto.FLOAT, [1, 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)


def primer_sheet():
    """The primer's figures and the corrected sheet's, by MAC count, from the re-implementation
    in bench/ (independent of the simulator)."""
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench", "nvdla_primer_sheet.py")
    out = subprocess.run([sys.executable, script, "--json"], check=True, capture_output=True, text=True).stdout
    sheet = json.loads(out)
    if not sheet["reproduces_primer"]:
        raise SystemExit("FAIL: the sheet re-implementation no longer reproduces the primer")
    return {p["macs"]: p for p in sheet["points"]}


def resnet50_fps(exe, models, config, sets):
    with tempfile.TemporaryDirectory() as tmp:
        extra = ["--timing-only"] + [a for s in sets for a in ("--set", s)]
        stats = run(exe, os.path.join(models, "resnet50.onnx"), config, tmp, extra)
    util = [u["utilization"] for u in stats["units"] if u["name"] == "cmac"][0]
    return stats["clock_hz"] / stats["cycles"], util


def check_primer(exe, models, case):
    macs, ac, ak, cbuf, bw = PRIMER_POINTS[case]
    ref = primer_sheet()[macs]
    sets = [f"conv.atomic_c={ac}", f"conv.atomic_k={ak}", f"cbuf.kib={cbuf}", f"dram.bandwidth_gbps={bw}"]
    fps, util = resnet50_fps(exe, models, "nvdla_full", sets)
    print(f"ResNet-50 int8 on nvdla_full {' '.join(sets)}: {fps:.2f} frames/s, MAC utilization {util:.2f}; "
          f"primer {ref['published_fps']} ({fps / ref['published_fps'] - 1:+.0%}), corrected sheet "
          f"{ref['s5_fps']:.2f} ({fps / ref['s5_fps'] - 1:+.0%})")
    if abs(fps / ref["s5_fps"] - 1) > FPS_TOLERANCE:
        raise SystemExit(f"FAIL: not within {FPS_TOLERANCE:.0%} of the corrected sheet")
    if macs not in ARTEFACT_POINTS and abs(fps / ref["published_fps"] - 1) > FPS_TOLERANCE:
        raise SystemExit(f"FAIL: not within {FPS_TOLERANCE:.0%} of the primer")


def check_nvdla_small(exe, models):
    """The shipped nvdla_small preset (nv_small: 8 x 8 MACs, 128 KiB CBUF, 1 GB/s, SDP/PDP one
    output a cycle, an 8-byte memory interface with a 50-cycle latency buffer) against the
    64-MAC point of the corrected sheet, within 15%. (The primer's 7.3 rests on the sheet's
    weight inflation; see PRIMER_POINTS.)"""
    ref = primer_sheet()[64]
    fps, util = resnet50_fps(exe, models, "nvdla_small", [])
    print(f"ResNet-50 int8 on nvdla_small: {fps:.2f} frames/s, MAC utilization {util:.2f}; corrected sheet "
          f"{ref['s5_fps']:.2f} ({fps / ref['s5_fps'] - 1:+.0%}), primer {ref['published_fps']} "
          f"({fps / ref['published_fps'] - 1:+.0%})")
    if abs(fps / ref["s5_fps"] - 1) > NVDLA_SMALL_TOLERANCE:
        raise SystemExit(f"FAIL: not within {NVDLA_SMALL_TOLERANCE:.0%} of the corrected sheet")


def check_timing_only(exe, models):
    model = os.path.join(models, "resnet50.onnx")
    with tempfile.TemporaryDirectory() as tmp:
        a = run(exe, model, "nvdla_full", os.path.join(tmp, "a"))
        b = run(exe, model, "nvdla_full", os.path.join(tmp, "b"), ["--timing-only"])
    rows_a = [(o["name"], o["start_cycle"], o["end_cycle"], o["bytes"]) for o in a["ops"]]
    rows_b = [(o["name"], o["start_cycle"], o["end_cycle"], o["bytes"]) for o in b["ops"]]
    print(f"cycles with numerics {a['cycles']}, timing-only {b['cycles']}")
    if a["cycles"] != b["cycles"] or rows_a != rows_b:
        raise SystemExit("FAIL: --timing-only changed the timing")


def check_infeasible(exe, models):
    """ResNet-50 on nvdla_full with an 8 KiB CBUF: no conv's kernel group and input rows fit, so
    the design is infeasible: run exits 1 with one line, stats.json says feasible false with
    the problems and no latency, check fails, and a sweep row says fits false."""
    model = os.path.join(models, "resnet50.onnx")
    with tempfile.TemporaryDirectory() as tmp:
        p = subprocess.run([exe, "run", model, "-c", "nvdla_full", "--set", "cbuf.kib=8", "--timing-only", "-o", tmp],
                           capture_output=True, text=True)
        stats = json.load(open(os.path.join(tmp, "stats.json")))
    print(f"run: exit {p.returncode}: {p.stderr.strip()}")
    print(f"stats: feasible {stats['feasible']}, {len(stats['problems'])} problems, latency_s {stats['latency_s']}, "
          f"first: {stats['problems'][0]}")
    if p.returncode != 1 or len(p.stderr.strip().splitlines()) != 1 or "infeasible" not in p.stderr:
        raise SystemExit("FAIL: an infeasible run must exit 1 with one line")
    if stats["feasible"] or stats["latency_s"] is not None or stats["cycles"] is not None:
        raise SystemExit("FAIL: an infeasible design was timed")
    if not all(pr["kind"] == "capacity" and "CBUF" in pr["message"] for pr in stats["problems"]):
        raise SystemExit("FAIL: the problems are not CBUF capacity problems")
    if len(stats["ops"]) < 50 or any(op["start_cycle"] is not None for op in stats["ops"]):
        raise SystemExit("FAIL: an infeasible run still lists every op, untimed")
    c = subprocess.run([exe, "check", model, "-c", "nvdla_full", "--set", "cbuf.kib=8", "--timing-only"],
                       capture_output=True, text=True)
    if c.returncode != 1 or "NOT deployable" not in c.stdout:
        raise SystemExit(f"FAIL: check on an infeasible design exited {c.returncode}")
    from xpusim import _worker
    row = _worker.run_point({"model": model, "config": "nvdla_full", "overrides": ["cbuf.kib=8"], "shapes": {},
                             "seed": 0, "timing_only": True})
    print(f"sweep row: fits {row['fits']}, latency_s {row['latency_s']}, problem {row['problem'][:80]}...")
    if row["fits"] or row["latency_s"] is not None or "CBUF" not in (row["problem"] or ""):
        raise SystemExit("FAIL: a sweep row of an infeasible point must say fits false and why")


CASES = ["small_cnn", "mobilenet", "shufflenet", "op_zoo", "resnet50", *PRIMER_POINTS, "nvdla_small", "timing_only",
         "check_exit", "infeasible_cbuf"]


def run_case(case):
    exe, models = _harness.xpusim(), _harness.models()
    if case == "small_cnn":
        check_numerics(exe, os.path.join(models, "small_cnn.onnx"), ["--shape", "image=2x3x32x32"])
    elif case == "resnet50":
        check_numerics(exe, os.path.join(models, "resnet50.onnx"))
    elif case == "mobilenet":
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "mobilenet_like.onnx")
            mobilenet_like(path)
            check_numerics(exe, path)
    elif case == "shufflenet":
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "shufflenet_like.onnx")
            shufflenet_like(path)
            check_numerics(exe, path)
    elif case == "op_zoo":
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "op_zoo.onnx")
            op_zoo(path)
            check_numerics(exe, path)
    elif case.startswith("primer"):
        check_primer(exe, models, case)
    elif case == "nvdla_small":
        check_nvdla_small(exe, models)
    elif case == "timing_only":
        check_timing_only(exe, models)
    elif case == "infeasible_cbuf":
        check_infeasible(exe, models)
    elif case == "check_exit":
        # `check` fails (exit 1) when the int8 deviation exceeds --max-rel-err
        model = os.path.join(models, "small_cnn.onnx")
        ok = subprocess.run([exe, "check", model, "-c", "nvdla_full", "--shape", "image=1x3x32x32"],
                            capture_output=True, text=True)
        strict = subprocess.run([exe, "check", model, "-c", "nvdla_full", "--shape", "image=1x3x32x32",
                                 "--max-rel-err", "1e-9"], capture_output=True, text=True)
        print(ok.stdout.splitlines()[-1], "| strict:", strict.stdout.splitlines()[-1])
        if ok.returncode != 0 or strict.returncode != 1 or "host" not in ok.stdout:
            raise SystemExit(f"FAIL: check exited {ok.returncode} and {strict.returncode}")
    print("PASS")


if __name__ == "__main__":
    sys.exit(_harness.main({c: (lambda c=c: run_case(c)) for c in CASES}))
