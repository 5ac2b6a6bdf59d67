// unroll_recurrent: the unrolled graph, run on the reference executor, gives the outputs of the
// LSTM/GRU/RNN node it replaced (whose kernel computes the gates in double), to fp32 rounding:
// over the ONNX backend node tests (their weights made constants, as an exported model has them)
// and over built cases for every attribute the pass maps, including a bidirectional 2-layer one.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>
#include <set>

#include "frontends/lower/recurrent_unroll.h"
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

const char* kNodeTests = "/usr/share/libonnx-testdata/data/node";

// |a - b| <= 1e-6 * max(1, |b|) per element: fp32 rounding of a few dozen ops per step.
double worst_error(const frontend::TensorMap& got, const frontend::TensorMap& want) {
    double worst = 0.0;
    for (const auto& [name, w] : want) {
        const sim::Tensor& g = got.at(name);
        REQUIRE(g.shape() == w.shape());
        REQUIRE(g.dtype() == w.dtype());
        for (int64_t i = 0; i < w.numel(); ++i) {
            const double ref = w.get_as_double(i);
            worst = std::max(worst,
                             std::fabs(g.get_as_double(i) - ref) / std::max(1.0, std::fabs(ref)));
        }
    }
    return worst;
}

bool has_recurrent(const Graph& g) {
    return std::any_of(g.nodes.begin(), g.nodes.end(), [](const Node& n) {
        return n.op_type == "LSTM" || n.op_type == "GRU" || n.op_type == "RNN";
    });
}

// Unrolls a copy of `g` and checks it against `g` on `inputs`.
void check_unrolled(const Graph& g, const frontend::TensorMap& inputs) {
    Graph u = g;
    const auto kept = lower::unroll_recurrent(u);
    for (const auto& k : kept) INFO(k.node + ": " + k.reason);
    REQUIRE(kept.empty());
    REQUIRE_FALSE(has_recurrent(u));
    REQUIRE(!u.folded.empty());
    CHECK(worst_error(frontend::execute_graph(u, inputs), frontend::execute_graph(g, inputs)) <=
          1e-6);
}

// The node test of `dir` with every graph input but those in `activations` made a constant.
void check_node_test(const std::string& dir, const std::set<std::string>& activations) {
    Graph g = frontend::load_model(dir + "/model.onnx");
    frontend::TensorMap inputs;
    const std::vector<std::string> names = g.inputs;
    g.inputs.clear();
    for (std::size_t i = 0; i < names.size(); ++i) {
        sim::Tensor t = frontend::read_tensor_proto_file(dir + "/test_data_set_0/input_" +
                                                         std::to_string(i) + ".pb");
        if (activations.count(names[i])) {
            g.inputs.push_back(names[i]);
            inputs[names[i]] = t;
        } else {
            g.values[names[i]].constant = t;
        }
    }
    check_unrolled(g, inputs);
}

sim::Tensor random_tensor(const sim::Shape& s, std::mt19937& rng, float scale = 0.5f) {
    std::uniform_real_distribution<float> dist(-scale, scale);
    std::vector<float> v(static_cast<std::size_t>(sim::shape_numel(s)));
    for (auto& x : v) x = dist(rng);
    return sim::Tensor::from_vector<float>(s, v);
}

// A graph under construction: inputs, constants and nodes, shapes inferred at the end.
struct Builder {
    Graph g;
    frontend::TensorMap inputs;
    std::mt19937 rng{7};

    Builder() {
        g.name = "unroll_test";
        g.opset = 17;
        g.ir_version = 8;
    }
    void input(const std::string& name, const sim::Shape& s) {
        auto& v = g.values[name];
        v.name = name, v.shape = s, v.shape_known = true;
        g.inputs.push_back(name);
        inputs[name] = random_tensor(s, rng, 1.0f);
    }
    void constant(const std::string& name, sim::Tensor t) {
        auto& v = g.values[name];
        v.name = name, v.dtype = t.dtype(), v.shape = t.shape(), v.shape_known = true;
        v.constant = std::move(t);
    }
    Node& node(const std::string& name, const std::string& op, std::vector<std::string> in,
               std::vector<std::string> out) {
        Node n;
        n.name = name, n.op_type = op, n.inputs = std::move(in), n.outputs = std::move(out);
        for (const auto& o : n.outputs)
            if (!o.empty()) g.values[o].name = o;
        g.nodes.push_back(n);
        return g.nodes.back();
    }
    Graph done(std::vector<std::string> outputs) {
        g.outputs = std::move(outputs);
        frontend::infer_and_fold(g);
        return g;
    }
};

// One recurrent node of `op` over X [T, B, I] (or [B, T, I] with layout 1), H hidden, with W, R
// and B constants; the caller adds attributes and optional inputs.
struct Case {
    std::string op = "LSTM";
    int64_t T = 4, B = 2, I = 3, H = 5, D = 1;
    int64_t layout = 0;
    bool bias = true, peepholes = false, states_as_inputs = false, states_as_constants = false;
    std::map<std::string, Attribute> attrs;
};

