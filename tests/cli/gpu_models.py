#!/usr/bin/env python3
"""GPU target end to end on models built like PyTorch exports (examples/models/generate.py) and
on one-op models built here.

    gpu_models.py CASE       (see _harness.py)

CASE:
  resnet50_fp16    h200, fp16: logits within rel-L2 2e-2 of the fp32 reference, same top-1 class, on
                   a ResNet-50 whose residual branches end in a scaled BatchNorm (generate.py's
                   residual_scale: its random statistics otherwise grow activations past fp16's
                   range, which a trained network's do not reach)
  resnet50_bf16    h200, bf16: the same
  resnet50_kernels pytorch_eager at batch 1 launches 170-280 kernels (ResNet-50 in PyTorch), every
                   `kernels` row names its node and carries grid, waves, tile, split-K, cycles,
                   FLOP/s, bytes/s and L2 hit rate; fused launches fewer kernels and is faster
  fp8_a100         fp8 on a100 (no fp8 tensor cores): check fails and names the op
  check_report     check on h200 lists each op's kernel template and says the model fits in HBM;
                   a model larger than HBM does not fit
  gemm_waves       a GEMM whose tiles are one more than the SMs runs in two waves
  gemm_roofline    a 4096^3 fp16 GEMM runs between 60% and 100% of the tensor-core peak, and its
                   energy over its time is a power near the 700 W the board draws at its limit
                   (between 50% and 110% of it)
  gemm_mamf        the tensor clock h100.yaml and a100.yaml derive from the published maximum
                   achievable matmul FLOPS ([mamf]: H100 SXM bf16 792.1 TF at 6144x17920x2816,
                   A100 SXM 267.9 TF at 6912x16384x2048) still gives that figure within 3%: a change
                   to the GEMM model's efficiency at those shapes means re-deriving the clock
  attention_sdpa   the graph an exporter makes of scaled_dot_product_attention with a mask (Q and K
                   each scaled by sqrt(scale), MatMul, Add mask, Softmax, Where(IsNaN(P), 0, P),
                   MatMul) is one flash-attention kernel on h200 in fp16, as PyTorch launches it,
                   moving the bytes derived by hand, with fp16 numbers near the fp32 reference,
                   also when Q, K and V arrive through the heads' Transposes (PyTorch's permuted
                   views); MatMul -> Div -> Softmax -> MatMul is one kernel too; fp32 runs PyTorch's
                   memory-efficient kernel (SIMT, 64 x 64 blocks)
  linear_bias      pytorch_eager runs MatMul(x, W) + Add(b), a Linear on 3-D input as exporters
                   write it, as one GEMM with a bias epilogue (at::linear's addmm); an Add of a
                   non-constant stays its own kernel
  gelu_erf         the erf GELU exporters write (Div by sqrt 2, Erf, Add 1, Mul 0.5, Mul x) is one
                   element-wise kernel reading x and writing y (F.gelu), with its numbers; the same
                   chain with another constant is five kernels
  sgemm_sustained  the FP32 SIMT clock h100.yaml derives from a published fp32 torch.matmul on an
                   H100 SXM ([tpt]: 51.81 TF at 8192^3) still gives that figure within 3%, and the
                   same source's 2048^3 and 4096^3 (49.58 and 51.88 TF), which the derivation did
                   not use, within 5%
"""
import os
import subprocess
import sys
import tempfile

import numpy as np

import _harness


run = _harness.run_stats


check = _harness.check


