// Unit tests of the loss, unary math and signal kernels (NegativeLogLikelihoodLoss,
// SoftmaxCrossEntropyLoss, the trigonometric and hyperbolic functions, Shrink, BitShift, Det,
// the windows, DFT, STFT and MelWeightMatrix). Every expected value is derived by hand in the
// comment beside it.
#include <catch2/catch.hpp>
#include <cmath>

#include "tests/unit/op_test_util.h"

using namespace xpusim;
using namespace xpusim::op_test;

namespace {

template <class T>
Tensor tensor_of(const Shape& s, const std::vector<T>& v) {
    return Tensor::from_vector<T>(s, v);
}

// infer() with every input known at load time, then compute(); checks that they agree.
std::vector<Tensor> run_constant(const Node& node, const std::vector<const Tensor*>& inputs,
                                 int64_t opset = 17) {
    const InferContext ictx = infer(node, opset, inputs, std::vector<bool>(inputs.size(), true));
    std::vector<Tensor> out = run(node, opset, inputs);
    for (std::size_t i = 0; i < ictx.output_shapes.size(); ++i) {
        REQUIRE(i < out.size());
        CHECK(ictx.output_dtypes[i] == out[i].dtype());
        CHECK(ictx.output_shapes[i] == out[i].shape());
    }
    return out;
}

}  // namespace

// ---- NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss --------------------------------------

TEST_CASE("NegativeLogLikelihoodLoss reductions with weights and ignore_index", "[ops-math]") {
    // input [[-1, -2, -3], [-4, -5, -6]], target [2, 0], weight [1, 2, 3]:
    // loss = [-3 * -3, -1 * -4] = [9, 4]; sum 13; mean 13 / (w[2] + w[0]) = 13 / 4 = 3.25.
    const Tensor x = f32({2, 3}, {-1, -2, -3, -4, -5, -6});
    const Tensor t = i64({2}, {2, 0});
    const Tensor w = f32({3}, {1, 2, 3});
    auto node = [](const char* r) {
        return make_node("NegativeLogLikelihoodLoss", 3, 1, {{"reduction", string_attr(r)}});
    };
    check_values(run_checked(node("none"), {&x, &t, &w}, 13)[0], {2}, {9, 4});
    check_values(run_checked(node("sum"), {&x, &t, &w}, 13)[0], {}, {13});
    check_values(run_checked(node("mean"), {&x, &t, &w}, 13)[0], {}, {3.25});
    // ignore_index 2 drops the first element and its weight: mean 4 / 1 = 4.
    const Node ii = make_node("NegativeLogLikelihoodLoss", 3, 1, {{"ignore_index", int_attr(2)}});
    check_values(run_checked(ii, {&x, &t, &w}, 13)[0], {}, {4});
}

TEST_CASE("NegativeLogLikelihoodLoss over extra dimensions", "[ops-math]") {
    // input [1, 2, 2]: class 0 = [-1, -2], class 1 = [-3, -4]; target [[1, 0]] takes
    // -x[0][1][0] = 3 and -x[0][0][1] = 2; the unweighted mean is 5 / 2 = 2.5.
    const Tensor x = f32({1, 2, 2}, {-1, -2, -3, -4});
    const Tensor t = tensor_of<int32_t>({1, 2}, {1, 0});
    const Node none =
        make_node("NegativeLogLikelihoodLoss", 2, 1, {{"reduction", string_attr("none")}});
    check_values(run_checked(none, {&x, &t}, 13)[0], {1, 2}, {3, 2});
    check_values(run_checked(make_node("NegativeLogLikelihoodLoss", 2, 1), {&x, &t}, 13)[0], {},
                 {2.5});
}

TEST_CASE("NegativeLogLikelihoodLoss rejects bad targets and reductions", "[ops-math]") {
    const Tensor x = f32({1, 2}, {-1, -2});
    const Tensor t = i64({1}, {2});  // class 2 of 2
    CHECK_THROWS_AS(run(make_node("NegativeLogLikelihoodLoss", 2, 1), 13, {&x, &t}),
                    sim::ModelError);
    const Tensor t0 = i64({1}, {0});
    const Node max_r =
        make_node("NegativeLogLikelihoodLoss", 2, 1, {{"reduction", string_attr("max")}});
    CHECK_THROWS_AS(run(max_r, 13, {&x, &t0}), sim::UnsupportedError);
}

