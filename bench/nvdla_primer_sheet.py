#!/usr/bin/env python3
"""Re-implementation of NVDLA's ResNet-50 performance spreadsheet, with its conventions as switches.

The NVDLA primer's frames/s table for ResNet-50 (2048 MACs -> 269 fps ... 32 MACs -> 3.6 fps) is not
a measurement. It comes from nvdla/hw perf/NVDLA_OpenSource_Performance.xlsx, sheet "ResNet50",
columns X..AS. For each of the sheet's 54 layers it estimates the DRAM traffic under a simple
CBUF-reuse rule, turns that traffic into DRAM cycles at the configured bandwidth, takes the
larger of DRAM cycles and MAC cycles, and sums over the layers. It has no fixed per-layer cost
and no overlap between layers. batch = 1, int8 data and weights, no weight compression, 1 GHz.

frame_cycles() below restates those cell formulas. An earlier port of the workbook matched its
cached cell values layer by layer. This script checks the cached frame total (cell AS65) and the
primer's seven figures. The sheet has four conventions, each behind a switch here:

  fold_stride_into_weights  The sheet sizes weights as CEIL(C*sh*sw,16)*ceil(R/sh)*ceil(S/sw)*K,
      i.e. it folds the stride into the channels (space-to-depth). For a 1x1 stride-2 conv that
      is 4C channels, three quarters of them zero, so those weights come out 4x too large. NVDLA
      does not do this. Its direct-convolution weight format stores each kernel as R x S x C,
      independent of the stride (nvdla.org hw/format.html, "Basic Weight for Direct
      Convolution"). The stride is native in hardware: CDMA D_CONV_STRIDE and CSC
      D_CONV_STRIDE_EXT registers. The sheet's own MAC formula already uses the exact R*S/(sh*sw).
  winograd  The sheet assumes Winograd for every 3x3: MAC cycles / 2.25, weights x 16/9.
      nv_small is built with NVDLA_WINOGRAD_ENABLE = NO, so at the small design points the
      sheet is optimistic here. (The sheet's test is just R == S == 3, so on v1.5 it also
      applies to the strided 3x3.)
  k_round   MAC cycles round K up to 128. The real granularity is the design's atomic_k.
  kb_bytes  Sizes are in units of 1024 B, but DRAM cycles = KB / (GB/s) * MHz, which counts a KB
      as 1000 B. Passing 1024 makes the units consistent.

The network is also a choice. The sheet uses Caffe ResNet-50 v1, with the stride on the 1x1
branch2a of res3a/res4a/res5a. "v1.5" (torchvision, and our ONNX export) moves that stride onto
the 3x3 branch2b. The layer table keeps the sheet's own quirks, e.g. row 13 (res2a_branch2a) has
C = 256 where the real layer has 64. Only 'S5' (all corrections) is a physically consistent
version of the primer's method.

Usage (standard library only):
  python3 bench/nvdla_primer_sheet.py          # table: primer, sheet, each correction, S5
  python3 bench/nvdla_primer_sheet.py --json   # {"points": [{macs, ..., sheet_fps, s5_fps}]}
It exits non-zero if the as-published sheet does not reproduce the primer's figures.
"""
import json
import math
import sys
from collections import namedtuple

# One row per sheet row 11..64 of nvdla/hw perf/NVDLA_OpenSource_Performance.xlsx, sheet
# "ResNet50", columns C..T. Names are cut at the first " + " (the rest lists the fused
# bn/scale/relu). kind: D. C,H,W,K,R,S: E..J. pad: K (1 = "same" padding). sh,sw: conv stride
# L,M. pool: P, followed by the pool window ph,pw (Q,R) and the pool stride psh,psw (S,T).
# Sheet quirks are kept, not fixed: row 13 has C=256 (really 64), rows 12/13/64 have pad=0.
Layer = namedtuple("Layer", "name kind C H W K R S pad sh sw pool ph pw psh psw")
CV, EW, FC = "conv", "conv + elwise", "fc"
_T = [("Conv1", CV, 3, 224, 224, 64, 7, 7, 1, 2, 2, 1, 3, 3, 2, 2),
      ("Res2a_branch1", CV, 64, 56, 56, 256, 1, 1, 0, 1, 1),
      ("Res2a_branch2a", CV, 256, 56, 56, 64, 1, 1, 0, 1, 1),   # sheet quirk: C = 256
      ("Res2a_branch2b", CV, 64, 56, 56, 64, 3, 3, 1, 1, 1),
      ("Res2a_branch2c", EW, 64, 56, 56, 256, 1, 1, 1, 1, 1)]
for b in "bc":
    _T += [(f"Res2{b}_branch2a", CV, 256, 56, 56, 64, 1, 1, 1, 1, 1),
           (f"Res2{b}_branch2b", CV, 64, 56, 56, 64, 3, 3, 1, 1, 1),
           (f"Res2{b}_branch2c", EW, 64, 56, 56, 256, 1, 1, 1, 1, 1)]
