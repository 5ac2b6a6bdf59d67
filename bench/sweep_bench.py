#!/usr/bin/env python3
"""Sweep throughput: timing-only ResNet-50 points per second on a local process pool and on a
2-worker Dask LocalCluster (worker processes on loopback), on one preset.

    PYTHONPATH=build/python /usr/bin/python3 bench/sweep_bench.py [--points 8] [--preset NAME]

The preset defaults to tpu_v1 when this build has it, else reference (which has no timing
model, so its "timing-only" points run the fp32 executor in full). Points differ in clock_mhz
when the preset has it, else in seed. Wall time includes starting the workers, as a user pays it.
"""
import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
try:
    import xpusim
except ImportError:
    sys.path.insert(0, os.path.join(ROOT, "build", "python"))
    import xpusim


def grid_for(preset, n):
    values = xpusim.config(preset).values
    if isinstance(values.get("clock_mhz"), float):
        return {"clock_mhz": [500.0 + 500.0 * i / max(1, n - 1) for i in range(n)]}
    return {"seed": list(range(n))}


def measure(label, workers, run):
    start = time.perf_counter()
    df = run()
    wall = time.perf_counter() - start
    ok = df[df["error"].isna()]
    return {"executor": label, "workers": workers, "points": len(df),
            "failed": int(df["error"].notna().sum()), "wall_s": wall,
            "points_per_s": len(df) / wall,
            "mean_point_s": float(ok["wall_s"].mean()) if len(ok) else float("nan"),
            "first_error": df["error"].dropna().iloc[0] if len(ok) < len(df) else ""}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--points", type=int, default=8)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--preset", default="tpu_v1" if "tpu_v1" in xpusim.presets() else "reference")
    p.add_argument("--model", help="an .onnx file (default: the bundled ResNet-50)")
    args = p.parse_args()

    model = args.model or xpusim.example_model("resnet50")
    grid = grid_for(args.preset, args.points)
    print("model {}, preset {}, {} points over {}, {} workers, {} cores".format(
        os.path.basename(model), args.preset, args.points, ", ".join(grid), args.workers,
        os.cpu_count()))

    rows = [measure("process pool", args.workers, lambda: xpusim.sweep(
        model, args.preset, grid, workers=args.workers, progress=False))]

    from distributed import Client, LocalCluster

    def on_dask():
        with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                          host="127.0.0.1", dashboard_address=None) as cluster, \
                Client(cluster) as client:
            return xpusim.sweep(model, args.preset, grid, executor=client, progress=False)

    rows.append(measure("dask LocalCluster", args.workers, on_dask))

    print("{:<18} {:>7} {:>6} {:>6} {:>9} {:>9} {:>13}".format(
        "executor", "workers", "points", "failed", "wall s", "points/s", "s per point"))
    for r in rows:
        print("{executor:<18} {workers:>7} {points:>6} {failed:>6} {wall_s:>9.2f} "
              "{points_per_s:>9.2f} {mean_point_s:>13.3f}".format(**r))
    for r in rows:
        if r["first_error"]:
            print("{}: first error: {}".format(r["executor"], r["first_error"]))


if __name__ == "__main__":
    main()
