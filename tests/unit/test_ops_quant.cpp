// Unit tests of the quantization kernels (QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear,
// MatMulInteger, ConvInteger, QLinearMatMul, QLinearConv) and of quantize.h's element rounding.
// Every expected value is derived by hand in the comment beside it.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "frontends/onnx/ops/quantize.h"
#include "tests/unit/op_test_util.h"

using namespace xpusim;
using namespace xpusim::op_test;
using frontend::ops::dequantize_value;
using frontend::ops::quantize_value;
using frontend::ops::QuantizeOptions;

namespace {

template <class T>
Tensor tensor(const Shape& s, const std::vector<T>& v) {
    return Tensor::from_vector<T>(s, v);
}

Tensor u8(const Shape& s, const std::vector<uint8_t>& v) {
    return tensor<uint8_t>(s, v);
}

Tensor i8(const Shape& s, const std::vector<int8_t>& v) {
    return tensor<int8_t>(s, v);
}

}  // namespace

// ---- quantize_value, dequantize_value
// ------------------------------------------------------------

TEST_CASE("quantize_value rounds half to even and saturates", "[ops-quant]") {
    // 2.5 and -2.5 round to the even 2 and -2, 3.5 to 4.
    CHECK(quantize_value(2.5, 1.0, 0, DType::Int8) == 2);
    CHECK(quantize_value(-2.5, 1.0, 0, DType::Int8) == -2);
    CHECK(quantize_value(3.5, 1.0, 0, DType::Int8) == 4);
    // 5 / 2 = 2.5 -> 2, plus the zero point 10 -> 12.
    CHECK(quantize_value(5.0, 2.0, 10, DType::UInt8) == 12);
    // The zero point is added before saturating: 250 + 10 -> 255, -1 -> 0, 1e6 -> 32767.
    CHECK(quantize_value(250.0, 1.0, 10, DType::UInt8) == 255);
    CHECK(quantize_value(-1.0, 1.0, 0, DType::UInt8) == 0);
    CHECK(quantize_value(1e6, 1.0, 0, DType::Int16) == 32767);
    CHECK(quantize_value(-1e6, 1.0, 0, DType::UInt16) == 0);
    // NaN gives the zero point.
    CHECK(quantize_value(std::nan(""), 1.0, 7, DType::Int8) == 7);
}

TEST_CASE("quantize_value divides in the precision it is given", "[ops-quant]") {
    // 2.5 + 2^-30 is 2.5 in float32 (its ulp at 2.5 is 2^-22), so the float32 quotient is a tie
    // that rounds to 2; the exact (float64) quotient is above the tie and rounds to 3.
    const double x = 2.5 + std::ldexp(1.0, -30);
    CHECK(quantize_value(x, 1.0, 0, DType::Int8) == 2);
    CHECK(quantize_value(x, 1.0, 0, DType::Int8, QuantizeOptions{DType::Float64, true}) == 3);
}

TEST_CASE("quantize_value to fp8 rounds to nearest even and saturates by option", "[ops-quant]") {
    // e4m3fn near 100: 96 = 1.100b * 2^6 (code 0 1101 100 = 0x6C) and 104 = 1.101b * 2^6; 100 is
    // the tie, which goes to the even mantissa, 96.
    CHECK(quantize_value(200.0, 2.0, 0, DType::Float8E4M3) == 0x6C);
    // 1000 is beyond 448 (0x7E): saturated to 448, or NaN (0x7F) without saturation.
    CHECK(quantize_value(1000.0, 1.0, 0, DType::Float8E4M3) == 0x7E);
    CHECK(quantize_value(1000.0, 1.0, 0, DType::Float8E4M3,
                         QuantizeOptions{DType::Float32, false}) == 0x7F);
    // e5m2: 1e6 saturates to 57344 (0 11110 11 = 0x7B), or becomes +inf (0x7C).
    CHECK(quantize_value(1e6, 1.0, 0, DType::Float8E5M2) == 0x7B);
    CHECK(quantize_value(1e6, 1.0, 0, DType::Float8E5M2, QuantizeOptions{DType::Float32, false}) ==
          0x7C);
}

