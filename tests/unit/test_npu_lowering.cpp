// The NPU lowering on a graph built here: placement and fusion (conv + BN folded + ReLU + max
// pool fused, Gemm as a 1x1 conv, Softmax on the host), int8 numerics close to the fp32
// reference executor, and the lowered program surviving the text round trip (same cycles and
// the same outputs once its host call is re-bound).
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "frontends/lower/host_fallback.h"
#include "frontends/lower/lowering.h"
#include "frontends/onnx/executor.h"
#include "frontends/onnx/passes.h"
#include "test_npu_util.h"

using namespace npu_test;
using frontend::Attribute;
using frontend::Graph;
using frontend::Node;

namespace {

Attribute ints(std::vector<int64_t> v) {
    Attribute a;
    a.kind = Attribute::Kind::Ints;
    a.ints = std::move(v);
    return a;
}

Attribute one_int(int64_t v) {
    Attribute a;
    a.kind = Attribute::Kind::Int;
    a.i = v;
    return a;
}

void add_const(Graph& g, const std::string& name, sim::Shape shape, std::mt19937& rng, float sd,
               float mean = 0) {
    std::normal_distribution<float> dist(mean, sd);
    std::vector<float> v(static_cast<std::size_t>(sim::shape_numel(shape)));
    for (auto& x : v) x = dist(rng);
    auto& info = g.values[name];
    info.name = name;
    info.shape = shape;
    info.shape_known = true;
    info.constant = sim::Tensor::from_vector<float>(shape, v);
}

// x[1,8,8,8] -> Conv 3x3 (16) -> BatchNorm -> Relu -> MaxPool 2x2 -> Flatten -> Gemm (10)
//   -> Softmax
Graph small_graph() {
    std::mt19937 rng(3);
    Graph g;
    g.name = "npu_lowering_test";
    g.opset = 17;
    g.ir_version = 8;
    g.inputs = {"x"};
    g.outputs = {"probs"};
    auto& x = g.values["x"];
    x.name = "x", x.shape = {1, 8, 8, 8}, x.shape_known = true;
    add_const(g, "w", {16, 8, 3, 3}, rng, 0.17f);
    add_const(g, "gamma", {16}, rng, 0.1f, 1.0f);
    add_const(g, "beta", {16}, rng, 0.1f);
    add_const(g, "mean", {16}, rng, 0.1f);
    add_const(g, "var", {16}, rng, 0.05f, 1.0f);
    add_const(g, "fc", {10, 256}, rng, 0.1f);
    add_const(g, "fcb", {10}, rng, 0.01f);
    g.values["var"].constant = g.values["var"].constant->cast(sim::DType::Float32);
    for (int64_t i = 0; i < 16; ++i)
        g.values["var"].constant->data<float>()[i] =
            std::fabs(g.values["var"].constant->data<float>()[i]);
    auto node = [&](std::string name, std::string op, std::vector<std::string> in,
                    std::string out) {
        Node n;
        n.name = std::move(name), n.op_type = std::move(op), n.inputs = std::move(in),
        n.outputs = {out};
        g.values[out].name = out;  // shape filled in by inference
        g.nodes.push_back(n);
        return &g.nodes.back();
    };
    Node* conv = node("conv", "Conv", {"x", "w"}, "c");
    conv->attrs["kernel_shape"] = ints({3, 3});
    conv->attrs["pads"] = ints({1, 1, 1, 1});
    node("bn", "BatchNormalization", {"c", "gamma", "beta", "mean", "var"}, "b");
    node("relu", "Relu", {"b"}, "r");
    Node* pool = node("pool", "MaxPool", {"r"}, "p");
    pool->attrs["kernel_shape"] = ints({2, 2});
    pool->attrs["strides"] = ints({2, 2});
    node("flatten", "Flatten", {"p"}, "f")->attrs["axis"] = one_int(1);
    node("gemm", "Gemm", {"f", "fc", "fcb"}, "logits")->attrs["transB"] = one_int(1);
    node("softmax", "Softmax", {"logits"}, "probs");
    frontend::infer_and_fold(g);
    return g;
}

sim::Tensor random_input(unsigned seed = 11) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(0, 1);
    std::vector<float> v(512);
    for (auto& x : v) x = dist(rng);
    return sim::Tensor::from_vector<float>({1, 8, 8, 8}, v);
}

double cosine(const sim::Tensor& a, const sim::Tensor& b) {
    double ab = 0, aa = 0, bb = 0;
    for (int64_t i = 0; i < a.numel(); ++i) {
        const double x = a.data<float>()[i], y = b.data<float>()[i];
        ab += x * y, aa += x * x, bb += y * y;
    }
    return ab / std::sqrt(aa * bb);
}

}  // namespace

TEST_CASE("npu: lowering places, fuses and quantizes a small CNN", "[npu]") {
    const Graph g = small_graph();
    const std::map<std::string, sim::Tensor> inputs = {{"x", random_input()}};
    const auto cfg = test_config();
    // Calibrated on another draw than the one the output is judged on.
    const auto calibration =
        lower::CalibrationSet::given({{{"x", random_input(12)}}, {{"x", random_input(13)}}});
    lower::LowerOptions opts;
    opts.calibration = &calibration;
    auto lowered = lower::lowerings().get("npu")()->lower(g, cfg, opts);
    REQUIRE(lowered.calibration);
    CHECK(lowered.calibration->source == "given");
    CHECK(lowered.calibration->samples == 2);
    std::map<std::string, lower::NodePlacement> placed;
    for (const auto& p : lowered.placements) placed[p.node] = p;
    REQUIRE(placed.size() == g.nodes.size());
    CHECK(placed["conv"].placement == sim::Placement::Native);
    CHECK(placed["bn"].placement == sim::Placement::Lowered);  // folded into the weights
    CHECK(placed["bn"].into == "conv");
    CHECK(placed["relu"].unit == "sdp");
    CHECK(placed["pool"].unit == "pdp");
    // 1x16x4x4 -> 1x256 changes which bytes form a pixel's channel atoms: a re-layout copy
    CHECK(placed["flatten"].placement == sim::Placement::Lowered);
    CHECK(placed["flatten"].unit == "bdma");
    CHECK(placed["gemm"].placement == sim::Placement::Lowered);
    CHECK(placed["softmax"].placement == sim::Placement::Host);
    CHECK(lowered.problems.empty());

    auto& prog = dynamic_cast<NpuProgram&>(*lowered.program);
    // conv + SDP(ReLU) + PDP fused, then the re-layout of the flatten, Gemm + SDP, host softmax
    int fused = 0;
    for (const auto& d : prog.descriptors) fused += d.fused();
    CHECK(fused == 3);

    const auto ref = frontend::execute_graph(g, inputs);
    const auto r = run(prog, cfg, false, inputs);
    CHECK(cosine(r.outputs.at("probs"), ref.at("probs")) > 0.999);

    // Text round trip: same text, same cycles, same numbers once the host call is re-bound.
    const std::string text = prog.to_asm();
    auto back = NpuProgram::parse(text);
    CHECK(back->to_asm() == text);
    lower::bind_host_calls(back->host_calls, g);
    const auto r2 = run(*back, cfg, false, inputs);
    CHECK(*r2.cycles == *r.cycles);
    const auto& a = r.outputs.at("probs");
    const auto& b = r2.outputs.at("probs");
    CHECK(std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0);
}