def one_op_model(path, op, inputs, output, initializers=(), **attrs):
    """A one-node ONNX model: inputs [(name, shape)], output (name, shape), fp32."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    g = helper.make_graph([helper.make_node(op, [n for n, _ in inputs] + [n for n, _ in initializers],
                                            [output[0]], **attrs)], op.lower(),
                          [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs],
                          [helper.make_tensor_value_info(output[0], TensorProto.FLOAT, output[1])],
                          [numpy_helper.from_array(a, n) for n, a in initializers])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, path)
    return path


def case_resnet50(xpusim, precision):
    sys.path.insert(0, os.path.join(_harness.path("XPUSIM_SOURCE"), "examples", "models"))
    import generate
    import onnx
    with tempfile.TemporaryDirectory() as d:
        model = os.path.join(d, "resnet50.onnx")
        onnx.save(generate.resnet50(residual_scale=0.2), model)
        run(xpusim, model, "reference", os.path.join(d, "ref"))
        name = os.listdir(os.path.join(d, "ref", "outputs"))[0]
        ref = np.load(os.path.join(d, "ref", "outputs", name)).astype(np.float64)
        stats = run(xpusim, model, "h200", os.path.join(d, "gpu"), "--set", f"precision={precision}")
        got = np.load(os.path.join(d, "gpu", "outputs", name)).astype(np.float64)
    rel = np.linalg.norm(got - ref) / np.linalg.norm(ref)
    print(f"h200 {precision}: rel_l2 {rel:.4g}, top-1 {got.argmax()} vs {ref.argmax()}, "
          f"{len(stats['kernels'])} kernels, {stats['latency_s'] * 1e3:.3f} ms, {stats['energy_j'] * 1e3:.2f} mJ")
    ok = check(rel <= 2e-2, f"rel-L2 {rel:.4g} <= 2e-2 against the fp32 reference")
    ok &= check(got.argmax() == ref.argmax(), "same top-1 class")
    ok &= check(abs((stats["numerics"][name.replace(".npy", "")]["rel_l2"] or float("nan")) - rel) <= 1e-3 * rel,
                "stats.json numerics agree with the files")
    return ok


def case_resnet50_kernels(xpusim, models):
    model = os.path.join(models, "resnet50.onnx")
    with tempfile.TemporaryDirectory() as d:
        eager = run(xpusim, model, "h200", os.path.join(d, "eager"), "--timing-only")
        fused = run(xpusim, model, "h200", os.path.join(d, "fused"), "--timing-only", "--set", "kernels.profile=fused")
    rows = eager["kernels"]
    nodes = {op["name"] for op in eager["ops"]}
    print(f"eager: {len(rows)} kernels, {eager['latency_s'] * 1e3:.3f} ms; "
          f"fused: {len(fused['kernels'])} kernels, {fused['latency_s'] * 1e3:.3f} ms")
    ok = check(170 <= len(rows) <= 280, f"{len(rows)} kernels in 170-280 at batch 1 (pytorch_eager)")
    keys = ["grid", "threads", "registers", "smem_bytes", "ctas_per_sm", "waves", "tile", "split_k", "start_cycle",
            "end_cycle", "flops_per_s", "bytes_per_s", "l2_hit_rate", "nodes", "name"]
    device = [r for r in rows if r.get("placement") != "host"]
    ok &= check(all(all(k in r for k in keys) for r in device), "every kernel row carries " + ", ".join(keys))
    ok &= check(all(r["nodes"] and set(r["nodes"]) <= nodes for r in rows), "every row names ONNX nodes of the run")
    ok &= check(all(0 <= r["l2_hit_rate"] <= 1 for r in device), "L2 hit rates are in [0, 1]")
    ok &= check(all(r["end_cycle"] >= r["start_cycle"] for r in rows), "kernels end after they start")
    starts = [r["start_cycle"] for r in rows]
    ok &= check(starts == sorted(starts), "kernels run in stream order")
    ok &= check(sum("_bn_" in r["name"] for r in rows) == 53, "eager runs each of the 53 BatchNorms as a kernel")
    ok &= check(not any("_bn_" in r["name"] for r in fused["kernels"]), "fused folds BatchNorm away")
    ok &= check(len(fused["kernels"]) < len(rows) and fused["latency_s"] < eager["latency_s"],
                "fused launches fewer kernels and runs faster")
    return ok


def case_fp8_a100(xpusim, models):
    model = os.path.join(models, "small_cnn.onnx")
    c = subprocess.run([xpusim, "check", model, "-c", "a100", "--set", "precision=fp8", "--timing-only",
                        "--shape", "image=1x3x32x32"], capture_output=True, text=True)
    print(c.stdout[-600:], c.stderr[-300:])
    ok = check(c.returncode == 1, f"check exits 1 (got {c.returncode})")
    ok &= check("fp8" in c.stdout and "Conv" in c.stdout, "the report names fp8 and the op it cannot run")
    return ok


def case_check_report(xpusim, models):
    model = os.path.join(models, "small_cnn.onnx")
    c = subprocess.run([xpusim, "check", model, "-c", "h200", "--shape", "image=1x3x32x32"],
                       capture_output=True, text=True)
    print(c.stdout[-1500:])
    ok = check(c.returncode == 0, f"check exits 0 on h200 (got {c.returncode})")
    ok &= check("gemm_tma_wgmma" in c.stdout or "conv_direct" in c.stdout, "the table names kernel templates")
    ok &= check("HBM:" in c.stdout and ": fits" in c.stdout, "the report says the model fits in HBM")
    # 4096 x 4096 fp32 weights (64 MiB, 32 MiB in fp16) on an HBM of 16 MiB: it does not fit.
    with tempfile.TemporaryDirectory() as d:
        w = np.zeros((4096, 4096), np.float32)
        big = one_op_model(os.path.join(d, "big.onnx"), "MatMul", [("x", [1, 4096])], ("y", [1, 4096]), [("w", w)])
        c = subprocess.run([xpusim, "check", big, "-c", "h200", "--set", "hbm.capacity_mib=16", "--timing-only"],
                           capture_output=True, text=True)
    print(c.stdout[-600:])
    ok &= check(c.returncode == 1 and "HBM" in c.stdout, "a model larger than HBM is not deployable, and why")
    return ok


def case_gemm_waves(xpusim):
    # h200 has 132 SMs. The lowering picks the tile, so the expected figures come from the row's
    # tile: grid = ceil(M / tile m) x ceil(N / tile n) x split-K, waves = ceil(grid / (132 x CTAs
    # per SM)); N = 128 x 133 makes a grid just past one CTA per SM for 128-wide tiles.
    with tempfile.TemporaryDirectory() as d:
        w = np.random.default_rng(0).standard_normal((256, 128 * 133)).astype(np.float32)
        model = one_op_model(os.path.join(d, "g.onnx"), "MatMul", [("x", [256, 256])], ("y", [256, 128 * 133]),
                             [("w", w)])
        s = run(xpusim, model, "h200", os.path.join(d, "out"), "--timing-only")
    row = next(r for r in s["kernels"] if r["name"].startswith("gemm"))
    # Occupancy from the H200's published per-SM limits (deviceQuery): 2048 threads, 64 warps,
    # 32 CTAs, 65536 registers allocated per warp in units of 256, 233472 B of shared memory with
    # 1 KiB reserved per CTA.
    warps = -(-row["threads"] // 32)
    regs_per_cta = -(-row["registers"] * 32 // 256) * 256 * warps
    occ = min(32, 2048 // row["threads"], 64 // warps, 65536 // regs_per_cta, 233472 // (row["smem_bytes"] + 1024))
    expect = -(-row["grid"] // (132 * occ))
    print(f"grid {row['grid']}, tile {row['tile']}, split-K {row['split_k']}, {row['threads']} threads x "
          f"{row['registers']} registers, {row['smem_bytes']} B shared: {occ} per SM, waves {row['waves']}")
    ok = check(row["ctas_per_sm"] == occ, f"CTAs per SM = {occ} from the H200's limits")
    ok &= check(row["waves"] == expect, f"waves = ceil(grid / (132 x {occ})) = {expect}")
    ok &= check(row["grid"] == -(-256 // row["tile"][0]) * -(-(128 * 133) // row["tile"][1]) * row["split_k"],
                "grid = tiles of M x tiles of N x split-K")
    return ok


def case_gemm_roofline(xpusim):
    # 4096^3 fp16: 2 x 4096^3 = 137.4 GFLOP. Peak at the tensor clock the preset gives
    # (132 SMs x 2048 FMA x 2 x 1.465 GHz = 792 TFLOP/s): at least 173 us. 60% of peak: 289 us.
    with tempfile.TemporaryDirectory() as d:
        w = np.zeros((4096, 4096), np.float32)
        model = one_op_model(os.path.join(d, "g.onnx"), "MatMul", [("x", [4096, 4096])], ("y", [4096, 4096]),
                             [("w", w)])
        s = run(xpusim, model, "h200", os.path.join(d, "out"), "--timing-only")
    row = next(r for r in s["kernels"] if r["name"].startswith("gemm"))
    t = (row["end_cycle"] - row["start_cycle"]) / s["clock_hz"]
    peak = 132 * 2048 * 2 * 1.465e9
    watts = s["energy_j"] / s["latency_s"]
    print(f"4096^3 fp16: kernel {t * 1e6:.1f} us = {2 * 4096 ** 3 / t / peak:.2f} of peak, "
          f"{s['energy_j'] * 1e3:.1f} mJ over {s['latency_s'] * 1e6:.1f} us = {watts:.0f} W")
    ok = check(2 * 4096 ** 3 / peak <= t <= 2 * 4096 ** 3 / (0.6 * peak), "between 60% and 100% of peak")
    ok &= check(350 <= watts <= 770, f"average power {watts:.0f} W within 50-110% of the 700 W limit")
    return ok


def case_gemm_mamf(xpusim):
    ok = True
    with tempfile.TemporaryDirectory() as d:
        for preset, (m, n, k), published in (("h100", (6144, 17920, 2816), 792.1e12),
                                             ("a100", (6912, 16384, 2048), 267.9e12)):
            model = one_op_model(os.path.join(d, f"{preset}.onnx"), "MatMul", [("a", [m, k]), ("b", [k, n])],
                                 ("y", [m, n]))
            s = run(xpusim, model, preset, os.path.join(d, preset), "--timing-only", "--set", "precision=bf16",
                    "--set", "l2.initial=warm")
            row = next(r for r in s["kernels"] if "gemm" in r["name"])
            tf = 2 * m * n * k / row["latency_s"]
            print(f"{preset} bf16 {m}x{n}x{k}: {tf / 1e12:.1f} TF/s (published {published / 1e12:.1f})")
            ok &= check(abs(tf / published - 1) <= 0.03, f"{preset} within 3% of the published MAMF")
    return ok


def sdpa_model(path, heads, seq, dim, masked, permuted=False):
    """Q [1, heads, seq, dim], K^T [1, heads, dim, seq], V -> attention output; masked: the
    exported scaled_dot_product_attention with a causal additive mask, else MatMul / sqrt(dim);
    permuted: Q, K and V come in as [1, seq, heads, dim] through the heads' Transposes."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    f = TensorProto.FLOAT
    if permuted:
        ins = [helper.make_tensor_value_info(n, f, [1, seq, heads, dim]) for n in ("q_in", "k_in", "v_in")]
        perms = [helper.make_node("Transpose", ["q_in"], ["q"], perm=[0, 2, 1, 3]),
                 helper.make_node("Transpose", ["k_in"], ["kt"], perm=[0, 2, 3, 1]),
                 helper.make_node("Transpose", ["v_in"], ["v"], perm=[0, 2, 1, 3])]
    else:
        ins = [helper.make_tensor_value_info("q", f, [1, heads, seq, dim]),
               helper.make_tensor_value_info("kt", f, [1, heads, dim, seq]),
               helper.make_tensor_value_info("v", f, [1, heads, seq, dim])]
        perms = []
    if masked:
        half = np.array(dim ** -0.25, np.float32)  # sqrt(1 / sqrt(dim)) on each of Q and K
        mask = np.triu(np.full((seq, seq), -1e4, np.float32), 1)[None, None]
        inits = [numpy_helper.from_array(half, "c"), numpy_helper.from_array(mask, "mask"),
                 numpy_helper.from_array(np.array(0, np.float32), "zero")]
        nodes = [helper.make_node("Mul", ["q", "c"], ["qs"]), helper.make_node("Mul", ["kt", "c"], ["ks"]),
                 helper.make_node("MatMul", ["qs", "ks"], ["s"]), helper.make_node("Add", ["s", "mask"], ["sm"]),
                 helper.make_node("Softmax", ["sm"], ["p"], axis=-1), helper.make_node("IsNaN", ["p"], ["nan"]),
                 helper.make_node("Where", ["nan", "zero", "p"], ["pw"]), helper.make_node("MatMul", ["pw", "v"], ["o"])]
    else:
        inits = [numpy_helper.from_array(np.array(dim ** 0.5, np.float32), "d")]
        nodes = [helper.make_node("MatMul", ["q", "kt"], ["s"]), helper.make_node("Div", ["s", "d"], ["sd"]),
                 helper.make_node("Softmax", ["sd"], ["p"], axis=-1), helper.make_node("MatMul", ["p", "v"], ["o"])]
    nodes = perms + nodes
    g = helper.make_graph(nodes, "sdpa", ins, [helper.make_tensor_value_info("o", f, [1, heads, seq, dim])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, path)
    return path, len(nodes)


def case_attention_sdpa(xpusim):
    # 4 heads, 256 queries and keys, 64 dims, fp16 (2 B): 128-query CTAs, 128-key blocks, so
    # grid = 4 x 2 = 8 CTAs of 2 key blocks each. Bytes the kernel moves:
    #   Q once                                        4 x 256 x 64 x 2     = 131072
    #   K and V once per query block (2)              2 x 2 x 131072       = 524288
    #   the mask's 128 x 128 block per CTA and block  8 x 2 x 128 x 128 x 2 = 524288
    #   O once                                                               131072
    # = 1310720 B (786432 without the mask); FLOPs 2 x 4 x 256 x 256 x (64 + 64) = 67108864.
    ok = True
    with tempfile.TemporaryDirectory() as d:
        for masked, permuted, expect_bytes in ((True, False, 1310720), (False, False, 786432), (True, True, 1310720)):
            path, nodes = sdpa_model(os.path.join(d, f"a{masked}{permuted}.onnx"), 4, 256, 64, masked, permuted)
            s = run(xpusim, path, "h200", os.path.join(d, f"o{masked}{permuted}"), "--set", "precision=fp16")
            rows = s["kernels"]
            what = ("the exported SDPA" if masked else "MatMul -> Div -> Softmax -> MatMul") + \
                (" on permuted Q, K, V" if permuted else "")
            print(what, [(r["name"], len(r["nodes"])) for r in rows], s["numerics"])
            ok &= check(len(rows) == 1 and rows[0]["name"] == "flash_attention_fwd_sm90" and len(rows[0]["nodes"]) == nodes,
                        f"{what}: one flash-attention kernel serves all {nodes} nodes")
            r = rows[0]
            ok &= check(abs(r["bytes_per_s"] * r["latency_s"] - expect_bytes) < 1, f"it moves {expect_bytes} B")
            ok &= check(abs(r["flops_per_s"] * r["latency_s"] - 67108864) < 1, "and computes 67108864 FLOPs")
            ok &= check(s["numerics"]["o"]["rel_l2"] < 1e-2, "fp16 output within rel-L2 1e-2 of fp32")
        # fp32: PyTorch's memory-efficient kernel, 64-query CTAs and 64-key blocks, fp32 (4 B):
        # grid 4 x 4 = 16 CTAs of 4 blocks; Q 262144 + K and V once per query block, 4 x 262144
        # each, + the mask's 64 x 64 block per CTA and block, 16 x 4 x 16384 = 1048576, + O 262144
        # = 3670016 B.
        s = run(xpusim, path, "h200", os.path.join(d, "fp32"), "--set", "precision=fp32")
        rows = s["kernels"]
        print([(r["name"], r["grid"]) for r in rows], s["numerics"])
        ok &= check(len(rows) == 1 and rows[0]["name"] == "fmha_cutlassF_f32_aligned_64x64_rf_sm80" and rows[0]["grid"] == 16,
                    "fp32 runs one memory-efficient attention kernel of 16 CTAs")
        ok &= check(abs(rows[0]["bytes_per_s"] * rows[0]["latency_s"] - 3670016) < 1, "it moves 3670016 B")
        ok &= check(s["numerics"]["o"]["rel_l2"] < 1e-5, "in fp32, as the reference")
    return ok


def case_linear_bias(xpusim):
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    ok = True
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as d:
        for residual in (False, True):
            w = numpy_helper.from_array(rng.standard_normal((256, 1024)).astype(np.float32) * 0.05, "w")
            b = numpy_helper.from_array(rng.standard_normal(1024).astype(np.float32), "b")
            ins = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 128, 256])]
            if residual:
                ins.append(helper.make_tensor_value_info("r", TensorProto.FLOAT, [1, 128, 1024]))
            nodes = [helper.make_node("MatMul", ["x", "w"], ["xw"]), helper.make_node("Add", ["xw", "r" if residual else "b"], ["y"])]
            g = helper.make_graph(nodes, "linear", ins, [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 128, 1024])],
                                  [w, b])
            m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
            m.ir_version = 8
            path = os.path.join(d, f"l{residual}.onnx")
            onnx.save(m, path)
            s = run(xpusim, path, "h200", os.path.join(d, f"o{residual}"))
            rows = s["kernels"]
            print([(r["name"], r["nodes"]) for r in rows], s["numerics"])
            if residual:
                ok &= check(len(rows) == 2, "a residual Add stays its own kernel in pytorch_eager")
            else:
                ok &= check(len(rows) == 1 and rows[0]["nodes"] == ["MatMul_0", "Add_1"] and "gemm" in rows[0]["name"],
                            "MatMul + Add(bias) is one GEMM with a bias epilogue")
                ok &= check(s["numerics"]["y"]["rel_l2"] < 1e-2, "its fp16 numbers are near fp32")
    return ok


