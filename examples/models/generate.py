#!/usr/bin/env python3
"""Builds xpusim's example and test models with python3-onnx, in the shapes PyTorch's exporters
produce (Conv+BatchNormalization unfused, Shape->Gather->Unsqueeze->Concat->Reshape chains,
Erf-based GELU, decomposed attention). Weights come from a fixed seed, so every build writes the
same bytes.

    /usr/bin/python3 examples/models/generate.py OUTDIR [--resnet50] [--mlp]

writes small_cnn.onnx, small_transformer.onnx, small_lstm.onnx and small_gru.onnx (and resnet50.onnx, ~100 MB, and mlp.onnx,
TPU v1's MLP0 shape, ~80 MB, if asked).
"""
import argparse
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


class GraphBuilder:
    """Accumulates nodes and initializers with unique names."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits, self.count = [], [], {}

    def name(self, base):
        self.count[base] = self.count.get(base, 0) + 1
        return f"{base}_{self.count[base]}"

    def const(self, base, array):
        n = self.name(base)
        self.inits.append(numpy_helper.from_array(np.asarray(array), n))
        return n

    def op(self, op_type, inputs, outputs=1, **attrs):
        outs = [self.name(op_type.lower()) for _ in range(outputs)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=self.name(op_type), **attrs))
        return outs[0] if outputs == 1 else outs

    # -- layers ---------------------------------------------------------------------------
    def conv(self, x, cin, cout, k, stride=1, pad=0, group=1, bias=False):
        fan_in = cin // group * k * k
        w = self.rng.normal(0, np.sqrt(2.0 / fan_in), (cout, cin // group, k, k)).astype(np.float32)
        inputs = [x, self.const("conv.weight", w)]
        if bias:
            inputs.append(self.const("conv.bias", self.rng.normal(0, 0.01, cout).astype(np.float32)))
        return self.op("Conv", inputs, kernel_shape=[k, k], strides=[stride, stride],
                       pads=[pad] * 4, group=group, dilations=[1, 1])

    def batchnorm(self, x, c, gamma_scale=1.0):
        gamma = (self.rng.uniform(0.5, 1.5, c) * gamma_scale).astype(np.float32)
        beta = self.rng.normal(0, 0.1, c).astype(np.float32)
        mean = self.rng.normal(0, 0.1, c).astype(np.float32)
        var = self.rng.uniform(0.5, 1.5, c).astype(np.float32)
        return self.op("BatchNormalization",
                       [x, self.const("bn.weight", gamma), self.const("bn.bias", beta),
                        self.const("bn.running_mean", mean), self.const("bn.running_var", var)],
                       epsilon=1e-5, momentum=0.9)

    def linear(self, x, cin, cout, std=None):
        std = std if std is not None else np.sqrt(1.0 / cin)
        w = self.rng.normal(0, std, (cout, cin)).astype(np.float32)
        b = self.rng.normal(0, 0.01, cout).astype(np.float32)
        return self.op("Gemm", [x, self.const("fc.weight", w), self.const("fc.bias", b)],
                       alpha=1.0, beta=1.0, transB=1)

    def flatten_by_shape_chain(self, x):
        """x.view(x.size(0), -1) as the TorchScript exporter writes it."""
        shape = self.op("Shape", [x])
        batch = self.op("Gather", [shape, self.const("idx", np.array(0, dtype=np.int64))], axis=0)
        batch = self.op("Unsqueeze", [batch, self.const("axes", np.array([0], dtype=np.int64))])
        minus1 = self.const("minus1", np.array([-1], dtype=np.int64))
        target = self.op("Concat", [batch, minus1], axis=0)
        return self.op("Reshape", [x, target])

    def model(self, inputs, outputs, name):
        graph = helper.make_graph(self.nodes, name, inputs, outputs, self.inits)
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="xpusim-examples")
        m.ir_version = 8
        onnx.checker.check_model(m)
        return m


def small_cnn():
    """A 32x32 image classifier: conv/BN/ReLU stem, a residual block with a depthwise conv,
    max pooling, global pooling and a linear head."""
    b = GraphBuilder(seed=1)
    x = "image"
    y = b.op("Relu", [b.batchnorm(b.conv(x, 3, 16, 3, pad=1), 16)])
    y = b.op("MaxPool", [y], kernel_shape=[2, 2], strides=[2, 2])
    skip = y
    y = b.op("Relu", [b.batchnorm(b.conv(y, 16, 16, 3, pad=1, group=16), 16)])  # depthwise
    y = b.batchnorm(b.conv(y, 16, 16, 1), 16)  # pointwise
    y = b.op("Relu", [b.op("Add", [y, skip])])
    y = b.op("Relu", [b.batchnorm(b.conv(y, 16, 32, 3, stride=2, pad=1), 32)])
    y = b.op("GlobalAveragePool", [y])
    y = b.flatten_by_shape_chain(y)
    y = b.linear(y, 32, 10)
    probs = b.op("Softmax", [y], axis=-1)
    return b.model([helper.make_tensor_value_info(x, TensorProto.FLOAT, ["batch", 3, 32, 32])],
                   [helper.make_tensor_value_info(probs, TensorProto.FLOAT, ["batch", 10])],
                   "small_cnn")


def small_transformer(vocab=128, hidden=64, heads=4, ffn=128, layers=2):
    """A BERT-style encoder: embeddings, LayerNorm, multi-head attention decomposed into
    MatMul/Reshape/Transpose/Softmax with a Shape-derived reshape target, and an Erf GELU."""
    b = GraphBuilder(seed=2)
    ids = "input_ids"
    head_dim = hidden // heads
    emb = b.const("embeddings.word", b.rng.normal(0, 0.02, (vocab, hidden)).astype(np.float32))
    x = b.op("Gather", [emb, ids], axis=0)

    def layernorm(v):
        return b.op("LayerNormalization", [v, b.const("ln.weight", np.ones(hidden, np.float32)),
                                           b.const("ln.bias", np.zeros(hidden, np.float32))],
                    axis=-1, epsilon=1e-12)

    def dense(v, cin, cout):
        w = b.const("dense.weight", b.rng.normal(0, 0.02 * 4, (cin, cout)).astype(np.float32))
        bias = b.const("dense.bias", np.zeros(cout, np.float32))
        return b.op("Add", [b.op("MatMul", [v, w]), bias])

    x = layernorm(x)
    for _ in range(layers):
        shape = b.op("Shape", [x])
        batch = b.op("Unsqueeze", [b.op("Gather", [shape, b.const("i0", np.array(0, np.int64))], axis=0),
                                   b.const("axes", np.array([0], np.int64))])
        seq = b.op("Unsqueeze", [b.op("Gather", [shape, b.const("i1", np.array(1, np.int64))], axis=0),
                                 b.const("axes", np.array([0], np.int64))])
        split_heads = b.op("Concat", [batch, seq, b.const("hd", np.array([heads, head_dim], np.int64))], axis=0)

        def heads_of(v):
            return b.op("Transpose", [b.op("Reshape", [v, split_heads])], perm=[0, 2, 1, 3])

        q, k, v = (heads_of(dense(x, hidden, hidden)) for _ in range(3))
        scores = b.op("MatMul", [q, b.op("Transpose", [k], perm=[0, 1, 3, 2])])
        scores = b.op("Div", [scores, b.const("scale", np.array(np.sqrt(head_dim), np.float32))])
        ctx = b.op("MatMul", [b.op("Softmax", [scores], axis=-1), v])
        ctx = b.op("Transpose", [ctx], perm=[0, 2, 1, 3])
        merge = b.op("Concat", [batch, seq, b.const("h", np.array([hidden], np.int64))], axis=0)
        ctx = b.op("Reshape", [ctx, merge])
        x = layernorm(b.op("Add", [x, dense(ctx, hidden, hidden)]))
        h = dense(x, hidden, ffn)
        # GELU: 0.5 * h * (1 + erf(h / sqrt(2)))
        gelu = b.op("Mul", [b.op("Mul", [h, b.op("Add", [b.op("Erf", [b.op("Div", [h, b.const("sqrt2", np.array(np.sqrt(2), np.float32))])]),
                                                          b.const("one", np.array(1, np.float32))])]),
                            b.const("half", np.array(0.5, np.float32))])
        x = layernorm(b.op("Add", [x, dense(gelu, ffn, hidden)]))
    return b.model([helper.make_tensor_value_info(ids, TensorProto.INT64, ["batch", "seq"])],
                   [helper.make_tensor_value_info(x, TensorProto.FLOAT, ["batch", "seq", hidden])],
                   "small_transformer")


def resnet50(num_classes=1000, residual_scale=1.0, batch=1):
    """torchvision resnet50 (v1.5: stride on the 3x3 conv), BatchNormalization unfused, as the
    TorchScript exporter writes it at opset 17. Its BatchNorm statistics are random, not the
    activations' own, so activations grow block after block (to tens of thousands in the last
    stage, where fp16, which ends at 65504, overflows). residual_scale < 1 scales the last BatchNorm of each residual branch, as
    torchvision's zero_init_residual does at 0, so activations stay in the range a trained
    network's do; the default 1 keeps the model the tests of the other targets use."""
    b = GraphBuilder(seed=50)
    x = "input"
    y = b.op("Relu", [b.batchnorm(b.conv(x, 3, 64, 7, stride=2, pad=3), 64)])
    y = b.op("MaxPool", [y], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    cin = 64
    for width, blocks, stride in [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)]:
        for i in range(blocks):
            s = stride if i == 0 else 1
            out = width * 4
            h = b.op("Relu", [b.batchnorm(b.conv(y, cin, width, 1), width)])
            h = b.op("Relu", [b.batchnorm(b.conv(h, width, width, 3, stride=s, pad=1), width)])
            h = b.batchnorm(b.conv(h, width, out, 1), out, gamma_scale=residual_scale)
            skip = y
            if i == 0:
                skip = b.batchnorm(b.conv(y, cin, out, 1, stride=s), out)
            y = b.op("Relu", [b.op("Add", [h, skip])])
            cin = out
    y = b.op("Flatten", [b.op("GlobalAveragePool", [y])], axis=1)
    logits = b.linear(y, 2048, num_classes, std=0.01)
    return b.model([helper.make_tensor_value_info(x, TensorProto.FLOAT, [batch, 3, 224, 224])],
                   [helper.make_tensor_value_info(logits, TensorProto.FLOAT, [batch, num_classes])],
                   "resnet50")