TEST_CASE("SoftmaxCrossEntropyLoss returns the loss and the log-probabilities", "[ops-math]") {
    // scores [[0, ln 3]]: softmax [1/4, 3/4], log_prob [ln 0.25, ln 0.75] = [-1.386294,
    // -0.287682]; label 0 gives loss -ln 0.25 = 1.386294.
    const Tensor x = f32({1, 2}, {0, std::log(3.0f)});
    const Tensor t = i64({1}, {0});
    const Node n = make_node("SoftmaxCrossEntropyLoss", 2, 2);
    const auto y = run_checked(n, {&x, &t}, 13);
    check_values(y[0], {}, {1.386294});
    check_values(y[1], {1, 2}, {-1.386294, -0.287682});
}

// ---- unary math ---------------------------------------------------------------------------------

TEST_CASE("Trigonometric and hyperbolic functions", "[ops-math]") {
    const auto one = [](const char* op, float v) {
        const Tensor x = f32({1}, {v});
        return run_checked(make_node(op, 1, 1), {&x}, 9)[0];
    };
    check_close(one("Tan", 0.78539816f), {1.0}, 1e-6);  // tan(pi/4)
    check_close(one("Atan", 1.0f), {0.785398}, 1e-6);   // pi/4
    check_close(one("Asin", 0.5f), {0.523599}, 1e-6);   // pi/6
    check_close(one("Acos", 0.5f), {1.047198}, 1e-6);   // pi/3
    check_close(one("Sinh", 1.0f), {1.175201}, 1e-6);   // (e - 1/e) / 2
    check_close(one("Cosh", 1.0f), {1.543081}, 1e-6);   // (e + 1/e) / 2
    check_close(one("Asinh", 1.0f), {0.881374}, 1e-6);  // ln(1 + sqrt 2)
    check_close(one("Acosh", 2.0f), {1.316958}, 1e-6);  // ln(2 + sqrt 3)
    check_close(one("Atanh", 0.5f), {0.549306}, 1e-6);  // ln(3) / 2
}

TEST_CASE("Shrink zeroes [-lambd, lambd] and moves the rest toward zero by bias", "[ops-math]") {
    // lambd 1.5, bias 1.5: -2 -> -0.5, -1, 0 and 1 -> 0, 2 -> 0.5.
    const Tensor x = f32({5}, {-2, -1, 0, 1, 2});
    const Node n =
        make_node("Shrink", 1, 1, {{"lambd", float_attr(1.5)}, {"bias", float_attr(1.5)}});
    check_values(run_checked(n, {&x}, 9)[0], {5}, {-0.5, 0, 0, 0, 0.5});
    // int8, lambd 1, bias 1: -3 -> -2, -1 and 0 -> 0 (not beyond lambd), 2 -> 1.
    const Tensor xi = tensor_of<int8_t>({4}, {-3, -1, 0, 2});
    const Node ni =
        make_node("Shrink", 1, 1, {{"lambd", float_attr(1.0)}, {"bias", float_attr(1.0)}});
    CHECK(values<int8_t>(run_checked(ni, {&xi}, 9)[0]) == std::vector<int8_t>{-2, 0, 0, 1});
}

TEST_CASE("BitShift shifts unsigned integers with broadcasting", "[ops-math]") {
    // LEFT: 1 << 1 = 2, 2 << 2 = 8, 128 << 1 = 256 wraps to 0 in uint8, 1 << 8 shifts out -> 0.
    const Tensor x = tensor_of<uint8_t>({4}, {1, 2, 128, 1});
    const Tensor s = tensor_of<uint8_t>({4}, {1, 2, 1, 8});
    const Node left = make_node("BitShift", 2, 1, {{"direction", string_attr("LEFT")}});
    CHECK(values<uint8_t>(run_checked(left, {&x, &s}, 11)[0]) == std::vector<uint8_t>{2, 8, 0, 0});
    // RIGHT by a broadcast scalar 4: 16 >> 4 = 1, 1 >> 4 = 0.
    const Tensor xr = tensor_of<uint32_t>({2}, {16, 1});
    const Tensor sr = tensor_of<uint32_t>({}, {4});
    const Node right = make_node("BitShift", 2, 1, {{"direction", string_attr("RIGHT")}});
    CHECK(values<uint32_t>(run_checked(right, {&xr, &sr}, 11)[0]) == std::vector<uint32_t>{1, 0});
    // direction is required.
    CHECK_THROWS_AS(run(make_node("BitShift", 2, 1), 11, {&xr, &sr}), sim::ModelError);
}

