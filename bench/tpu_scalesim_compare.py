#!/usr/bin/env python3
"""Per-layer MXU compute cycles of a TPU run next to SCALE-Sim's weight-stationary closed form.

    tpu_scalesim_compare.py STATS_JSON

SCALE-Sim v2 (no memory stalls): a GEMM M x K x N on an R x C array takes ceil(K/R) * ceil(N/C)
folds of 2R + C + M - 2 cycles each, folds never overlap, partial folds cost the full array.
Per batch element and group; xpusim packs small groups (depthwise) block-diagonally, so for
those the closed form is given both per group (SCALE-Sim's mapping) and per packed fold.
"""
import json
import math
import sys


def main():
    s = json.load(open(sys.argv[1]))
    R = int(s["config_values"]["mxu.rows"])
    C = int(s["config_values"]["mxu.cols"])
    count = int(s["config_values"]["mxu.count"])
    print(f"{s['config']}: {count} x {R}x{C} MXU; cycles are MXU-occupied cycles summed over MXUs")
    print(f"{'layer':24} {'M':>6} {'K':>6} {'N':>6} {'folds':>6} {'scale-sim':>10} {'xpusim':>10} {'ratio':>6}")
    tot_s = tot_x = 0
    for o in s["ops"]:
        g = o.get("gemm")
        if not g:
            continue
        M, K, N, groups, batch = g["M"], g["K"], g["N"], g["groups"], g["batch"]
        # SCALE-Sim's accumulator-free model streams all M rows per fold.
        folds = math.ceil(K / R) * math.ceil(N / C) * groups * batch
        closed = folds * (2 * R + C + M - 2)
        tot_s += closed
        tot_x += o["compute_cycles"]
        print(f"{o['name'][:24]:24} {M:6} {K:6} {N:6} {folds:6} {closed:10} {o['compute_cycles']:10} "
              f"{o['compute_cycles'] / closed:6.2f}")
    print(f"{'total':24} {'':6} {'':6} {'':6} {'':6} {tot_s:10} {tot_x:10} {tot_x / tot_s:6.2f}")


if __name__ == "__main__":
    main()
