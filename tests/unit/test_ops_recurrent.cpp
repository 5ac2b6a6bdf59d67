// Unit tests of the LSTM, GRU and RNN kernels. Every expected value is derived by hand in the
// comment beside it, with weights chosen so that each gate lands on a closed form:
// sigmoid(ln 3) = 3/4, sigmoid(-ln 3) = 1/4, sigmoid(0) = 1/2, tanh(ln(3) / 2) = (3 - 1) / (3 + 1).
#include <catch2/catch.hpp>
#include <cmath>

#include "tests/unit/op_test_util.h"

using namespace xpusim;
using namespace xpusim::op_test;

namespace {

// A node reading `inputs` (nullptr: omitted) and naming `n_out` outputs.
Node recurrent_node(const std::string& op, const std::vector<const Tensor*>& inputs,
                    std::size_t n_out, std::map<std::string, Attribute> attrs = {}) {
    Node n = make_node(op, inputs, std::move(attrs));
    n.outputs.clear();
    for (std::size_t i = 0; i < n_out; ++i) n.outputs.push_back("out" + std::to_string(i));
    return n;
}

const double kLn3 = std::log(3.0);

}  // namespace

TEST_CASE("LSTM one step: gates from hand-picked pre-activations", "[ops-rnn]") {
    // X = 1, hidden 1, so each gate's pre-activation is its W entry (gate order i, o, f, c):
    // i = sigmoid(ln 3) = 0.75, o = sigmoid(0) = 0.5, f = sigmoid(-ln 3) = 0.25,
    // c = tanh(ln(2) / 2) = (2 - 1) / (2 + 1) = 1/3.
    // C0 = 2 ln 3 - 1: Ct = 0.25 * C0 + 0.75 / 3 = ln(3) / 2, Ht = 0.5 * tanh(ln(3) / 2) = 0.25.
    const Tensor x = f32({1, 1, 1}, {1});
    const Tensor w = f32({1, 4, 1}, {float(kLn3), 0, float(-kLn3), float(std::log(2.0) / 2)});
    const Tensor r = f32({1, 4, 1}, {0, 0, 0, 0});
    const Tensor h0 = f32({1, 1, 1}, {0});
    const Tensor c0 = f32({1, 1, 1}, {float(2 * kLn3 - 1)});
    const std::vector<const Tensor*> in{&x, &w, &r, nullptr, nullptr, &h0, &c0};
    const auto out = run_checked(recurrent_node("LSTM", in, 3), in);
    check_values(out[0], {1, 1, 1, 1}, {0.25});
    check_values(out[1], {1, 1, 1}, {0.25});
    check_values(out[2], {1, 1, 1}, {kLn3 / 2});

    // input_forget couples f to 1 - i = 0.25, whatever W_f says: the same states.
    const Tensor w2 = f32({1, 4, 1}, {float(kLn3), 0, 5, float(std::log(2.0) / 2)});
    const std::vector<const Tensor*> in2{&x, &w2, &r, nullptr, nullptr, &h0, &c0};
    const auto coupled =
        run_checked(recurrent_node("LSTM", in2, 3, {{"input_forget", Attribute::of_int(1)}}), in2);
    check_values(coupled[2], {1, 1, 1}, {kLn3 / 2});
}

TEST_CASE("LSTM peepholes add P (.) C to the i, f and o gates", "[ops-rnn]") {
    // W = 0, C0 = 1, P = (i: ln 3, o: 0, f: -ln 3): i = sigmoid(ln 3 * 1) = 0.75,
    // f = sigmoid(-ln 3) = 0.25, c = tanh(0) = 0: Ct = 0.25 * 1 = 0.25.
    // P_o = 4 ln 3 reads the new cell: o = sigmoid(4 ln 3 * 0.25) = 0.75;
    // Ht = 0.75 * tanh(0.25) = 0.75 * 0.244918662 = 0.183688997.
    const Tensor x = f32({1, 1, 1}, {1});
    const Tensor w = f32({1, 4, 1}, {0, 0, 0, 0});
    const Tensor r = f32({1, 4, 1}, {0, 0, 0, 0});
    const Tensor c0 = f32({1, 1, 1}, {1});
    const Tensor p = f32({1, 3}, {float(kLn3), float(4 * kLn3), float(-kLn3)});
    const std::vector<const Tensor*> in{&x, &w, &r, nullptr, nullptr, nullptr, &c0, &p};
    const auto out = run_checked(recurrent_node("LSTM", in, 3), in);
    check_values(out[1], {1, 1, 1}, {0.183688997});
    check_values(out[2], {1, 1, 1}, {0.25});
}

