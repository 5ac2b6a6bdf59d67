#!/usr/bin/env python3
"""Quantizes a float ONNX model into the QDQ layout ONNX Runtime's quantize_static writes
(QuantFormat.QDQ, MinMax calibration, per_channel=True, extra option
QDQKeepRemovableActivations=True), for testing pre-quantized models without PyPI:

    quantize_qdq.py MODEL.onnx OUT.onnx --calibration DIR [--activation-type int8|uint8]
                    [--ort DIR]

DIR holds one sub-folder per calibration sample, each with <input>.npy files. Ranges come from
ONNX Runtime itself (tests/ort/run_ort.js on a copy of the model that outputs every float
tensor; --ort names the folder whose node_modules holds onnxruntime-node).

The layout, as ONNX Runtime writes it:
  - every float activation x (graph inputs and node outputs) becomes
    x -> QuantizeLinear(x_scale, x_zero_point) -> x_QuantizeLinear_Output -> DequantizeLinear
    -> x_DequantizeLinear_Output, which its readers take instead of x (a graph output keeps its
    name: the last DequantizeLinear writes it);
  - activations: asymmetric, rmin = min(0, min), rmax = max(0, max),
    scale = (rmax - rmin) / (qmax - qmin), zero_point = round(qmin - rmin / scale);
  - Conv/Gemm/MatMul weights: int8, symmetric per output channel, scale = absmax / 127,
    stored as <w>_quantized behind a DequantizeLinear (axis = the output channel);
  - biases: int32 with scale = input scale * weight scale, zero point 0.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper, shape_inference

HERE = os.path.dirname(os.path.abspath(__file__))
RUN_ORT = os.path.join(HERE, "..", "..", "tests", "ort", "run_ort.js")
QRANGE = {"int8": (-128, 127, TensorProto.INT8, np.int8), "uint8": (0, 255, TensorProto.UINT8, np.uint8)}


def safe(name):
    return "".join(c if c.isalnum() or c in "_.-" else "_" for c in name)


def float_activations(model):
    g = model.graph
    inits = {i.name for i in g.initializer}
    types = {v.name: v.type.tensor_type.elem_type for v in list(g.value_info) + list(g.input) + list(g.output)}
    out = [i.name for i in g.input if i.name not in inits and types.get(i.name) == TensorProto.FLOAT]
    for n in g.node:
        if n.op_type == "Constant":
            continue
        out += [o for o in n.output if o and types.get(o) == TensorProto.FLOAT]
    return out


def collect_ranges(model, tensors, calibration, ort_dir):
    """min/max of each tensor over the calibration samples, run by ONNX Runtime."""
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    have = {o.name for o in probe.graph.output}
    for t in tensors:
        if t not in have:
            probe.graph.output.append(helper.make_tensor_value_info(t, TensorProto.FLOAT, None))
    ranges = {}
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "probe.onnx")
        onnx.save(probe, path)
        for sample in sorted(os.listdir(calibration)):
            out = os.path.join(d, "out_" + sample)
            subprocess.run(["node", RUN_ORT, path, os.path.join(calibration, sample), out], check=True,
                           env=dict(os.environ, NODE_PATH=os.path.join(ort_dir, "node_modules")))
            for t in tensors:
                v = np.load(os.path.join(out, safe(t) + ".npy"))
                lo, hi = float(v.min()), float(v.max())
                if t in ranges:
                    lo, hi = min(lo, ranges[t][0]), max(hi, ranges[t][1])
                ranges[t] = (lo, hi)
    return ranges


def activation_params(lo, hi, qtype):
    qmin, qmax = QRANGE[qtype][:2]
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    scale = (hi - lo) / (qmax - qmin) if hi > lo else 1.0
    zp = int(np.clip(np.round(qmin - lo / scale), qmin, qmax))
    return np.float32(scale), zp


def quantize(model, ranges, qtype):
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    outputs = {o.name for o in g.output}
    qmin, qmax, qproto, qnp = QRANGE[qtype]
    new_inits, qdq_nodes, rename, scales = [], [], {}, {}

    for x, (lo, hi) in ranges.items():
        scale, zp = activation_params(lo, hi, qtype)
        scales[x] = scale
        new_inits += [numpy_helper.from_array(np.array(scale, np.float32), x + "_scale"),
                      numpy_helper.from_array(np.array(zp, qnp), x + "_zero_point")]
        q_out = x + "_QuantizeLinear_Output"
        dq_out = x if x in outputs else x + "_DequantizeLinear_Output"
        src = x + "_float" if x in outputs else x
        qdq_nodes.append((x, helper.make_node("QuantizeLinear", [src, x + "_scale", x + "_zero_point"], [q_out],
                                              name=x + "_QuantizeLinear")))
        qdq_nodes.append((x, helper.make_node("DequantizeLinear", [q_out, x + "_scale", x + "_zero_point"],
                                              [dq_out], name=x + "_DequantizeLinear")))
        rename[x] = dq_out

    by_x = {}
    for x, n in qdq_nodes:
        by_x.setdefault(x, []).append(n)
    nodes = [n for i in g.input for n in by_x.get(i.name, [])]  # graph inputs' pairs come first
    for n in g.node:
        n2 = onnx.NodeProto()
        n2.CopyFrom(n)
        for i, name in enumerate(n2.input):
            if name in rename and name not in outputs:
                n2.input[i] = rename[name]
            elif name in outputs and name in rename:
                n2.input[i] = name + "_float"
        if n2.op_type in ("Conv", "Gemm", "MatMul") and len(n2.input) > 1 and n2.input[1] in inits:
            w = numpy_helper.to_array(inits[n2.input[1]]).astype(np.float32)
            trans_b = any(a.name == "transB" and a.i for a in n2.attribute)
            axis = 0 if n2.op_type == "Conv" or (n2.op_type == "Gemm" and trans_b) else 1
            red = tuple(d for d in range(w.ndim) if d != axis)
            w_scale = (np.abs(w).max(axis=red) / 127.0).astype(np.float32)
            w_scale[w_scale == 0] = 1.0
            shape = [1] * w.ndim
            shape[axis] = -1
            wq = np.clip(np.round(w / w_scale.reshape(shape)), -127, 127).astype(np.int8)
            wname = n2.input[1]
            new_inits += [numpy_helper.from_array(wq, wname + "_quantized"),
                          numpy_helper.from_array(w_scale, wname + "_scale"),
                          numpy_helper.from_array(np.zeros(w_scale.shape, np.int8), wname + "_zero_point")]
            nodes.append(helper.make_node("DequantizeLinear", [wname + "_quantized", wname + "_scale",
                                                               wname + "_zero_point"],
                                          [wname + "_DequantizeLinear_Output"], name=wname + "_DequantizeLinear",
                                          axis=axis))
            x_in = n.input[0]
            n2.input[1] = wname + "_DequantizeLinear_Output"
            if len(n2.input) > 2 and n2.input[2] in inits and x_in in scales:
                b = numpy_helper.to_array(inits[n2.input[2]]).astype(np.float32)
                b_scale = (scales[x_in] * w_scale).astype(np.float32)
                bq = np.round(b / b_scale).astype(np.int32)
                bname = n2.input[2]
                new_inits += [numpy_helper.from_array(bq, bname + "_quantized"),
                              numpy_helper.from_array(b_scale, bname + "_quantized_scale"),
                              numpy_helper.from_array(np.zeros(b_scale.shape, np.int32),
                                                      bname + "_quantized_zero_point")]
                nodes.append(helper.make_node("DequantizeLinear", [bname + "_quantized", bname + "_quantized_scale",
                                                                   bname + "_quantized_zero_point"],
                                              [bname + "_DequantizeLinear_Output"],
                                              name=bname + "_DequantizeLinear", axis=0))
                n2.input[2] = bname + "_DequantizeLinear_Output"
        for o_i, o in enumerate(n2.output):
            if o in outputs and o in rename:
                n2.output[o_i] = o + "_float"
        nodes.append(n2)
        for o in n.output:
            nodes += by_x.get(o, [])

    used = {i for n in nodes for i in n.input}
    keep = [i for i in g.initializer if i.name in used]
    graph = helper.make_graph(nodes, g.name + "_qdq", list(g.input), list(g.output), keep + new_inits)
    out = helper.make_model(graph, opset_imports=list(model.opset_import), producer_name="xpusim-qdq")
    onnx.checker.check_model(out)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model")
    p.add_argument("out")
    p.add_argument("--calibration", required=True)
    p.add_argument("--activation-type", choices=sorted(QRANGE), default="int8")
    p.add_argument("--ort", default=os.environ.get("XPUSIM_ORT", os.path.join(HERE, "..", "..", "build", "ort")))
    a = p.parse_args()
    model = shape_inference.infer_shapes(onnx.load(a.model))
    tensors = float_activations(model)
    ranges = collect_ranges(model, tensors, a.calibration, a.ort)
    onnx.save(quantize(model, {t: ranges[t] for t in tensors}, a.activation_type), a.out)
    print(f"wrote {a.out}: {len(tensors)} activations quantized", file=sys.stderr)


if __name__ == "__main__":
    main()