TEST_CASE("Det of a matrix and of a batch", "[ops-math]") {
    // [[1, 2], [3, 4]]: 1 * 4 - 2 * 3 = -2.
    const Tensor a = f32({2, 2}, {1, 2, 3, 4});
    check_values(run_checked(make_node("Det", 1, 1), {&a}, 11)[0], {}, {-2});
    // Batch of three 3x3: 2I -> 8; rows 0 and 1 of I swapped -> -1; [[1,2,0],[2,4,0],[0,0,1]]
    // has two proportional rows -> 0.
    const Tensor b = f32({3, 3, 3}, {2, 0, 0, 0, 2, 0, 0, 0, 2,  //
                                     0, 1, 0, 1, 0, 0, 0, 0, 1,  //
                                     1, 2, 0, 2, 4, 0, 0, 0, 1});
    check_values(run_checked(make_node("Det", 1, 1), {&b}, 11)[0], {3}, {8, -1, 0});
    const Tensor c = f32({2, 3}, std::vector<float>(6, 1));
    CHECK_THROWS_AS(run(make_node("Det", 1, 1), 11, {&c}), sim::ModelError);
}

// ---- windows ------------------------------------------------------------------------------------

TEST_CASE("Hann, Hamming and Blackman windows", "[ops-math]") {
    const Tensor four = tensor_of<int32_t>({}, {4});
    const Tensor three = tensor_of<int64_t>({}, {3});
    // Periodic Hann of 4: 0.5 - 0.5 cos(2 pi n / 4) = 0, 0.5, 1, 0.5.
    check_values(run_constant(make_node("HannWindow", 1, 1), {&four})[0], {4}, {0, 0.5, 1, 0.5});
    // Symmetric Hann of 3 (N = 2): 0, 0.5 - 0.5 cos(pi) = 1, 0.
    const Node sym = make_node("HannWindow", 1, 1, {{"periodic", int_attr(0)}});
    check_values(run_constant(sym, {&three})[0], {3}, {0, 1, 0});
    // Periodic Hamming of 4: 25/46 - 21/46 cos(pi n / 2) = 4/46, 25/46, 46/46, 25/46.
    check_values(run_constant(make_node("HammingWindow", 1, 1), {&four})[0], {4},
                 {4.0 / 46, 25.0 / 46, 1, 25.0 / 46});
    // Symmetric Blackman of 3: 0.42 - 0.5 + 0.08 = 0, 0.42 + 0.5 + 0.08 = 1, 0; as double.
    const Node black = make_node("BlackmanWindow", 1, 1,
                                 {{"periodic", int_attr(0)}, {"output_datatype", int_attr(11)}});
    const auto y = run_constant(black, {&three})[0];
    CHECK(y.dtype() == DType::Float64);
    check_values(y, {3}, {0, 1, 0});
    // The size decides the shape: not known before running, inference leaves it to run time.
    CHECK_THROWS_AS(infer(make_node("HannWindow", 1, 1), 17, {&four}), sim::UnsupportedError);
}

// ---- DFT ----------------------------------------------------------------------------------------

