// If, Loop and Scan end to end: models written here with the protobuf API, loaded (subgraphs,
// their reads of outer values as implicit inputs), inferred, pruned and executed. Every expected
// value is derived by hand in the comment beside it.
#include <onnx/onnx_pb.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "frontends/onnx/executor.h"
#include "frontends/onnx/passes.h"

using namespace xpusim;
namespace fs = std::filesystem;
using ::onnx::AttributeProto;
using ::onnx::GraphProto;
using ::onnx::TensorProto;

namespace {

::onnx::NodeProto* add_node(GraphProto& g, const std::string& op, std::vector<std::string> in,
                            std::vector<std::string> out) {
    auto* n = g.add_node();
    n->set_op_type(op);
    n->set_name(out[0] + "_node");
    for (auto& s : in) n->add_input(s);
    for (auto& s : out) n->add_output(s);
    return n;
}

// A graph input or output of element type `type` and shape `dims` ({} for a scalar).
void add_io(GraphProto& g, bool input, const std::string& name, int type,
            std::vector<int64_t> dims) {
    auto* v = input ? g.add_input() : g.add_output();
    v->set_name(name);
    auto* tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(type);
    auto* shape = tt->mutable_shape();
    for (int64_t d : dims) shape->add_dim()->set_dim_value(d);
}

void add_graph_attr(::onnx::NodeProto* n, const std::string& name, const GraphProto& body) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(AttributeProto::GRAPH);
    a->mutable_g()->CopyFrom(body);
}

void add_int_attr(::onnx::NodeProto* n, const std::string& name, int64_t v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(AttributeProto::INT);
    a->set_i(v);
}

void add_ints_attr(::onnx::NodeProto* n, const std::string& name, std::vector<int64_t> v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
}

std::string save(const GraphProto& g, int64_t opset) {
    ::onnx::ModelProto m;
    m.set_ir_version(8);
    m.add_opset_import()->set_version(opset);
    m.mutable_graph()->CopyFrom(g);
    const auto path =
        fs::temp_directory_path() / ("xpusim_control_flow_" + g.name() + "_" +
                                     std::to_string(reinterpret_cast<uintptr_t>(&g)) + ".onnx");
    std::ofstream f(path, std::ios::binary);
    m.SerializeToOstream(&f);
    return path.string();
}

sim::Tensor f32(const sim::Shape& s, const std::vector<float>& v) {
    return sim::Tensor::from_vector<float>(s, v);
}

std::vector<float> values(const sim::Tensor& t) {
    return std::vector<float>(t.data<float>(), t.data<float>() + t.numel());
}

}  // namespace

TEST_CASE("Loop reads an outer value and stacks its scan output", "[ops-cf]") {
    // delta = x * 2 is computed by the main graph and read only inside the body:
    // y_out = y_in + delta, scan = y_out; M = 3, no cond.
    // x = 0.5, y0 = 1: delta = 1, y = 2, 3, 4; final y = 4, scan = [[2], [3], [4]].
    GraphProto body;
    body.set_name("body");
    add_io(body, true, "i", TensorProto::INT64, {});
    add_io(body, true, "cond_in", TensorProto::BOOL, {});
    add_io(body, true, "y_in", TensorProto::FLOAT, {1});
    add_node(body, "Identity", {"cond_in"}, {"cond_out"});
    add_node(body, "Add", {"y_in", "delta"}, {"y_out"});
    add_node(body, "Identity", {"y_out"}, {"scan_out"});
    add_io(body, false, "cond_out", TensorProto::BOOL, {});
    add_io(body, false, "y_out", TensorProto::FLOAT, {1});
    add_io(body, false, "scan_out", TensorProto::FLOAT, {1});

    GraphProto g;
    g.set_name("loop");
    add_io(g, true, "x", TensorProto::FLOAT, {1});
    add_io(g, true, "y0", TensorProto::FLOAT, {1});
    auto* m = g.add_initializer();
    m->set_name("M");
    m->set_data_type(TensorProto::INT64);
    m->add_int64_data(3);
    auto* two = g.add_initializer();
    two->set_name("two");
    two->set_data_type(TensorProto::FLOAT);
    two->add_dims(1);
    two->add_float_data(2);
    // Written before the Mul it depends on through the body: ordering must see the read.
    add_graph_attr(add_node(g, "Loop", {"M", "", "y0"}, {"y", "scan"}), "body", body);
    add_node(g, "Mul", {"x", "two"}, {"delta"});
    add_io(g, false, "y", TensorProto::FLOAT, {1});
    add_io(g, false, "scan", TensorProto::FLOAT, {3, 1});
    const std::string path = save(g, 16);

    const frontend::Graph graph = frontend::load_model(path);
    REQUIRE(graph.nodes.size() == 2);  // the Mul survives dead-node removal
    CHECK(graph.nodes[0].op_type == "Mul");
    const frontend::Node& loop = graph.nodes[1];
    CHECK(loop.implicit_inputs == 1);
    CHECK(loop.inputs.back() == "delta");
    CHECK(loop.num_formal_inputs() == 3);
    // M is constant and there is no cond, so the scan output's shape is known: [3, 1].
    CHECK(graph.value("scan").shape == sim::Shape{3, 1});

    const auto out =
        frontend::execute_graph(graph, {{"x", f32({1}, {0.5f})}, {"y0", f32({1}, {1})}});
    CHECK(values(out.at("y")) == std::vector<float>{4});
    CHECK(out.at("scan").shape() == sim::Shape{3, 1});
    CHECK(values(out.at("scan")) == std::vector<float>{2, 3, 4});
    std::remove(path.c_str());
}