TEST_CASE("dequantize_value is (q - zero_point) * scale", "[ops-quant]") {
    // (0 - 128) * 2 = -256; (255 - 128) * 2 = 254.
    CHECK(dequantize_value(0, 2.0, 128, DType::UInt8) == -256.0);
    CHECK(dequantize_value(255, 2.0, 128, DType::UInt8) == 254.0);
    // e4m3fn 0xED = -(1.101b * 2^6) = -104, times 2 = -208.
    CHECK(dequantize_value(0xED, 2.0, 0, DType::Float8E4M3) == -208.0);
}

// ---- QuantizeLinear, DequantizeLinear
// ------------------------------------------------------------

TEST_CASE("QuantizeLinear per axis applies each row's scale and zero point", "[ops-quant]") {
    // axis 0, scales [1, 2], zero points [0, 10]: row 0 [1, 2]; row 1 [3/2 = 1.5 -> 2, 4/2 = 2]
    // plus 10 -> [12, 12].
    const Tensor x = f32({2, 2}, {1, 2, 3, 4});
    const Tensor s = f32({2}, {1, 2});
    const Tensor z = u8({2}, {0, 10});
    const auto y =
        run_checked(make_node("QuantizeLinear", 3, 1, {{"axis", int_attr(0)}}), {&x, &s, &z}, 13);
    CHECK(y[0].dtype() == DType::UInt8);
    CHECK(values<uint8_t>(y[0]) == std::vector<uint8_t>{1, 2, 12, 12});
}

TEST_CASE("QuantizeLinear blocked, with output_dtype and no zero point", "[ops-quant]") {
    // block_size 2 along axis 1 of [1, 2, 3]: scales [1, 2] serve [1, 2] and [3] (the last block
    // is short): 1, 2, 3/2 = 1.5 -> 2. output_dtype 5 is INT16.
    const Tensor x = f32({1, 3}, {1, 2, 3});
    const Tensor s = f32({1, 2}, {1, 2});
    const Node n = make_node(
        "QuantizeLinear", 2, 1,
        {{"axis", int_attr(1)}, {"block_size", int_attr(2)}, {"output_dtype", int_attr(5)}});
    const auto y = run_checked(n, {&x, &s}, 21);
    CHECK(y[0].dtype() == DType::Int16);
    CHECK(values<int16_t>(y[0]) == std::vector<int16_t>{1, 2, 2});
    // Without zero point or output_dtype the output is uint8: [1, 2, 3] / 2 = [0.5, 1, 1.5],
    // whose ties round to the even 0 and 2.
    const Tensor two = f32({}, {2});
    const auto u = run_checked(make_node("QuantizeLinear", 2, 1), {&x, &two}, 21);
    CHECK(u[0].dtype() == DType::UInt8);
    CHECK(values<uint8_t>(u[0]) == std::vector<uint8_t>{0, 1, 2});
}

TEST_CASE("QuantizeLinear rejects bad scales and names unsupported types", "[ops-quant]") {
    const Tensor x = f32({1, 3}, {1, 2, 3});
    const Tensor s = f32({1, 2}, {1, 2});
    // A blocked scale needs block_size; 2 scales do not cover axis 1 of 3 with block_size 1.
    CHECK_THROWS_AS(run(make_node("QuantizeLinear", 2, 1), 21, {&x, &s}), sim::ModelError);
    CHECK_THROWS_AS(
        run(make_node("QuantizeLinear", 2, 1, {{"block_size", int_attr(1)}}), 21, {&x, &s}),
        sim::ModelError);
    // output_dtype 21 is UINT4, which xpusim has no type for.
    const Tensor one = f32({}, {1});
    CHECK_THROWS_WITH(
        run(make_node("QuantizeLinear", 2, 1, {{"output_dtype", int_attr(21)}}), 21, {&x, &one}),
        Catch::Contains("UINT4"));
    // output_dtype INT8 (3) contradicts a uint8 zero point.
    const Tensor z = u8({}, {0});
    CHECK_THROWS_AS(
        run(make_node("QuantizeLinear", 3, 1, {{"output_dtype", int_attr(3)}}), 21, {&x, &one, &z}),
        sim::ModelError);
}