TEST_CASE("DFT of a real signal, onesided, inverse and dft_length", "[ops-math]") {
    // x = [1, 2, 3, 4]: X[k] = sum_j x[j] (-i)^(jk): X0 = 10, X1 = 1 - 2i - 3 + 4i = -2 + 2i,
    // X2 = 1 - 2 + 3 - 4 = -2, X3 = -2 - 2i.
    const Tensor x = f32({1, 4, 1}, {1, 2, 3, 4});
    check_values(run_checked(make_node("DFT", 1, 1), {&x})[0], {1, 4, 2},
                 {10, 0, -2, 2, -2, 0, -2, -2});
    // onesided keeps 4 / 2 + 1 = 3 bins.
    const Node one = make_node("DFT", 1, 1, {{"onesided", int_attr(1)}});
    check_values(run_checked(one, {&x})[0], {1, 3, 2}, {10, 0, -2, 2, -2, 0});
    // The inverse of that spectrum is x again: (1/4) sum_k X[k] i^(jk).
    const Tensor spec = f32({1, 4, 2}, {10, 0, -2, 2, -2, 0, -2, -2});
    const Node inv = make_node("DFT", 1, 1, {{"inverse", int_attr(1)}});
    check_values(run_checked(inv, {&spec})[0], {1, 4, 2}, {1, 0, 2, 0, 3, 0, 4, 0});
    // dft_length 2 keeps [1, 2]: X0 = 3, X1 = 1 - 2 = -1. Opset 20 form, axis -2 given.
    const Tensor two = i64({}, {2});
    const Tensor axis = i64({}, {-2});
    const auto y = run_constant(make_node("DFT", {&x, &two, &axis}), {&x, &two, &axis}, 20);
    check_values(y[0], {1, 2, 2}, {3, 0, -1, 0});
}

TEST_CASE("DFT of a length that is not a power of two, along a middle axis", "[ops-math]") {
    // Signal along axis 1 of [1, 3, 2, 1]: column 0 is [0, 1, 0], column 1 is [1, 1, 1].
    // An impulse at j = 1 gives X[k] = e^(-2 pi i k / 3): 1, -0.5 - 0.866025i, -0.5 + 0.866025i;
    // a constant gives [3, 0, 0].
    const Tensor x = f32({1, 3, 2, 1}, {0, 1, 1, 1, 0, 1});
    check_values(run_checked(make_node("DFT", 1, 1), {&x})[0], {1, 3, 2, 2},
                 {1, 0, 3, 0, -0.5, -0.866025, 0, 0, -0.5, 0.866025, 0, 0});
}

TEST_CASE("DFT and its inverse of a cosine over six samples", "[ops-math]") {
    // x[j] = cos(2 pi j / 6) = (e^(i w j) + e^(-i w j)) / 2 with w = 2 pi / 6: each exponential
    // sums to 6 in its own bin, so X = [0, 3, 0, 0, 0, 3]; the inverse gives x back.
    const Tensor x = f32({1, 6, 1}, {1, 0.5f, -0.5f, -1, -0.5f, 0.5f});
    check_values(run_checked(make_node("DFT", 1, 1), {&x})[0], {1, 6, 2},
                 {0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 3, 0});
    const Tensor spec = f32({1, 6, 2}, {0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 3, 0});
    const Node inv = make_node("DFT", 1, 1, {{"inverse", int_attr(1)}});
    check_values(run_checked(inv, {&spec})[0], {1, 6, 2},
                 {1, 0, 0.5, 0, -0.5, 0, -1, 0, -0.5, 0, 0.5, 0});
}

TEST_CASE("DFT rejects the complex axis and an axis attribute from opset 20", "[ops-math]") {
    const Tensor x = f32({1, 4, 1}, {1, 2, 3, 4});
    const Node last = make_node("DFT", 1, 1, {{"axis", int_attr(2)}});
    CHECK_THROWS_AS(run(last, 17, {&x}), sim::ModelError);
    const Node attr = make_node("DFT", 1, 1, {{"axis", int_attr(1)}});
    CHECK_THROWS_AS(run(attr, 20, {&x}), sim::ModelError);
}

// ---- STFT ---------------------------------------------------------------------------------------