# Stages 3..5: (stage, blocks, C_in of the stage, bottleneck width, input H=W, output channels)
for st, blocks, cin, mid, hw, cout in ((3, "abcd", 256, 128, 56, 512),
                                       (4, "abcdef", 512, 256, 28, 1024),
                                       (5, "abc", 1024, 512, 14, 2048)):
    h2 = hw // 2
    _T += [(f"Res{st}a_branch1", CV, cin, hw, hw, cout, 1, 1, 1, 2, 2),
           (f"Res{st}a_branch2a", CV, cin, hw, hw, mid, 1, 1, 1, 2, 2),   # v1: stride on the 1x1
           (f"Res{st}a_branch2b", CV, mid, h2, h2, mid, 3, 3, 1, 1, 1),
           (f"Res{st}a_branch2c", EW, mid, h2, h2, cout, 1, 1, 1, 1, 1)]
    for b in blocks[1:]:
        _T += [(f"Res{st}{b}_branch2a", CV, cout, h2, h2, mid, 1, 1, 1, 1, 1),
               (f"Res{st}{b}_branch2b", CV, mid, h2, h2, mid, 3, 3, 1, 1, 1),
               (f"Res{st}{b}_branch2c", EW, mid, h2, h2, cout, 1, 1, 1, 1, 1)]
_T[-1] = _T[-1] + (1, 7, 7, 7, 7)            # row 63: res5c_branch2c + 7x7 average pool
_T.append(("fc1000", FC, 2048, 1, 1, 1000, 1, 1, 0, 1, 1))
SHEET_V1 = [Layer(*(t + (0, 0, 0, 0, 0))[:16]) for t in _T]
assert len(SHEET_V1) == 54


def to_v15(layers):
    """ResNet-50 v1.5: in res3a/res4a/res5a the stride moves from branch2a (1x1) to branch2b (3x3)."""
    out = []
    for l in layers:
        if l.name[3:] in ("3a_branch2a", "4a_branch2a", "5a_branch2a"):
            l = l._replace(sh=1, sw=1)
        elif l.name[3:] in ("3a_branch2b", "4a_branch2b", "5a_branch2b"):
            l = l._replace(H=2 * l.H, W=2 * l.W, sh=2, sw=2)
        out.append(l)
    return out


def ceil(x, step=1):
    """Excel CEILING(x, step) for x >= 0, tolerant of float noise."""
    return math.ceil(x / step - 1e-12) * step


def frame_cycles(layers, macs, cbuf_kb, dram_gbps, clock_mhz=1000, fold_stride_into_weights=True,
                 winograd=True, k_round=128, kb_bytes=1000):
    """Sum over layers of max(DRAM cycles, MAC cycles), as in sheet columns X..AS. Sizes in KB (1024 B)."""
    total = 0
    for i, l in enumerate(layers):
        # Output rows/cols after the conv (cols N,O) and after the optional pooling (U,V).
        p = ceil(l.H / l.sh) if l.pad else ceil((l.H - l.R) / l.sh) + 1
        q = ceil(l.W / l.sw) if l.pad else ceil((l.W - l.S) / l.sw) + 1
        if l.pool:
            p, q = ceil((p - l.ph) / l.psh) + 1, ceil((q - l.pw) / l.psw) + 1
        # The sheet lays the input out space-to-depth: CEIL(C*sh*sw,16) channels of H/sh x W/sw.
        cf, hf, wf = ceil(l.C * l.sh * l.sw, 16), ceil(l.H / l.sh), ceil(l.W / l.sw)
        inp = cf * hf * wf / 1024                                    # X: input
        min_in = cf * min(l.R + (i == 0), hf) * wf / 1024            # Y: R input rows (R+1 for conv1)
        out = p * q * ceil(l.K, 16) / 1024                           # Z: output, K padded to 16
        if fold_stride_into_weights:                                 # the sheet: stride in the channels
            wc, wr, ws = cf, ceil(l.R / l.sh), ceil(l.S / l.sw)
        else:                                                        # NVDLA's R x S x C kernels
            wc, wr, ws = ceil(l.C, 16), l.R, l.S
        wino = winograd and l.R == 3 and l.S == 3
        min_w = wc * wr * ws * 32 / 1024                             # AA: 32 kernels (nv_full atomic_k)
        if min_w >= cbuf_kb:
            min_w = cbuf_kb / 2
        wts = wc * wr * ws * l.K / 1024 * (16 / 9 if wino else 1)    # AB: weights (x16/9 for Winograd)
        # AN: which operand is smaller (conv1 compares the minimum sizes Y and AA instead).
        weights_smaller = not (min_in < min_w) if i == 0 else not (inp < wts)
        # AO, traffic: the CBUF holds the minimum of the larger operand plus as much of the smaller
        # one as fits. If the smaller one doesn't fit, it goes in passes and each pass re-reads the
        # whole larger operand: passes*larger + smaller + output.
        if weights_smaller:
            passes = ceil(wts / (cbuf_kb - min_in)) if wts > cbuf_kb - min_in else 1
            traffic = passes * inp + wts + out
        else:
            passes = ceil(inp / (cbuf_kb - min_w)) if inp > cbuf_kb - min_w else 1
            traffic = passes * wts + inp + out
        if l.kind == EW:                                             # read the residual operand
            traffic += out
        dram = ceil(traffic / dram_gbps * clock_mhz * kb_bytes / 1000)   # AQ: KB/(GB/s)*MHz
        # AR, MAC cycles: exact R*S/(sh*sw) taps, K rounded up to k_round, Winograd gives /2.25.
        hc, wc_ = (l.H, l.W) if l.pad else (l.H - l.R + 1, l.W - l.S + 1)
        mac = (cf * ceil(hc / l.sh) * ceil(wc_ / l.sw) * ceil(l.K, k_round) * l.R * l.S
               / (l.sh * l.sw) / macs / (2.25 if wino else 1))
        total += max(dram, mac)                                      # AS, summed in AS65
    return total