TEST_CASE("If runs the branch cond picks, each reading an outer value", "[ops-cf]") {
    // then: a + a; else: a * a. a = [3, -1]: then [6, -2], else [9, 1].
    GraphProto then_g, else_g;
    then_g.set_name("then");
    add_node(then_g, "Add", {"a", "a"}, {"t"});
    add_io(then_g, false, "t", TensorProto::FLOAT, {2});
    else_g.set_name("else");
    add_node(else_g, "Mul", {"a", "a"}, {"e"});
    add_io(else_g, false, "e", TensorProto::FLOAT, {2});

    GraphProto g;
    g.set_name("if");
    add_io(g, true, "cond", TensorProto::BOOL, {});
    add_io(g, true, "a", TensorProto::FLOAT, {2});
    auto* n = add_node(g, "If", {"cond"}, {"y"});
    add_graph_attr(n, "then_branch", then_g);
    add_graph_attr(n, "else_branch", else_g);
    add_io(g, false, "y", TensorProto::FLOAT, {2});
    const std::string path = save(g, 16);

    const frontend::Graph graph = frontend::load_model(path);
    // The branches agree on [2], so inference knows it although cond is only known at run time.
    CHECK(graph.value("y").shape == sim::Shape{2});
    const sim::Tensor a = f32({2}, {3, -1});
    auto out =
        frontend::execute_graph(graph, {{"cond", sim::Tensor::scalar<bool>(true)}, {"a", a}});
    CHECK(values(out.at("y")) == std::vector<float>{6, -2});
    out = frontend::execute_graph(graph, {{"cond", sim::Tensor::scalar<bool>(false)}, {"a", a}});
    CHECK(values(out.at("y")) == std::vector<float>{9, 1});
    std::remove(path.c_str());
}

TEST_CASE("Scan scans its input in reverse and prepends its output", "[ops-cf]") {
    // Running sum, x = [[1, 10], [2, 20], [3, 30]] scanned along axis 0 from the end:
    // sums [3, 30], [5, 50], [6, 60]; prepended, the scan output reads them backwards:
    // [[6, 60], [5, 50], [3, 30]]; the final sum is [6, 60].
    GraphProto body;
    body.set_name("body");
    add_io(body, true, "sum_in", TensorProto::FLOAT, {2});
    add_io(body, true, "next", TensorProto::FLOAT, {2});
    add_node(body, "Add", {"sum_in", "next"}, {"sum_out"});
    add_node(body, "Identity", {"sum_out"}, {"scan_out"});
    add_io(body, false, "sum_out", TensorProto::FLOAT, {2});
    add_io(body, false, "scan_out", TensorProto::FLOAT, {2});

    GraphProto g;
    g.set_name("scan");
    add_io(g, true, "init", TensorProto::FLOAT, {2});
    add_io(g, true, "x", TensorProto::FLOAT, {3, 2});
    auto* n = add_node(g, "Scan", {"init", "x"}, {"sum", "sums"});
    add_graph_attr(n, "body", body);
    add_int_attr(n, "num_scan_inputs", 1);
    add_ints_attr(n, "scan_input_directions", {1});
    add_ints_attr(n, "scan_output_directions", {1});
    add_io(g, false, "sum", TensorProto::FLOAT, {2});
    add_io(g, false, "sums", TensorProto::FLOAT, {3, 2});
    const std::string path = save(g, 16);

    const frontend::Graph graph = frontend::load_model(path);
    CHECK(graph.value("sums").shape == sim::Shape{3, 2});
    const auto out = frontend::execute_graph(
        graph, {{"init", f32({2}, {0, 0})}, {"x", f32({3, 2}, {1, 10, 2, 20, 3, 30})}});
    CHECK(values(out.at("sum")) == std::vector<float>{6, 60});
    CHECK(values(out.at("sums")) == std::vector<float>{6, 60, 5, 50, 3, 30});
    std::remove(path.c_str());
}

TEST_CASE("a subgraph reading an undefined name is a model error", "[ops-cf]") {
    GraphProto then_g;
    then_g.set_name("then");
    add_node(then_g, "Identity", {"nowhere"}, {"t"});
    add_io(then_g, false, "t", TensorProto::FLOAT, {1});
    GraphProto g;
    g.set_name("bad_if");
    add_io(g, true, "cond", TensorProto::BOOL, {});
    auto* n = add_node(g, "If", {"cond"}, {"y"});
    add_graph_attr(n, "then_branch", then_g);
    add_graph_attr(n, "else_branch", then_g);
    add_io(g, false, "y", TensorProto::FLOAT, {1});
    const std::string path = save(g, 16);
    CHECK_THROWS_WITH(frontend::load_model(path), Catch::Contains("'nowhere' is not defined"));
    std::remove(path.c_str());
}