TEST_CASE("GRU one step, with and without linear_before_reset", "[ops-rnn]") {
    // X = 1, H0 = 2, hidden 1; W (z, r, h) = (0, ln 3, 0): z = 0.5, r = 0.75; R_h = 1,
    // Rb_h = 2; g = Affine with its defaults (alpha 1, beta 0), the identity.
    // linear_before_reset 0: h~ = (r * H0) * R_h + Rb_h = 1.5 + 2 = 3.5,
    //   Ht = (1 - z) * h~ + z * H0 = 1.75 + 1 = 2.75.
    // linear_before_reset 1: h~ = r * (H0 * R_h + Rb_h) = 0.75 * 4 = 3, Ht = 1.5 + 1 = 2.5.
    const Tensor x = f32({1, 1, 1}, {1});
    const Tensor w = f32({1, 3, 1}, {0, float(kLn3), 0});
    const Tensor r = f32({1, 3, 1}, {0, 0, 1});
    const Tensor b = f32({1, 6}, {0, 0, 0, 0, 0, 2});
    const Tensor h0 = f32({1, 1, 1}, {2});
    const std::vector<const Tensor*> in{&x, &w, &r, &b, nullptr, &h0};
    const auto acts = Attribute::of_strings({"Sigmoid", "Affine"});
    auto out = run_checked(recurrent_node("GRU", in, 2, {{"activations", acts}}), in);
    check_values(out[1], {1, 1, 1}, {2.75});
    out = run_checked(
        recurrent_node("GRU", in, 2,
                       {{"activations", acts}, {"linear_before_reset", Attribute::of_int(1)}}),
        in);
    check_values(out[0], {1, 1, 1, 1}, {2.5});
}

TEST_CASE("RNN reverse, batch-major, sequence_lens", "[ops-rnn]") {
    // Relu, W = 1, R = 0.5, no bias, layout 1: X [batch 2, seq 3, 1] = [1, 2, 3], [4, 5, 6];
    // sequence_lens [3, 2]. Reverse runs each entry from its last valid step:
    // b0: t2 = 3, t1 = 2 + 1.5 = 3.5, t0 = 1 + 1.75 = 2.75 (Y_h);
    // b1: t1 = 5, t0 = 4 + 2.5 = 6.5 (Y_h), t2 past its length stays 0.
    const Tensor x = f32({2, 3, 1}, {1, 2, 3, 4, 5, 6});
    const Tensor w = f32({1, 1, 1}, {1});
    const Tensor r = f32({1, 1, 1}, {0.5});
    const Tensor lens = Tensor::from_vector<int32_t>({2}, {3, 2});
    const std::vector<const Tensor*> in{&x, &w, &r, nullptr, &lens};
    const auto out = run_checked(recurrent_node("RNN", in, 2,
                                                {{"activations", Attribute::of_strings({"Relu"})},
                                                 {"direction", Attribute::of_string("reverse")},
                                                 {"layout", Attribute::of_int(1)}}),
                                 in);
    check_values(out[0], {2, 3, 1, 1}, {2.75, 3.5, 3, 6.5, 5, 0});
    check_values(out[1], {2, 1, 1}, {2.75, 6.5});
}