def fps(cycles, clock_mhz=1000):
    return clock_mhz * 1e6 / cycles


# Primer design points: MACs, CBUF KiB, DRAM GB/s, published fps (as printed), atomic_k. The
# atomic_k is assumed (nv_full 64x32, nv_small 8x8, splits in between); only k_round uses it.
POINTS = [(2048, 512, 20, "269", 32), (1024, 256, 15, "153", 32), (512, 256, 10, "93", 16),
          (256, 256, 5, "46", 16), (128, 256, 2, "20", 8), (64, 128, 1, "7.3", 8),
          (32, 128, 0.5, "3.6", 4)]
ALL = dict(fold_stride_into_weights=False, winograd=False, k_round="atomic_k", kb_bytes=1024, net="v1.5")
SCENARIOS = [("sheet", {}),
             ("no-fold", dict(fold_stride_into_weights=False)),
             ("no-wino", dict(winograd=False)),
             ("K=atomk", dict(k_round="atomic_k")),
             ("v1.5", dict(net="v1.5")),
             ("KB=1024", dict(kb_bytes=1024)),
             ("S5(all)", ALL)]
LEGEND = """sheet   = the spreadsheet as published (must equal the primer to its printed precision)
no-fold = weights sized R x S x C per kernel (NVDLA weight format), not with the stride folded in
no-wino = no Winograd for 3x3 (MAC /2.25 and weights x16/9 removed; nv_small has none)
K=atomk = MAC cycles round K to atomic_k instead of 128
v1.5    = ResNet-50 v1.5 shapes (stride on the 3x3, as torchvision / our ONNX export)
KB=1024 = DRAM time counts a KB as 1024 B, consistent with the sizes
S5(all) = all five corrections together"""


def run_point(point, net=None, k_round=128, **kw):
    macs, cbuf, bw, _, atomic_k = point
    layers = to_v15(SHEET_V1) if net == "v1.5" else SHEET_V1
    k = atomic_k if k_round == "atomic_k" else k_round
    return fps(frame_cycles(layers, macs, cbuf, bw, k_round=k, **kw))


def main(argv):
    # Self-checks: the workbook's stored configuration (CBUF 512 KB, 2048 MACs, 10 GB/s), cached
    # in cell AS65 as 7113691 cycles, and the primer's seven figures.
    ok = abs(frame_cycles(SHEET_V1, 2048, 512, 10) - 7113691) < 0.5
    table = [[run_point(pt, **kw) for _, kw in SCENARIOS] for pt in POINTS]
    for pt, row in zip(POINTS, table):
        pub = pt[3]
        digits = len(pub.split(".")[1]) if "." in pub else 0
        ok &= f"{row[0]:.{digits}f}" == pub
    if "--json" in argv:
        print(json.dumps({"points": [
            dict(macs=pt[0], cbuf_kib=pt[1], dram_gbps=pt[2], atomic_k=pt[4], published_fps=float(pt[3]),
                 sheet_fps=round(row[0], 3), s5_fps=round(row[-1], 3),
                 single_corrections={n: round(v, 3) for (n, _), v in zip(SCENARIOS[1:-1], row[1:-1])})
            for pt, row in zip(POINTS, table)], "reproduces_primer": ok}, indent=1))
    else:
        print("ResNet-50 frames/s, NVDLA performance sheet (1 GHz, batch 1, int8)\n")
        print(f"{'MACs':>5} {'CBUF':>5} {'GB/s':>5} {'primer':>7}" + "".join(f"{n:>9}" for n, _ in SCENARIOS))
        for pt, row in zip(POINTS, table):
            print(f"{pt[0]:>5} {pt[1]:>5} {pt[2]:>5g} {pt[3]:>7}" + "".join(f"{v:>9.2f}" for v in row))
        print("\n" + LEGEND)
        print("\nreproduces primer:", "yes" if ok else "NO")
    if not ok:
        print("ERROR: the as-published sheet no longer reproduces the primer", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