TEST_CASE("DequantizeLinear blocked, and its output takes the scale's type", "[ops-quant]") {
    // x int8 [1, 2, 3, 4], block_size 2 on axis 0 of a [4, 1] tensor: scales [2, 10], zero
    // points [1, 0]: (1 - 1) * 2, (2 - 1) * 2, 3 * 10, 4 * 10 = [0, 2, 30, 40].
    const Tensor x = i8({4, 1}, {1, 2, 3, 4});
    const Tensor s = f32({2, 1}, {2, 10});
    const Tensor z = i8({2, 1}, {1, 0});
    const Node n =
        make_node("DequantizeLinear", 3, 1, {{"axis", int_attr(0)}, {"block_size", int_attr(2)}});
    check_values(run_checked(n, {&x, &s, &z}, 21)[0], {4, 1}, {0, 2, 30, 40});
    // A float16 scale makes a float16 output: 3 * 0.5 = 1.5, exact in float16.
    const Tensor h = f32({}, {0.5f}).cast(DType::Float16);
    const Tensor three = i8({1}, {3});
    const auto y = run_checked(make_node("DequantizeLinear", 2, 1), {&three, &h}, 19);
    CHECK(y[0].dtype() == DType::Float16);
    check_close(y[0], {1.5});
}

// ---- DynamicQuantizeLinear
// -----------------------------------------------------------------------

TEST_CASE("DynamicQuantizeLinear scale and zero point from the range with 0", "[ops-quant]") {
    // min -51, max 204: scale = 255 / 255 = 1, zero point = 0 - (-51) / 1 = 51;
    // y = x + 51 = [0, 51, 255].
    const Tensor x = f32({3}, {-51, 0, 204});
    auto y = run_checked(make_node("DynamicQuantizeLinear", 1, 3), {&x}, 11);
    CHECK(values<uint8_t>(y[0]) == std::vector<uint8_t>{0, 51, 255});
    check_close(y[1], {1.0});
    CHECK(values<uint8_t>(y[2]) == std::vector<uint8_t>{51});
    // All zero: an empty range, scale 1 / 255 as in the ONNX reference, zero point 0.
    const Tensor zeros = f32({2}, {0, 0});
    y = run_checked(make_node("DynamicQuantizeLinear", 1, 3), {&zeros}, 11);
    CHECK(values<uint8_t>(y[0]) == std::vector<uint8_t>{0, 0});
    check_close(y[1], {1.0 / 255.0});
    CHECK(values<uint8_t>(y[2]) == std::vector<uint8_t>{0});
}

// ---- MatMulInteger, ConvInteger
// ------------------------------------------------------------------

TEST_CASE("MatMulInteger with per-row and per-column zero points", "[ops-quant]") {
    // A - [1, 3] per row = [[0, 1], [0, 1]]; times B = [[5], [6]]: [[6], [6]].
    const Tensor a = u8({2, 2}, {1, 2, 3, 4});
    const Tensor azp = u8({2}, {1, 3});
    const Tensor b = u8({2, 1}, {5, 6});
    auto y = run_checked(make_node("MatMulInteger", {&a, &b, &azp}), {&a, &b, &azp}, 10);
    CHECK(y[0].dtype() == DType::Int32);
    CHECK(values<int32_t>(y[0]) == std::vector<int32_t>{6, 6});
    // B - [1, 2] per column = [[0, 0], [2, 2]]; [1, 1] times it = [2, 2].
    const Tensor a1 = u8({1, 2}, {1, 1});
    const Tensor b2 = i8({2, 2}, {1, 2, 3, 4});
    const Tensor bzp = i8({2}, {1, 2});
    y = run_checked(make_node("MatMulInteger", {&a1, &b2, nullptr, &bzp}),
                    {&a1, &b2, nullptr, &bzp}, 10);
    CHECK(values<int32_t>(y[0]) == std::vector<int32_t>{2, 2});
}