def _rnn_weights(b, gates, hidden, inputs, directions):
    """W, R and B as torch.onnx writes them for nn.LSTM/nn.GRU (uniform in +-1/sqrt(hidden))."""
    k = 1.0 / np.sqrt(hidden)
    w = b.rng.uniform(-k, k, (directions, gates * hidden, inputs)).astype(np.float32)
    r = b.rng.uniform(-k, k, (directions, gates * hidden, hidden)).astype(np.float32)
    bias = b.rng.uniform(-k, k, (directions, 2 * gates * hidden)).astype(np.float32)
    return b.const("rnn.weight_ih", w), b.const("rnn.weight_hh", r), b.const("rnn.bias", bias)


def small_lstm(batch=2, seq=12, features=16, hidden=32):
    """nn.LSTM(16, 32, num_layers=2, bidirectional=True, batch_first=True) as torch.onnx exports
    it: a Transpose to time-major, one LSTM node per layer with zero initial states, and between
    layers the Transpose + Reshape that joins the two directions."""
    b = GraphBuilder(seed=5)
    x = b.op("Transpose", ["sequence"], perm=[1, 0, 2])
    width = features
    for _ in range(2):
        w, r, bias = _rnn_weights(b, 4, hidden, width, 2)
        h0 = b.const("h0", np.zeros((2, batch, hidden), np.float32))
        c0 = b.const("c0", np.zeros((2, batch, hidden), np.float32))
        y, _, _ = b.op("LSTM", [x, w, r, bias, "", h0, c0], outputs=3, hidden_size=hidden,
                       direction="bidirectional")
        y = b.op("Transpose", [y], perm=[0, 2, 1, 3])
        x = b.op("Reshape", [y, b.const("shape", np.array([seq, batch, 2 * hidden], np.int64))])
        width = 2 * hidden
    out = b.op("Transpose", [x], perm=[1, 0, 2])
    return b.model([helper.make_tensor_value_info("sequence", TensorProto.FLOAT, [batch, seq, features])],
                   [helper.make_tensor_value_info(out, TensorProto.FLOAT, [batch, seq, 2 * hidden])],
                   "small_lstm")


