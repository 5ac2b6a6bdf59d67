// unroll_loops: a Loop of constant trip count becomes copies of its body, which the reference
// executor runs to the values the Loop gives; a Loop whose iterations depend on the data stays,
// with the reason. Every expected value is derived by hand in the comment beside it.
#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>

#include "frontends/lower/loop_unroll.h"
#include "frontends/onnx/executor.h"
#include "frontends/onnx/loader.h"
#include "frontends/onnx/passes.h"

using xpusim::frontend::Attribute;
using xpusim::frontend::Graph;
using xpusim::frontend::Node;
namespace frontend = xpusim::frontend;
namespace lower = xpusim::lower;
namespace sim = xpusim::sim;

namespace {

Node node(const std::string& name, const std::string& op, std::vector<std::string> in,
          std::vector<std::string> out) {
    Node n;
    n.name = name;
    n.op_type = op;
    n.inputs = std::move(in);
    n.outputs = std::move(out);
    return n;
}

void value(Graph& g, const std::string& name, sim::DType dtype, sim::Shape shape,
           bool known = false) {
    auto& v = g.values[name];
    v.name = name;
    v.dtype = dtype;
    v.shape = std::move(shape);
    v.shape_known = known;
}

void constant(Graph& g, const std::string& name, sim::Tensor t) {
    value(g, name, t.dtype(), t.shape(), true);
    g.values[name].constant = std::move(t);
}

// Body: x_out = x_in * 2 + float(i), cond_out = `cond` of cond_in, scan = x_out.
// Main: x, scan = Loop(M = 3, cond_init, x0) with x0 a graph input [2].
Graph doubling_loop(bool data_cond) {
    auto body = std::make_shared<Graph>();
    body->name = "body";
    body->opset = 17;
    body->inputs = {"i", "cond_in", "x_in"};
    value(*body, "i", sim::DType::Int64, {});
    value(*body, "cond_in", sim::DType::Bool, {});
    value(*body, "x_in", sim::DType::Float32, {2});
    constant(*body, "two", sim::Tensor::scalar<float>(2.0f));
    body->nodes.push_back(node("double", "Mul", {"x_in", "two"}, {"x2"}));
    Node cast = node("cast", "Cast", {"i"}, {"i_f"});
    Attribute to;
    to.kind = Attribute::Kind::Int;
    to.i = 1;  // FLOAT
    cast.attrs["to"] = to;
    body->nodes.push_back(cast);
    body->nodes.push_back(node("add", "Add", {"x2", "i_f"}, {"x_out"}));
    body->nodes.push_back(node("scan", "Identity", {"x_out"}, {"scan_out"}));
    if (data_cond) {
        // cond_out = x_out < 10: the loop stops when x grows.
        constant(*body, "ten", sim::Tensor::scalar<float>(10.0f));
        body->nodes.push_back(node("cond", "Less", {"x_out", "ten"}, {"cond_out"}));
    } else {
        body->nodes.push_back(node("cond", "Identity", {"cond_in"}, {"cond_out"}));
    }
    for (const char* v : {"x2", "i_f", "x_out", "scan_out", "cond_out"})
        value(*body, v, sim::DType::Float32, {});
    body->outputs = {"cond_out", "x_out", "scan_out"};

    Graph g;
    g.name = "main";
    g.opset = 17;
    g.inputs = {"x0"};
    value(g, "x0", sim::DType::Float32, {2}, true);
    constant(g, "M", sim::Tensor::scalar<int64_t>(3));
    constant(g, "cond_init", sim::Tensor::scalar<bool>(true));
    Node loop = node("loop", "Loop", {"M", "cond_init", "x0"}, {"x", "scan"});
    Attribute b;
    b.kind = Attribute::Kind::Graph;
    b.g = body;
    loop.attrs["body"] = b;
    g.nodes.push_back(loop);
    value(g, "x", sim::DType::Float32, {});
    value(g, "scan", sim::DType::Float32, {});
    g.outputs = {"x", "scan"};
    frontend::infer_and_fold(g);
    return g;
}

bool has_loop(const Graph& g) {
    return std::any_of(g.nodes.begin(), g.nodes.end(),
                       [](const Node& n) { return n.op_type == "Loop"; });
}

std::vector<float> floats(const sim::Tensor& t) {
    std::vector<float> out;
    for (int64_t i = 0; i < t.numel(); ++i) out.push_back(static_cast<float>(t.get_as_double(i)));
    return out;
}

}  // namespace