def case_gelu_erf(xpusim):
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    ok = True
    n = 1 << 20
    with tempfile.TemporaryDirectory() as d:
        for root2, kernels in ((2 ** 0.5, 1), (2.0, 5)):
            inits = [numpy_helper.from_array(np.array(v, np.float32), k) for k, v in
                     (("c", root2), ("one", 1.0), ("half", 0.5))]
            nodes = [helper.make_node("Div", ["x", "c"], ["a"]), helper.make_node("Erf", ["a"], ["e"]),
                     helper.make_node("Add", ["e", "one"], ["p"]), helper.make_node("Mul", ["half", "p"], ["h"]),
                     helper.make_node("Mul", ["x", "h"], ["y"])]
            g = helper.make_graph(nodes, "gelu", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [n])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, [n])], inits)
            m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
            m.ir_version = 8
            path = os.path.join(d, f"g{kernels}.onnx")
            onnx.save(m, path)
            s = run(xpusim, path, "h200", os.path.join(d, f"o{kernels}"))
            rows = s["kernels"]
            print([(r["name"], len(r["nodes"])) for r in rows], s["numerics"])
            ok &= check(len(rows) == kernels, f"constant {root2:.4f}: {kernels} element-wise kernel(s)")
            if kernels == 1:
                r = rows[0]
                # x read once and y written once, 2^20 fp16 elements each: 2 x 2^21 B.
                ok &= check(abs(r["bytes_per_s"] * r["latency_s"] - 2 * 2 * n) < 1, "it reads x and writes y once: 4 MiB")
                ok &= check(s["numerics"]["y"]["rel_l2"] < 1e-2, "its fp16 numbers are near fp32")
    return ok