TEST_CASE("ConvInteger with a per-channel weight zero point", "[ops-quant]") {
    // x - 1 = [0, 1, 2, 3]; w - [1, 2] = [2, 3] (1x1 kernels): channel 0 = [0, 2, 4, 6],
    // channel 1 = [0, 3, 6, 9].
    const Tensor x = u8({1, 1, 2, 2}, {1, 2, 3, 4});
    const Tensor w = u8({2, 1, 1, 1}, {3, 5});
    const Tensor xzp = u8({}, {1});
    const Tensor wzp = u8({2}, {1, 2});
    const auto y = run_checked(make_node("ConvInteger", 4, 1), {&x, &w, &xzp, &wzp}, 10);
    REQUIRE(y[0].shape() == Shape{1, 2, 2, 2});
    CHECK(values<int32_t>(y[0]) == std::vector<int32_t>{0, 2, 4, 6, 0, 3, 6, 9});
}

// ---- QLinearMatMul, QLinearConv
// ------------------------------------------------------------------

TEST_CASE("QLinearMatMul with per-column b scales", "[ops-quant]") {
    // acc = [2, 4] . [[1, 1], [1, 1]] = [6, 6]; times a_scale 0.5 and b_scale [1, 2] over
    // y_scale 1: [3, 6].
    const Tensor a = u8({1, 2}, {2, 4});
    const Tensor as = f32({}, {0.5f});
    const Tensor zero = u8({}, {0});
    const Tensor b = u8({2, 2}, {1, 1, 1, 1});
    const Tensor bs = f32({2}, {1, 2});
    const Tensor bzp = u8({2}, {0, 0});
    const Tensor ys = f32({}, {1});
    const auto y = run_checked(make_node("QLinearMatMul", 8, 1),
                               {&a, &as, &zero, &b, &bs, &bzp, &ys, &zero}, 10);
    CHECK(values<uint8_t>(y[0]) == std::vector<uint8_t>{3, 6});
}

TEST_CASE("QLinearConv with per-channel weight scales, bias and ties to even", "[ops-quant]") {
    // x - 10 = [0, 10]; w = [2, 3] (1x1, zero point 0); B = [4, -2].
    // Channel 0: [0 * 2 + 4, 10 * 2 + 4] = [4, 24], times 0.5 * 1 / 1 = [2, 12], + 100.
    // Channel 1: [0 * 3 - 2, 10 * 3 - 2] = [-2, 28], times 0.5 * 0.25 = [-0.25, 3.5], which round
    // to [0, 4] (3.5 ties to even), + 100.
    const Tensor x = u8({1, 1, 1, 2}, {10, 20});
    const Tensor xs = f32({}, {0.5f});
    const Tensor xzp = u8({}, {10});
    const Tensor w = i8({2, 1, 1, 1}, {2, 3});
    const Tensor ws = f32({2}, {1, 0.25f});
    const Tensor wzp = i8({2}, {0, 0});
    const Tensor ys = f32({}, {1});
    const Tensor yzp = u8({}, {100});
    const Tensor bias = tensor<int32_t>({2}, {4, -2});
    const auto y = run_checked(make_node("QLinearConv", 9, 1),
                               {&x, &xs, &xzp, &w, &ws, &wzp, &ys, &yzp, &bias}, 10);
    REQUIRE(y[0].shape() == Shape{1, 2, 1, 2});
    CHECK(values<uint8_t>(y[0]) == std::vector<uint8_t>{102, 112, 100, 104});
}
