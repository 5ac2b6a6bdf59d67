// Folding a pre-quantized model's Q/DQ pairs (frontends/lower/qdq.h). Every expected value is
// derived by hand beside it.
#include <catch2/catch.hpp>

#include "frontends/lower/qdq.h"

using namespace xpusim;
using frontend::Graph;
using frontend::Node;
using sim::DType;
using sim::Tensor;

namespace {

void value(Graph& g, const std::string& name, DType t, sim::Shape shape) {
    auto& v = g.values[name];
    v.name = name;
    v.dtype = t;
    v.shape = std::move(shape);
    v.shape_known = true;
}

void constant(Graph& g, const std::string& name, Tensor t) {
    value(g, name, t.dtype(), t.shape());
    g.values[name].constant = std::move(t);
}

Node node(const std::string& op, std::vector<std::string> in, std::vector<std::string> out) {
    Node n;
    n.name = out[0] + "_node";
    n.op_type = op;
    n.inputs = std::move(in);
    n.outputs = std::move(out);
    return n;
}

// x -> QuantizeLinear(0.1, zp) -> q -> DequantizeLinear(0.1, zp) -> d -> Relu -> y
Graph qdq_relu(DType q_type, double zero_point) {
    Graph g;
    value(g, "x", DType::Float32, {1, 4});
    constant(g, "s", Tensor::scalar<float>(0.1f));
    constant(g, "zp",
             q_type == DType::Int8 ? Tensor::scalar<int8_t>(static_cast<int8_t>(zero_point))
                                   : Tensor::scalar<uint8_t>(static_cast<uint8_t>(zero_point)));
    value(g, "q", q_type, {1, 4});
    value(g, "d", DType::Float32, {1, 4});
    value(g, "y", DType::Float32, {1, 4});
    g.inputs = {"x"};
    g.outputs = {"y"};
    g.nodes = {node("QuantizeLinear", {"x", "s", "zp"}, {"q"}),
               node("DequantizeLinear", {"q", "s", "zp"}, {"d"}), node("Relu", {"d"}, {"y"})};
    return g;
}

}  // namespace

TEST_CASE("qdq: an int8 pair folds into the range its zero point lets through", "[qdq]") {
    Graph g = qdq_relu(DType::Int8, 10);
    const auto mq = lower::fold_qdq(g, sim::QuantSpec{});
    REQUIRE(mq.pairs == 1);
    // The Relu now reads x itself; both Q and DQ are recorded as folded.
    REQUIRE(g.nodes.size() == 1);
    CHECK(g.nodes[0].inputs[0] == "x");
    CHECK(g.folded.size() == 2);
    // int8 with zero point 10: [(-128 - 10) * 0.1, (127 - 10) * 0.1] = [-13.8, 11.7].
    const auto& r = mq.ranges.at("x");
    CHECK(r.min == Approx(-13.8f));
    CHECK(r.max == Approx(11.7f));
    CHECK(r.absmax == Approx(13.8f));
    // Relu keeps the range, so its output shares it: nothing is left to calibrate.
    CHECK(mq.ranges.count("y"));
    CHECK(mq.uncovered.empty());
    // Symmetric int8 covers 13.8 with 13.8 / 127 = 0.10866, 1.087x the model's 0.1.
    REQUIRE(mq.deviations.size() == 1);
    CHECK_THAT(mq.deviations[0], Catch::Contains("zero point 10") && Catch::Contains("1.09x"));
}

TEST_CASE("qdq: a uint8 pair after a Relu costs symmetric int8 one bit", "[qdq]") {
    Graph g = qdq_relu(DType::UInt8, 0);
    const auto mq = lower::fold_qdq(g, sim::QuantSpec{});
    // uint8, zero point 0: [0, 255 * 0.1] = [0, 25.5]; symmetric int8 needs 25.5 / 127, 2.008x.
    const auto& r = mq.ranges.at("x");
    CHECK(r.min == Approx(0.0f));
    CHECK(r.max == Approx(25.5f));
    REQUIRE(mq.deviations.size() == 1);
    CHECK_THAT(mq.deviations[0], Catch::Contains("2.01x"));
}

TEST_CASE("qdq: a zero-point-0 int8 pair keeps its scale but for code -128", "[qdq]") {
    // An int8 pair with zero point 0 covers [-12.8, 12.7]: symmetric int8 takes 12.8 / 127 =
    // 0.1008, the model's scale but for the one code -128 it gives up.
    Graph g = qdq_relu(DType::Int8, 0);
    const auto mq = lower::fold_qdq(g, sim::QuantSpec{});
    CHECK(mq.ranges.at("x").absmax == Approx(12.8f));
    CHECK(lower::qdq_notes(mq).front().find("the model's own (1 Q/DQ pairs") != std::string::npos);
}

TEST_CASE("qdq: a pair whose scales differ is not a pair, and stays", "[qdq]") {
    Graph g = qdq_relu(DType::Int8, 0);
    constant(g, "s2", Tensor::scalar<float>(0.2f));
    g.nodes[1].inputs[1] = "s2";  // DQ with another scale: a requantization, not a pair
    const auto mq = lower::fold_qdq(g, sim::QuantSpec{});
    CHECK_FALSE(mq.present());
    CHECK(g.nodes.size() == 3);
}

TEST_CASE("qdq: a graph output behind a pair keeps its name", "[qdq]") {
    Graph g = qdq_relu(DType::Int8, 0);
    g.nodes.pop_back();  // no Relu: d is the graph output
    g.outputs = {"d"};
    g.values.erase("y");
    const auto mq = lower::fold_qdq(g, sim::QuantSpec{});
    REQUIRE(mq.pairs == 1);
    REQUIRE(g.nodes.size() == 1);
    CHECK(g.nodes[0].op_type == "Identity");
    CHECK(g.nodes[0].inputs[0] == "x");
    CHECK(g.nodes[0].outputs[0] == "d");
}

TEST_CASE("qdq: a requantization chain folds onto the value it started from", "[qdq]") {
    // x -> Q(0.1) -> DQ(0.1) -> d -> Q(0.2) -> DQ(0.2) -> d2 -> Relu: both pairs quantize x, so
    // x's range is the wider one, int8 zero point 0 at scale 0.2: [-25.6, 25.4].
    Graph g = qdq_relu(DType::Int8, 0);
    constant(g, "s2", Tensor::scalar<float>(0.2f));
    value(g, "q2", DType::Int8, {1, 4});
    value(g, "d2", DType::Float32, {1, 4});
    g.nodes.insert(g.nodes.begin() + 2, {node("QuantizeLinear", {"d", "s2", "zp"}, {"q2"}),
                                         node("DequantizeLinear", {"q2", "s2", "zp"}, {"d2"})});
    g.nodes.back().inputs[0] = "d2";
    const auto mq = lower::fold_qdq(g, sim::QuantSpec{});
    CHECK(mq.pairs == 2);
    REQUIRE(g.nodes.size() == 1);
    CHECK(g.nodes[0].inputs[0] == "x");
    CHECK(mq.ranges.at("x").min == Approx(-25.6f));
    CHECK(mq.ranges.at("x").max == Approx(25.4f));
}