void check_case(const Case& c) {
    Builder b;
    const int64_t G = c.op == "LSTM" ? 4 : c.op == "GRU" ? 3 : 1;
    b.input("X", c.layout ? sim::Shape{c.B, c.T, c.I} : sim::Shape{c.T, c.B, c.I});
    b.constant("W", random_tensor({c.D, G * c.H, c.I}, b.rng));
    b.constant("R", random_tensor({c.D, G * c.H, c.H}, b.rng));
    std::vector<std::string> in = {"X", "W", "R", "", "", "", "", ""};
    if (c.bias) b.constant("B", random_tensor({c.D, 2 * G * c.H}, b.rng)), in[3] = "B";
    const sim::Shape state = c.layout ? sim::Shape{c.B, c.D, c.H} : sim::Shape{c.D, c.B, c.H};
    for (std::size_t k = 5; k < (c.op == "LSTM" ? 7u : 6u); ++k) {
        const std::string name = k == 5 ? "h0" : "c0";
        if (c.states_as_inputs) b.input(name, state), in[k] = name;
        if (c.states_as_constants)
            b.constant(name, random_tensor(state, b.rng, 1.0f)), in[k] = name;
    }
    if (c.peepholes) b.constant("P", random_tensor({c.D, 3 * c.H}, b.rng)), in[7] = "P";
    while (!in.empty() && in.back().empty()) in.pop_back();
    std::vector<std::string> out = {"Y", "Y_h"};
    if (c.op == "LSTM") out.push_back("Y_c");
    Node& n = b.node(c.op + "_0", c.op, in, out);
    n.attrs = c.attrs;
    n.attrs["hidden_size"] = Attribute::of_int(c.H);
    if (c.layout) n.attrs["layout"] = Attribute::of_int(1);
    if (c.D == 2) n.attrs["direction"] = Attribute::of_string("bidirectional");
    const Graph g = b.done(out);
    check_unrolled(g, b.inputs);
}

}  // namespace

TEST_CASE("unroll_recurrent matches the ONNX node tests", "[unroll]") {
    for (const char* name :
         {"test_lstm_batchwise", "test_lstm_defaults", "test_lstm_with_initial_bias",
          "test_lstm_with_peepholes", "test_gru_batchwise", "test_gru_defaults",
          "test_gru_seq_length", "test_gru_with_initial_bias", "test_rnn_seq_length"}) {
        const std::string dir = std::string(kNodeTests) + "/" + name;
        if (!std::filesystem::exists(dir)) continue;
        SECTION(name) {
            // Weights constant, as an exported model has them; states constant or activations.
            check_node_test(dir, {"X"});
            check_node_test(dir, {"X", "initial_h", "initial_c"});
        }
    }
}

TEST_CASE("unroll_recurrent matches every mapped attribute", "[unroll]") {
    Case c;
    SECTION("LSTM, zero states, one batch row (time-major rows)") {
        c.B = 1;
        check_case(c);
    }
    SECTION("LSTM with peepholes, clip, states as inputs, reverse") {
        c.peepholes = true, c.states_as_inputs = true;
        c.attrs["clip"] = Attribute::of_float(0.7);
        c.attrs["direction"] = Attribute::of_string("reverse");
        check_case(c);
    }
    SECTION("LSTM input_forget, constant states, layout 1, bidirectional") {
        c.D = 2, c.layout = 1, c.peepholes = true, c.states_as_constants = true;
        c.attrs["input_forget"] = Attribute::of_int(1);
        check_case(c);
    }
    SECTION("LSTM with alpha/beta activations") {
        c.states_as_inputs = true;
        c.attrs["activations"] = Attribute::of_strings({"HardSigmoid", "ScaledTanh", "Affine"});
        c.attrs["activation_alpha"] = Attribute::of_floats({0.3, 0.9, 0.5});
        c.attrs["activation_beta"] = Attribute::of_floats({0.4, 1.3, 0.1});
        check_case(c);
    }
    SECTION("GRU, linear_before_reset both ways, constant and input states") {
        c.op = "GRU";
        for (int lbr = 0; lbr < 2; ++lbr) {
            c.attrs["linear_before_reset"] = Attribute::of_int(lbr);
            check_case(c);  // zero initial state
            c.states_as_inputs = false, c.states_as_constants = true;
            check_case(c);
            c.states_as_inputs = true, c.states_as_constants = false, c.D = 2;
            check_case(c);
            c.D = 1;
        }
    }
    SECTION("GRU layout 1 with many batch rows, clip and LeakyRelu/Softsign") {
        c.op = "GRU", c.layout = 1, c.B = 3;
        c.attrs["clip"] = Attribute::of_float(1.5);
        c.attrs["activations"] = Attribute::of_strings({"HardSigmoid", "Softsign"});
        check_case(c);
        c.attrs["activations"] = Attribute::of_strings({"Sigmoid", "LeakyRelu"});
        c.attrs["activation_alpha"] = Attribute::of_floats({0.2});
        check_case(c);
    }
    SECTION("RNN with each single activation") {
        c.op = "RNN", c.states_as_inputs = true;
        for (const char* a : {"Relu", "Tanh", "Sigmoid", "Elu", "Softplus", "ThresholdedRelu"}) {
            INFO(a);
            c.attrs["activations"] = Attribute::of_strings({a});
            check_case(c);
        }
        c.D = 2;
        c.attrs["activations"] = Attribute::of_strings({"Relu", "Tanh"});
        check_case(c);
    }
}