TEST_CASE("unroll_loops unrolls a Loop of constant trip count", "[loop-unroll]") {
    const Graph g = doubling_loop(false);
    Graph u = g;
    const auto kept = lower::unroll_loops(u);
    for (const auto& k : kept) INFO(k.node + ": " + k.reason);
    REQUIRE(kept.empty());
    REQUIRE_FALSE(has_loop(u));
    REQUIRE(u.folded.size() == 1);
    CHECK(u.folded[0].name == "loop");
    CHECK(lower::loop_kept_reason(g, g.nodes[0]).empty());
    // Iteration k's copy of body node n is "loop/i<k>/n".
    CHECK(std::any_of(u.nodes.begin(), u.nodes.end(),
                      [](const Node& n) { return n.name == "loop/i2/add"; }));
    CHECK(u.value("scan").shape == sim::Shape{3, 2});

    // x0 = [1, -1]: i=0: [2, -2]; i=1: [4+1, -4+1] = [5, -3]; i=2: [10+2, -6+2] = [12, -4].
    const frontend::TensorMap in{{"x0", sim::Tensor::from_vector<float>({2}, {1.0f, -1.0f})}};
    const auto out = frontend::execute_graph(u, in);
    CHECK(floats(out.at("x")) == std::vector<float>{12, -4});
    CHECK(out.at("scan").shape() == sim::Shape{3, 2});
    CHECK(floats(out.at("scan")) == std::vector<float>{2, -2, 5, -3, 12, -4});
    // The Loop itself gives the same.
    const auto ref = frontend::execute_graph(g, in);
    CHECK(floats(ref.at("scan")) == floats(out.at("scan")));
}

TEST_CASE("unroll_loops leaves a Loop whose cond depends on the data", "[loop-unroll]") {
    Graph g = doubling_loop(true);
    const auto kept = lower::unroll_loops(g);
    REQUIRE(kept.size() == 1);
    CHECK(kept[0].node == "loop");
    CHECK_THAT(kept[0].reason, Catch::Contains("computes its cond"));
    CHECK(has_loop(g));
    CHECK_THAT(lower::loop_kept_reason(g, g.nodes[0]), Catch::Contains("computes its cond"));
}

TEST_CASE("unroll_loops of the ONNX Loop node test with its trip count a constant",
          "[loop-unroll]") {
    const std::string dir = "/usr/share/libonnx-testdata/data/node/test_loop11";
    auto read = [&](const std::string& f) {
        return frontend::read_tensor_proto_file(dir + "/test_data_set_0/" + f + ".pb");
    };
    Graph g = frontend::load_model(dir + "/model.onnx");
    REQUIRE(g.inputs == std::vector<std::string>{"trip_count", "cond", "y"});
    // As the file has it, M is a graph input: the loop stays.
    CHECK_THAT(lower::loop_kept_reason(g, g.nodes[0]), Catch::Contains("only known at run time"));
    // M (5) and cond (true) as constants, as an exported model would have them.
    g.inputs = {"y"};
    g.values["trip_count"].constant = read("input_0");
    g.values["cond"].constant = read("input_1");
    frontend::infer_and_fold(g);
    const auto kept = lower::unroll_loops(g);
    for (const auto& k : kept) INFO(k.node + ": " + k.reason);
    REQUIRE(kept.empty());
    REQUIRE_FALSE(has_loop(g));
    const auto out = frontend::execute_graph(g, {{"y", read("input_2")}});
    // y = -2 plus x[0..k] of x = [1, 2, 3, 4, 5]: -1, 1, 4, 8, 13.
    CHECK(floats(out.at("res_y")) == floats(read("output_0")));
    CHECK(floats(out.at("res_y")) == std::vector<float>{13});
    CHECK(out.at("res_scan").shape() == read("output_1").shape());
    CHECK(floats(out.at("res_scan")) == floats(read("output_1")));
    CHECK(floats(out.at("res_scan")) == std::vector<float>{-1, 1, 4, 8, 13});
}
