// The shared host fallback's cost model (frontends/lower/host_fallback.h) against FLOP and byte
// counts worked out by hand from each op's definition, and the host's time on them.
#include <catch2/catch.hpp>

#include "frontends/lower/host_fallback.h"
#include "op_test_util.h"

using namespace xpusim;
using namespace xpusim::op_test;

namespace {

// A one-node graph; every value float32 of the given shape (weights as values: the cost model
// reads shapes only).
frontend::Graph one_node(Node n, const std::map<std::string, Shape>& shapes) {
    frontend::Graph g;
    g.opset = 17;
    for (const auto& [name, shape] : shapes) {
        auto& v = g.values[name];
        v.name = name;
        v.shape = shape;
        v.shape_known = true;
    }
    g.nodes.push_back(std::move(n));
    return g;
}

Node node(const std::string& type, std::vector<std::string> in, std::vector<std::string> out) {
    Node n;
    n.name = type + "_0";
    n.op_type = type;
    n.inputs = std::move(in);
    n.outputs = std::move(out);
    return n;
}

}  // namespace

TEST_CASE("host fallback: a 4.3 GFLOP ConvTranspose costs 215 ms on a 20 GFLOP/s host", "[host]") {
    // X 1x128x128x128, W 128x64x4x4 (C_in x K/groups x kernel), stride 2: Y 1x64x256x256.
    // Every input pixel of every input channel scatters into 64 output channels over 16 taps:
    //   2 * N * C * (K/g) * kh * kw * H * W = 2 * 1 * 128 * 64 * 16 * 128 * 128 = 4,294,967,296
    // Bytes: X 2,097,152 + W 131,072 + Y 4,194,304 elements, 4 B each = 25,690,112 B.
    Node n = node("ConvTranspose", {"x", "w"}, {"y"});
    n.attrs["strides"] = ints_attr({2, 2});
    const auto g =
        one_node(n, {{"x", {1, 128, 128, 128}}, {"w", {128, 64, 4, 4}}, {"y", {1, 64, 256, 256}}});
    const sim::HostCost c = lower::host_cost(g, g.nodes[0]);
    CHECK(c.flops == 4294967296.0);
    CHECK(c.bytes == 25690112.0);
    // nvdla_full's host: 20 GFLOP/s, 10 GB/s of memory, 1 us per op. Compute-bound:
    //   1 us + max(4.295e9 / 20e9 = 214.75 ms, 25.7e6 / 10e9 = 2.57 ms) = 214.75 ms
    sim::HostSpec host;
    host.gflops = 20;
    host.memory_gbps = 10;
    host.op_overhead_us = 1;
    CHECK(host.op_seconds(c) == Approx(1e-6 + 4294967296.0 / 20e9));
}

TEST_CASE("host fallback: Conv, MatMul, Gemm and Einsum FLOPs", "[host]") {
    // Conv 1x64x56x56 -> 1x64x56x56, 3x3, groups 2: 2 * N * K * (C/g) * R * S * P * Q
    //   = 2 * 64 * 32 * 9 * 3136 = 115,605,504
    Node conv = node("Conv", {"x", "w"}, {"y"});
    conv.attrs["group"] = int_attr(2);
    auto g =
        one_node(conv, {{"x", {1, 64, 56, 56}}, {"w", {64, 32, 3, 3}}, {"y", {1, 64, 56, 56}}});
    CHECK(lower::host_cost(g, g.nodes[0]).flops == 115605504.0);
    // MatMul 8x16x32 by 32x24: 2 * (8*16*24) * 32 = 196,608
    g = one_node(node("MatMul", {"a", "b"}, {"y"}),
                 {{"a", {8, 16, 32}}, {"b", {32, 24}}, {"y", {8, 16, 24}}});
    CHECK(lower::host_cost(g, g.nodes[0]).flops == 196608.0);
    // Gemm 10x20 by 20x30 plus C: 2 * 300 * 20 + 300 = 12,300
    g = one_node(node("Gemm", {"a", "b", "c"}, {"y"}),
                 {{"a", {10, 20}}, {"b", {20, 30}}, {"c", {30}}, {"y", {10, 30}}});
    CHECK(lower::host_cost(g, g.nodes[0]).flops == 12300.0);
    // Einsum "bij,bjk->bik" with b=4, i=5, j=6, k=7: 2 * 4*5*6*7 = 1680
    Node e = node("Einsum", {"a", "b"}, {"y"});
    e.attrs["equation"] = string_attr("bij,bjk->bik");
    g = one_node(e, {{"a", {4, 5, 6}}, {"b", {4, 6, 7}}, {"y", {4, 5, 7}}});
    CHECK(lower::host_cost(g, g.nodes[0]).flops == 1680.0);
}

TEST_CASE("host fallback: recurrent, vector-style and data-movement ops", "[host]") {
    // LSTM, seq 10, batch 2, input 16, hidden 8, one direction: W is 1 x 32 x 16.
    //   per step and row: 2 * 4H * (I + H) + 8 * 4H = 2 * 32 * 24 + 256 = 1792; x 20 = 35,840
    auto g =
        one_node(node("LSTM", {"x", "w", "r"}, {"y"}),
                 {{"x", {10, 2, 16}}, {"w", {1, 32, 16}}, {"r", {1, 32, 8}}, {"y", {10, 1, 2, 8}}});
    CHECK(lower::host_cost(g, g.nodes[0]).flops == 35840.0);
    // Softmax over 6x100: 5 operations per element read = 3000
    g = one_node(node("Softmax", {"x"}, {"y"}), {{"x", {6, 100}}, {"y", {6, 100}}});
    CHECK(lower::host_cost(g, g.nodes[0]).flops == 3000.0);
    // Sigmoid of 1000 elements: 4 per element written
    g = one_node(node("Sigmoid", {"x"}, {"y"}), {{"x", {1000}}, {"y", {1000}}});
    CHECK(lower::host_cost(g, g.nodes[0]).flops == 4000.0);
    // MaxPool 3x3 over a 1x8x10x10 output: 1 per tap = 800 * 9
    Node pool = node("MaxPool", {"x"}, {"y"});
    pool.attrs["kernel_shape"] = ints_attr({3, 3});
    g = one_node(pool, {{"x", {1, 8, 12, 12}}, {"y", {1, 8, 10, 10}}});
    CHECK(lower::host_cost(g, g.nodes[0]).flops == 7200.0);
    // Transpose moves bytes only: 2 x 1000 elements x 4 B
    g = one_node(node("Transpose", {"x"}, {"y"}), {{"x", {10, 100}}, {"y", {100, 10}}});
    const auto t = lower::host_cost(g, g.nodes[0]);
    CHECK(t.flops == 0.0);
    CHECK(t.bytes == 8000.0);
    // A memory-bound op on a 100 GFLOP/s, 20 GB/s host: 1 us + 8000 B / 20 GB/s = 1.4 us.
    CHECK(sim::HostSpec{}.op_seconds(t) == Approx(1.4e-6));
}
