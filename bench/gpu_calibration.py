#!/usr/bin/env python3
"""The GPU model against kernels measured on a real GPU: per-kernel latency, timing-only, each
kernel a one-op ONNX model, `l2.initial: warm`, latency_s counting the launch gap as a CUDA-graph
replay does. Prints each point, the absolute percentage error, and the MAPE per dtype, beside a
roofline with the measured ceilings (max(FLOPs / measured GEMM peak of the dtype, bytes /
measured copy bandwidth)) as the baseline to beat.

    /usr/bin/python3 bench/gpu_calibration.py CALIBRATION.json [--preset h200] [--build build] [--set KEY=VALUE]...

CALIBRATION.json is the format of ../shared/reference/gpu_h200_calibration.json: `gemm` rows of
{M, N, K, dtype, median_us} (torch.matmul of A[M,K] x B[K,N], fp32 with TF32 off) and
`ceilings`. The models are written to a temporary folder.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper


def matmul_model(path, M, N, K):
    g = helper.make_graph([helper.make_node("MatMul", ["a", "b"], ["y"])], "matmul",
                          [helper.make_tensor_value_info("a", TensorProto.FLOAT, [M, K]),
                           helper.make_tensor_value_info("b", TensorProto.FLOAT, [K, N])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [M, N])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, path)


def simulate(exe, model, preset, precision, overrides=()):
    with tempfile.TemporaryDirectory() as d:
        cmd = [exe, "run", model, "-c", preset, "--timing-only", "-o", d, "--set", f"precision={precision}",
               "--set", "l2.initial=warm"]
        for o in overrides:
            cmd += ["--set", o]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(d, "stats.json")) as f:
            return json.load(f)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("calibration")
    ap.add_argument("--preset", default="h200")
    ap.add_argument("--build", default="build")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a preset override passed to every run, as `xpusim run --set`")
    args = ap.parse_args()
    cal = json.load(open(args.calibration))
    ceil = cal["ceilings"]
    peak = {"fp16": ceil["gemm8192_fp16_TFLOPs"] * 1e12, "bf16": ceil["gemm8192_bf16_TFLOPs"] * 1e12,
            "fp32": ceil["gemm8192_fp32_simt_TFLOPs"] * 1e12}
    copy_bw = ceil["d2d_copy_GBps_rw"] * 1e9
    exe = os.path.join(args.build, "xpusim")
    errors, roof_errors = {}, {}
    print(f"{'M':>6} {'N':>6} {'K':>6} {'dtype':>5} {'measured us':>12} {'model us':>10} {'err':>7} "
          f"{'roofline us':>12} {'err':>7}  kernel")
    with tempfile.TemporaryDirectory() as d:
        for g in cal["gemm"]:
            M, N, K, dt = g["M"], g["N"], g["K"], g["dtype"]
            path = os.path.join(d, f"mm_{M}_{N}_{K}.onnx")
            matmul_model(path, M, N, K)
            s = simulate(exe, path, args.preset, dt, args.set)
            got = s["latency_s"] * 1e6
            eb = 4 if dt == "fp32" else 2
            roof = max(2 * M * N * K / peak[dt], (M * K + K * N + M * N) * eb / copy_bw) * 1e6
            err = abs(got / g["median_us"] - 1)
            rerr = abs(roof / g["median_us"] - 1)
            errors.setdefault(dt, []).append(err)
            roof_errors.setdefault(dt, []).append(rerr)
            k = s["kernels"][0]
            print(f"{M:>6} {N:>6} {K:>6} {dt:>5} {g['median_us']:12.2f} {got:10.2f} {err:7.1%} {roof:12.2f} {rerr:7.1%}  "
                  f"{k['name']} tile {'x'.join(map(str, k.get('tile', [])))} split {k.get('split_k')} grid {k.get('grid')}")
    print("MAPE per dtype (model / measured-ceiling roofline):")
    for dt in errors:
        print(f"  {dt}: {np.mean(errors[dt]):.1%} / {np.mean(roof_errors[dt]):.1%} over {len(errors[dt])} points")


if __name__ == "__main__":
    sys.exit(main())