TEST_CASE("RNN bidirectional with clip", "[ops-rnn]") {
    // Identity (Affine) activations, W = 1, R = 0.5 both ways, clip 1, X = [3, -0.5]:
    // forward: t0 = clip(3) = 1, t1 = clip(-0.5 + 0.5) = 0;
    // reverse: t1 = clip(-0.5) = -0.5, t0 = clip(3 - 0.25) = 1.
    // Y [seq, dirs, batch, hidden] = t0 (1, 1), t1 (0, -0.5); Y_h = (forward t1, reverse t0).
    const Tensor x = f32({2, 1, 1}, {3, -0.5});
    const Tensor w = f32({2, 1, 1}, {1, 1});
    const Tensor r = f32({2, 1, 1}, {0.5, 0.5});
    const std::vector<const Tensor*> in{&x, &w, &r};
    const auto out =
        run_checked(recurrent_node("RNN", in, 2,
                                   {{"activations", Attribute::of_strings({"Affine", "Affine"})},
                                    {"direction", Attribute::of_string("bidirectional")},
                                    {"clip", Attribute::of_float(1.0)}}),
                    in);
    check_values(out[0], {2, 2, 1, 1}, {1, 1, 0, -0.5});
    check_values(out[1], {2, 1, 1}, {0, 1});
}

TEST_CASE("RNN activation_alpha and beta are consumed in order", "[ops-rnn]") {
    // Forward LeakyRelu takes alpha 0.1; reverse HardSigmoid takes alpha 0.25 and beta 0.5.
    // X = -1, W = 1: forward -1 * 0.1 = -0.1; reverse 0.25 * -1 + 0.5 = 0.25.
    const Tensor x = f32({1, 1, 1}, {-1});
    const Tensor w = f32({2, 1, 1}, {1, 1});
    const Tensor r = f32({2, 1, 1}, {0, 0});
    const std::vector<const Tensor*> in{&x, &w, &r};
    const auto out = run_checked(
        recurrent_node("RNN", in, 2,
                       {{"activations", Attribute::of_strings({"LeakyRelu", "HardSigmoid"})},
                        {"activation_alpha", Attribute::of_floats({0.1, 0.25})},
                        {"activation_beta", Attribute::of_floats({0.5})},
                        {"direction", Attribute::of_string("bidirectional")}}),
        in);
    check_values(out[1], {2, 1, 1}, {-0.1, 0.25});
}

TEST_CASE("Recurrent ops reject what they cannot honour", "[ops-rnn]") {
    const Tensor x = f32({1, 1, 1}, {1});
    const Tensor w = f32({1, 1, 1}, {1});
    const Tensor r = f32({1, 1, 1}, {1});
    auto run_rnn = [&](std::map<std::string, Attribute> attrs) {
        const Node n = recurrent_node("RNN", {&x, &w, &r}, 2, std::move(attrs));
        return run(n, 14, {&x, &w, &r});
    };
    CHECK_THROWS_AS(run_rnn({{"activations", Attribute::of_strings({"Gelu"})}}),
                    sim::UnsupportedError);
    // ScaledTanh has no default alpha and beta.
    CHECK_THROWS_AS(run_rnn({{"activations", Attribute::of_strings({"ScaledTanh"})}}),
                    sim::UnsupportedError);
    CHECK_THROWS_AS(run_rnn({{"direction", Attribute::of_string("sideways")}}),
                    sim::UnsupportedError);
    CHECK_THROWS_AS(run_rnn({{"layout", Attribute::of_int(2)}}), sim::UnsupportedError);
    // Two directions' worth of activations for one direction, and alpha nobody takes.
    CHECK_THROWS_AS(run_rnn({{"activations", Attribute::of_strings({"Relu", "Relu", "Relu"})}}),
                    sim::ModelError);
    CHECK_THROWS_AS(run_rnn({{"activation_alpha", Attribute::of_floats({0.5})}}), sim::ModelError);
    CHECK_THROWS_AS(run_rnn({{"hidden_size", Attribute::of_int(2)}}), sim::ModelError);
}