def small_gru(batch=2, seq=12, features=16, hidden=32):
    """nn.GRU(16, 32) as torch.onnx exports it (time-major, linear_before_reset=1), with the last
    hidden state through a linear head."""
    b = GraphBuilder(seed=6)
    w, r, bias = _rnn_weights(b, 3, hidden, features, 1)
    h0 = b.const("h0", np.zeros((1, batch, hidden), np.float32))
    y, y_h = b.op("GRU", ["sequence", w, r, bias, "", h0], outputs=2, hidden_size=hidden,
                  linear_before_reset=1)
    y = b.op("Squeeze", [y, b.const("axes", np.array([1], np.int64))])
    last = b.op("Squeeze", [y_h, b.const("axes", np.array([0], np.int64))])
    logits = b.linear(last, hidden, 8)
    return b.model([helper.make_tensor_value_info("sequence", TensorProto.FLOAT, [seq, batch, features])],
                   [helper.make_tensor_value_info(y, TensorProto.FLOAT, [seq, batch, hidden]),
                    helper.make_tensor_value_info(logits, TensorProto.FLOAT, [batch, 8])],
                   "small_gru")


def mlp(batch=200, width=2000, layers=5):
    """An MLP shaped like TPU v1's MLP0 workload (Jouppi et al. 2017: 5 FC layers, ~20M
    weights, batch 200): Gemm + Relu layers, weight-bandwidth bound on a TPU v1."""
    b = GraphBuilder(seed=5)
    x = "features"
    y = x
    for i in range(layers):
        y = b.linear(y, width, width, std=np.sqrt(2.0 / width))
        if i + 1 < layers:
            y = b.op("Relu", [y])
    return b.model([helper.make_tensor_value_info(x, TensorProto.FLOAT, [batch, width])],
                   [helper.make_tensor_value_info(y, TensorProto.FLOAT, [batch, width])], "mlp")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("outdir")
    p.add_argument("--resnet50", action="store_true", help="also write resnet50.onnx (~100 MB)")
    p.add_argument("--mlp", action="store_true", help="also write mlp.onnx (TPU v1's MLP0 shape, ~80 MB)")
    args = p.parse_args()
    os.makedirs(args.outdir, exist_ok=True)
    models = {"small_cnn": small_cnn, "small_transformer": small_transformer, "small_lstm": small_lstm,
              "small_gru": small_gru}
    if args.resnet50:
        models["resnet50"] = resnet50
    if args.mlp:
        models["mlp"] = mlp
    for name, build in models.items():
        path = os.path.join(args.outdir, name + ".onnx")
        if os.path.exists(path):
            continue
        tmp = path + ".tmp"
        onnx.save(build(), tmp)
        os.replace(tmp, path)
        print("wrote", path, file=sys.stderr)


if __name__ == "__main__":
    main()