TEST_CASE("STFT frames the signal with frame_length or a window", "[ops-math]") {
    // signal [1, 2, 3, 4], step 2, length 2: 1 + (4 - 2) / 2 = 2 frames, 2 / 2 + 1 = 2 bins;
    // frame [1, 2] -> [3, -1], frame [3, 4] -> [7, -1].
    const Tensor x = f32({1, 4, 1}, {1, 2, 3, 4});
    const Tensor step = i64({}, {2});
    const Tensor len = i64({}, {2});
    const auto y =
        run_constant(make_node("STFT", {&x, &step, nullptr, &len}), {&x, &step, nullptr, &len});
    check_values(y[0], {1, 2, 2, 2}, {3, 0, -1, 0, 7, 0, -1, 0});
    // window [1, 0] keeps the first sample of each frame: [1, 0] -> [1, 1], [3, 0] -> [3, 3].
    const Tensor w = f32({2}, {1, 0});
    const auto yw = run_constant(make_node("STFT", {&x, &step, &w}), {&x, &step, &w});
    check_values(yw[0], {1, 2, 2, 2}, {1, 0, 1, 0, 3, 0, 3, 0});
}

// ---- MelWeightMatrix ----------------------------------------------------------------------------

TEST_CASE("MelWeightMatrix builds a triangle between mel points", "[ops-math]") {
    // upper 4900 Hz: mel(4900) = 2595 log10(8) = 3 * 2595 log10(2), so the 1 + 2 points are
    // 0, 2595 log10(2) and 2 * 2595 log10(2) mel, i.e. 0, 700 and 2100 Hz. With dft_length 8
    // and sample rate 6000 their bins are floor(9 hz / 6000) = 0, 1 (1.05) and 3 (3.15). The
    // filter rises 0 -> 1 over bins 0..1 and falls to (3 - 2) / (3 - 1) = 0.5 at bin 2;
    // the output has 8 / 2 + 1 = 5 rows.
    const Tensor bins = i64({}, {1});
    const Tensor dft = i64({}, {8});
    const Tensor rate = i64({}, {6000});
    const Tensor lo = f32({}, {0});
    const Tensor hi = f32({}, {4900});
    const Node n = make_node("MelWeightMatrix", 5, 1);
    const auto y = run_constant(n, {&bins, &dft, &rate, &lo, &hi});
    check_values(y[0], {5, 1}, {0, 1, 0.5, 0, 0});
    // Upper 1e5 Hz: the last point, 2/3 of the way to mel(1e5) = 5599.8, is 3733.2 mel or
    // about 18520 Hz, bin floor(9 * 18520 / 6000) = 27, past the 5 rows: an error.
    const Tensor far = f32({}, {1e5f});
    CHECK_THROWS_AS(run(n, 17, {&bins, &dft, &rate, &lo, &far}), sim::ModelError);
}

TEST_CASE("Integer Div by zero inside a loop the cores share fails the node, and a large float Add is exact", "[ops-math]") {
    // 2^17 elements: past the size at which element-wise loops run on all cores. The one zero
    // divisor sits in the second half, in the other thread's share on two cores.
    const int64_t n = int64_t{1} << 17;
    std::vector<int64_t> a(static_cast<std::size_t>(n)), b(static_cast<std::size_t>(n), 3);
    for (int64_t i = 0; i < n; ++i) a[static_cast<std::size_t>(i)] = 3 * i + 1;
    const Tensor ta = i64({n}, a);
    const Tensor ok = i64({n}, b);
    const auto q = run_checked(make_node("Div", 2, 1), {&ta, &ok});
    CHECK(q[0].data<int64_t>()[n - 1] == n - 1);  // (3 (n - 1) + 1) / 3 truncates to n - 1
    b[static_cast<std::size_t>(n - 5)] = 0;
    const Tensor zero = i64({n}, b);
    try {
        run(make_node("Div", 2, 1), 13, {&ta, &zero});
        FAIL("Div by zero did not fail");
    } catch (const sim::ModelError& e) {
        CHECK_THAT(e.what(), Catch::Contains("integer division by zero"));
    }
    std::vector<float> x(static_cast<std::size_t>(n)), y(static_cast<std::size_t>(n));
    std::vector<double> sum(static_cast<std::size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
        x[static_cast<std::size_t>(i)] = static_cast<float>(i);
        y[static_cast<std::size_t>(i)] = 0.5f;
        sum[static_cast<std::size_t>(i)] = static_cast<double>(i) + 0.5;  // exact in fp32 below 2^23
    }
    const Tensor tx = f32({n}, x), ty = f32({n}, y);
    check_values(run_checked(make_node("Add", 2, 1), {&tx, &ty})[0], {n}, sum);
}