TEST_CASE("unroll_recurrent of a bidirectional 2-layer LSTM as PyTorch exports it", "[unroll]") {
    // X [T=5, B=2, I=3] -> LSTM (H=4, both ways) -> Y [5, 2, 2, 4] -> Transpose (0, 2, 1, 3)
    // -> Reshape [5, 2, 8] -> LSTM (H=4, both ways, initial states as inputs) -> Y, Y_h, Y_c.
    Builder b;
    b.input("X", {5, 2, 3});
    b.input("h0", {2, 2, 4});
    b.input("c0", {2, 2, 4});
    for (int layer = 0; layer < 2; ++layer) {
        const std::string l = std::to_string(layer);
        const int64_t I = layer == 0 ? 3 : 8;
        b.constant("W" + l, random_tensor({2, 16, I}, b.rng));
        b.constant("R" + l, random_tensor({2, 16, 4}, b.rng));
        b.constant("B" + l, random_tensor({2, 32}, b.rng));
    }
    Node& first = b.node("LSTM_0", "LSTM", {"X", "W0", "R0", "B0"}, {"Y0", "", ""});
    first.attrs["hidden_size"] = Attribute::of_int(4);
    first.attrs["direction"] = Attribute::of_string("bidirectional");
    Node& tr = b.node("Transpose_1", "Transpose", {"Y0"}, {"Yt"});
    Attribute perm;
    perm.kind = Attribute::Kind::Ints;
    perm.ints = {0, 2, 1, 3};
    tr.attrs["perm"] = perm;
    b.constant("shape", sim::Tensor::from_vector<int64_t>({3}, {5, 2, 8}));
    b.node("Reshape_2", "Reshape", {"Yt", "shape"}, {"X1"});
    Node& second =
        b.node("LSTM_3", "LSTM", {"X1", "W1", "R1", "B1", "", "h0", "c0"}, {"Y", "Y_h", "Y_c"});
    second.attrs["hidden_size"] = Attribute::of_int(4);
    second.attrs["direction"] = Attribute::of_string("bidirectional");
    const Graph g = b.done({"Y", "Y_h", "Y_c"});
    check_unrolled(g, b.inputs);
    Graph u = g;
    lower::unroll_recurrent(u);
    // Names trace back to the node: the second layer's backward direction at time 2.
    CHECK(std::any_of(u.nodes.begin(), u.nodes.end(),
                      [](const Node& n) { return n.name == "LSTM_3/bwd/t2/gates_i"; }));
    CHECK(u.folded.size() == 2);
    CHECK(u.folded[1].name == "LSTM_3");
}

TEST_CASE("unroll_recurrent leaves what it cannot express, with the reason", "[unroll]") {
    Builder b;
    b.input("X", {3, 2, 2});
    b.input("W", {1, 12, 2});  // weights that are an activation
    b.constant("R", random_tensor({1, 12, 3}, b.rng));
    b.constant("lens", sim::Tensor::from_vector<int32_t>({2}, {3, 2}));
    b.constant("W2", random_tensor({1, 12, 2}, b.rng));
    b.node("lstm_w", "LSTM", {"X", "W", "R"}, {"", "h1"}).attrs["hidden_size"] =
        Attribute::of_int(3);
    b.node("lstm_lens", "LSTM", {"X", "W2", "R", "", "lens"}, {"", "h2"}).attrs["hidden_size"] =
        Attribute::of_int(3);
    Graph g = b.done({"h1", "h2"});
    CHECK_THAT(lower::recurrent_kept_reason(g, g.nodes[0]), Catch::Contains("W is an activation"));
    const auto kept = lower::unroll_recurrent(g);
    REQUIRE(kept.size() == 2);
    CHECK(kept[0].node == "lstm_w");
    CHECK_THAT(kept[0].reason, Catch::Contains("W is an activation"));
    CHECK(kept[1].node == "lstm_lens");
    CHECK_THAT(kept[1].reason, Catch::Contains("sequence_lens 2 differs from T = 3"));
    CHECK(g.nodes.size() == 2);
    CHECK(g.folded.empty());
    // A node it unrolls has no reason.
    Builder ok;
    ok.input("X", {2, 1, 2});
    ok.constant("W", random_tensor({1, 12, 2}, ok.rng));
    ok.constant("R", random_tensor({1, 12, 3}, ok.rng));
    ok.node("lstm", "LSTM", {"X", "W", "R"}, {"", "h"}).attrs["hidden_size"] = Attribute::of_int(3);
    const Graph good = ok.done({"h"});
    CHECK(lower::recurrent_kept_reason(good, good.nodes[0]).empty());
}