def case_sgemm_sustained(xpusim):
    ok = True
    with tempfile.TemporaryDirectory() as d:
        for n, published, tolerance in ((8192, 51.81e12, 0.03), (4096, 51.88e12, 0.05), (2048, 49.58e12, 0.05)):
            model = one_op_model(os.path.join(d, f"sq{n}.onnx"), "MatMul", [("a", [n, n]), ("b", [n, n])],
                                 ("y", [n, n]))
            s = run(xpusim, model, "h100", os.path.join(d, str(n)), "--timing-only", "--set", "precision=fp32",
                    "--set", "l2.initial=warm")
            tf = 2 * n ** 3 / s["latency_s"]
            print(f"h100 fp32 {n}^3: {tf / 1e12:.2f} TF/s (published {published / 1e12:.2f})")
            ok &= check(abs(tf / published - 1) <= tolerance, f"{n}^3 within {tolerance:.0%} of the published figure")
    return ok


if __name__ == "__main__":
    x, m = os.environ.get("XPUSIM"), os.environ.get("XPUSIM_MODELS")
    sys.exit(_harness.main({"resnet50_fp16": lambda: case_resnet50(x, "fp16"),
                            "resnet50_bf16": lambda: case_resnet50(x, "bf16"),
                            "resnet50_kernels": lambda: case_resnet50_kernels(x, m),
                            "fp8_a100": lambda: case_fp8_a100(x, m),
                            "check_report": lambda: case_check_report(x, m),
                            "gemm_waves": lambda: case_gemm_waves(x),
                            "gemm_roofline": lambda: case_gemm_roofline(x),
                            "gemm_mamf": lambda: case_gemm_mamf(x),
                            "attention_sdpa": lambda: case_attention_sdpa(x),
                            "linear_bias": lambda: case_linear_bias(x),
                            "gelu_erf": lambda: case_gelu_erf(x),
                            "sgemm_sustained": lambda: case_sgemm_sustained(x)}))
