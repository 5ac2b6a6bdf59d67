// Reductions, Softmax/LogSoftmax/Hardmax, Resize/Upsample and Pad of the reference executor.
// Every expected value is derived by hand in the comment beside it.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "tests/unit/op_test_util.h"

using namespace xpusim;
using namespace xpusim::op_test;

namespace {

// Runs compute() of a node made for `inputs`; the one output.
Tensor run(const std::string& op, int64_t opset, const std::vector<const Tensor*>& inputs,
           std::map<std::string, Attribute> attrs = {}) {
    const auto out = op_test::run(make_node(op, inputs, std::move(attrs)), opset, inputs);
    REQUIRE(out.size() == 1);
    return out[0];
}

// Output shape from shape inference, with every given input known as a constant.
Shape infer_shape(const std::string& op, int64_t opset, const std::vector<const Tensor*>& inputs,
                  std::map<std::string, Attribute> attrs = {}) {
    const Node node = make_node(op, inputs, std::move(attrs));
    return infer(node, opset, inputs, std::vector<bool>(inputs.size(), true)).output_shapes.at(0);
}

}  // namespace

// ---- reductions -------------------------------------------------------------------------------

TEST_CASE("ReduceSum takes axes from the input from opset 13", "[ops-rd]") {
    const Tensor x = f32({2, 3}, {1, 2, 3, 4, 5, 6});
    const Tensor axes = i64({1}, {1});
    // Rows summed: 1+2+3 = 6, 4+5+6 = 15.
    const Tensor y = run("ReduceSum", 13, {&x, &axes}, {{"keepdims", int_attr(0)}});
    CHECK(y.shape() == sim::Shape{2});
    check_close(y, {6, 15});
    // Before opset 13 the same axes come from the attribute.
    const Tensor y11 = run("ReduceSum", 11, {&x}, {{"axes", ints_attr({0})}});
    CHECK(y11.shape() == sim::Shape{1, 3});
    check_close(y11, {5, 7, 9});
}

TEST_CASE("ReduceSum with empty axes reduces all, or nothing with noop_with_empty_axes",
          "[ops-rd]") {
    const Tensor x = f32({2, 3}, {1, 2, 3, 4, 5, 6});
    const Tensor empty = i64({0}, {});
    // 1+...+6 = 21, keepdims gives shape 1x1.
    const Tensor all = run("ReduceSum", 13, {&x, &empty});
    CHECK(all.shape() == sim::Shape{1, 1});
    check_close(all, {21});
    const Tensor noop = run("ReduceSum", 13, {&x, &empty}, {{"noop_with_empty_axes", int_attr(1)}});
    CHECK(noop.shape() == sim::Shape{2, 3});
    check_close(noop, {1, 2, 3, 4, 5, 6});
}

TEST_CASE("ReduceMean/Max/Min pick axes by opset", "[ops-rd]") {
    const Tensor x = f32({2, 3}, {1, 2, 3, 4, 5, 6});
    // Column means: (1+4)/2 = 2.5, 3.5, 4.5.
    check_close(run("ReduceMean", 13, {&x}, {{"axes", ints_attr({0})}}), {2.5, 3.5, 4.5});
    // Opset 18: axes input; -1 is the last axis. Row maxima 3 and 6, minima 1 and 4.
    const Tensor last = i64({1}, {-1});
    const Tensor mx = run("ReduceMax", 18, {&x, &last});
    CHECK(mx.shape() == sim::Shape{2, 1});
    check_close(mx, {3, 6});
    check_close(run("ReduceMin", 18, {&x, &last}, {{"keepdims", int_attr(0)}}), {1, 4});
    // An axes attribute at opset 18 is a model error.
    CHECK_THROWS_AS(run("ReduceMean", 18, {&x}, {{"axes", ints_attr({0})}}), sim::ModelError);
}

TEST_CASE("ReduceL1/L2/SumSquare/LogSum/LogSumExp/Prod", "[ops-rd]") {
    const Tensor x = f32({1, 2}, {3, -4});
    check_close(run("ReduceL1", 13, {&x}), {7});          // |3| + |-4|
    check_close(run("ReduceL2", 13, {&x}), {5});          // sqrt(9 + 16)
    check_close(run("ReduceSumSquare", 13, {&x}), {25});  // 9 + 16
    check_close(run("ReduceProd", 13, {&x}), {-12});      // 3 * -4
    const Tensor p = f32({4}, {1, 2, 3, 4});
    check_close(run("ReduceLogSum", 13, {&p}), {std::log(10.0)}, 1e-6);  // log(1+2+3+4)
    // exp(1000) overflows: the result is 1000 + log(e^0 + e^0) = 1000 + ln 2.
    const Tensor big = f32({2}, {1000, 1000});
    check_close(run("ReduceLogSumExp", 13, {&big}), {1000.0 + std::log(2.0)}, 1e-3);
}

TEST_CASE("Reductions over a zero-size axis give the identity", "[ops-rd]") {
    const Tensor x(DType::Float32, {2, 0});
    const auto attrs =
        std::map<std::string, Attribute>{{"axes", ints_attr({1})}, {"keepdims", int_attr(0)}};
    check_close(run("ReduceSum", 11, {&x}, attrs), {0, 0});
    check_close(run("ReduceProd", 11, {&x}, attrs), {1, 1});
    const Tensor mx = run("ReduceMax", 11, {&x}, attrs);
    CHECK(std::isinf(values<float>(mx)[0]));
    CHECK(values<float>(mx)[0] < 0);
    CHECK(std::isinf(values<float>(run("ReduceLogSumExp", 11, {&x}, attrs))[1]));
    CHECK(std::isnan(values<float>(run("ReduceMean", 11, {&x}, attrs))[0]));  // 0 / 0
}

TEST_CASE("Integer reductions are exact", "[ops-rd]") {
    // (2^31 + 1)^2 = 2^62 + 2^32 + 1 = 4611686022722355201, beyond a double's 53 bits.
    const int64_t a = (int64_t{1} << 31) + 1;
    const Tensor x = i64({2}, {a, a});
    CHECK(values<int64_t>(run("ReduceProd", 13, {&x}))[0] == int64_t{4611686022722355201});
    const Tensor big = i64({2}, {(int64_t{1} << 62) + 1, 1});
    CHECK(values<int64_t>(run("ReduceSum", 13, {&big}))[0] == (int64_t{1} << 62) + 2);
    const Tensor i32 = Tensor::from_vector<int32_t>({3}, {-7, 2, 9});
    CHECK(values<int32_t>(run("ReduceMax", 13, {&i32}))[0] == 9);
    CHECK(values<int32_t>(run("ReduceL1", 13, {&i32}))[0] == 18);  // 7 + 2 + 9
}

TEST_CASE("ReduceMean of a long float sum stays within float rounding", "[ops-rd]") {
    // One million copies of 0.1f: the exact mean is 0.1f itself. A float running sum would be
    // off by about 1% at this length.
    const Tensor x = f32({1, 1000000}, std::vector<float>(1000000, 0.1f));
    const Tensor axes = i64({1}, {1});
    const float mean = values<float>(run("ReduceMean", 18, {&x, &axes}))[0];
    CHECK(mean == Approx(0.1f).epsilon(1e-7));
}

TEST_CASE("Reductions over inner and outer axes of a 3-D tensor", "[ops-rd]") {
    // x[a][b][c] = 100a + 10b + c, shape 2x2x3.
    const Tensor x = f32({2, 2, 3}, {0, 1, 2, 10, 11, 12, 100, 101, 102, 110, 111, 112});
    // Over axes 0 and 2 (keeping b): b=0: 0+1+2+100+101+102 = 306; b=1: 366.
    const Tensor y =
        run("ReduceSum", 11, {&x}, {{"axes", ints_attr({0, 2})}, {"keepdims", int_attr(0)}});
    CHECK(y.shape() == sim::Shape{2});
    check_close(y, {306, 366});
    // Over axis 0 only (keeping b, c): x[0] + x[1].
    check_close(run("ReduceSum", 11, {&x}, {{"axes", ints_attr({0})}}),
                {100, 102, 104, 120, 122, 124});
}

// ---- softmax family ---------------------------------------------------------------------------

TEST_CASE("Softmax opset 13 runs along one axis, default -1", "[ops-rd]") {
    const float ln3 = std::log(3.0f);
    const Tensor x = f32({1, 2, 2}, {0, 0, 0, ln3});
    // Last axis: (0,0) -> 1/2 each; (0, ln3) -> e^0/(1+3), 3/(1+3).
    check_close(run("Softmax", 13, {&x}), {0.5, 0.5, 0.25, 0.75});
    // Axis 1 pairs x[0][0][c] with x[0][1][c]: c=0 (0,0), c=1 (0, ln3).
    check_close(run("Softmax", 13, {&x}, {{"axis", int_attr(1)}}), {0.5, 0.25, 0.5, 0.75});
}

TEST_CASE("Softmax before opset 13 coerces to 2-D at axis (default 1)", "[ops-rd]") {
    const float ln3 = std::log(3.0f);
    const Tensor x = f32({1, 2, 2}, {0, 0, 0, ln3});
    // One row of 4: e^x = 1, 1, 1, 3, sum 6.
    check_close(run("Softmax", 11, {&x}), {1.0 / 6, 1.0 / 6, 1.0 / 6, 0.5});
    // LogSoftmax of the same row: x - ln 6.
    const double ln6 = std::log(6.0);
    check_close(run("LogSoftmax", 11, {&x}), {-ln6, -ln6, -ln6, std::log(3.0) - ln6}, 1e-5);
}

TEST_CASE("LogSoftmax is stable for large inputs", "[ops-rd]") {
    const Tensor x = f32({2}, {1000, 1000});
    // log(e^1000 / (2 e^1000)) = -ln 2 each.
    check_close(run("LogSoftmax", 13, {&x}), {-std::log(2.0), -std::log(2.0)}, 1e-6);
    check_close(run("Softmax", 13, {&x}), {0.5, 0.5});
}

TEST_CASE("Hardmax marks the first maximum", "[ops-rd]") {
    const Tensor x = f32({2, 3}, {3, 1, 3, 0, 2, 1});
    // Ties go to the first index: row 0 -> index 0, row 1 -> index 1.
    check_close(run("Hardmax", 13, {&x}), {1, 0, 0, 0, 1, 0});
    // Opset 11, axis 0: the whole tensor is one row; the first 3 wins.
    check_close(run("Hardmax", 11, {&x}, {{"axis", int_attr(0)}}), {1, 0, 0, 0, 0, 0});
    // Opset 13, axis 0: per column, maxima at rows 0, 1, 0.
    check_close(run("Hardmax", 13, {&x}, {{"axis", int_attr(0)}}), {1, 0, 1, 0, 1, 0});
}

// ---- pad -------------------------------------------------------------------------------------

TEST_CASE("Pad constant with pads and constant_value inputs", "[ops-rd]") {
    const Tensor x = f32({2, 2}, {1, 2, 3, 4});
    const Tensor pads = i64({4}, {0, 1, 0, 2});  // axis 1: one before, two after
    const Tensor value = Tensor::scalar<float>(9);
    const Tensor y = run("Pad", 13, {&x, &pads, &value});
    CHECK(y.shape() == sim::Shape{2, 5});
    check_close(y, {9, 1, 2, 9, 9, 9, 3, 4, 9, 9});
    CHECK(infer_shape("Pad", 13, {&x, &pads, &value}) == sim::Shape{2, 5});
}

TEST_CASE("Pad reflect, edge and wrap", "[ops-rd]") {
    const Tensor x = f32({3}, {1, 2, 3});
    const Tensor pads = i64({2}, {2, 2});
    // Mirror without repeating the edge: ... 3 2 | 1 2 3 | 2 1 ...
    check_close(run("Pad", 13, {&x, &pads}, {{"mode", string_attr("reflect")}}),
                {3, 2, 1, 2, 3, 2, 1});
    check_close(run("Pad", 13, {&x, &pads}, {{"mode", string_attr("edge")}}),
                {1, 1, 1, 2, 3, 3, 3});
    // Periodic: x[-2] = x[1] = 2, x[-1] = 3, x[3] = 1, x[4] = 2.
    check_close(run("Pad", 19, {&x, &pads}, {{"mode", string_attr("wrap")}}),
                {2, 3, 1, 2, 3, 1, 2});
}

TEST_CASE("Pad with negative pads crops first", "[ops-rd]") {
    const Tensor x = f32({4}, {1, 2, 3, 4});
    const Tensor pads = i64({2}, {-1, 1});
    // Crop the 1, then repeat the edge 4 once.
    check_close(run("Pad", 13, {&x, &pads}, {{"mode", string_attr("edge")}}), {2, 3, 4, 4});
    // Reflect reads the cropped extent [2, 3, 4]: after 4 comes 3.
    check_close(run("Pad", 13, {&x, &pads}, {{"mode", string_attr("reflect")}}), {2, 3, 4, 3});
}

TEST_CASE("Pad opset 2 attributes, opset 18 axes, fp16 value", "[ops-rd]") {
    const Tensor x = Tensor::from_vector<int32_t>({2}, {5, 6});
    const Tensor y = run("Pad", 2, {&x}, {{"pads", ints_attr({1, 0})}, {"value", float_attr(7)}});
    CHECK(values<int32_t>(y) == std::vector<int32_t>{7, 5, 6});

    const Tensor m = f32({2, 2}, {1, 2, 3, 4});
    const Tensor pads = i64({2}, {1, 0});
    const Tensor axes = i64({1}, {-1});  // pads apply to the last axis only
    check_close(run("Pad", 18, {&m, &pads, nullptr, &axes}), {0, 1, 2, 0, 3, 4});

    // fp16 data is not widened (Pad only moves data): 1.5 is 0x3E00 in binary16.
    Tensor h(DType::Float16, {1});
    const Tensor hy =
        run("Pad", 2, {&h}, {{"pads", ints_attr({1, 0})}, {"value", float_attr(1.5)}});
    CHECK(hy.data<sim::Half>()[0].bits == 0x3E00);
    CHECK(hy.data<sim::Half>()[1].bits == 0x0000);
}

// ---- resize / upsample -------------------------------------------------------------------------

TEST_CASE("Resize nearest, half_pixel, round_prefer_floor", "[ops-rd]") {
    const Tensor x = f32({1, 1, 2, 2}, {1, 2, 3, 4});
    const Tensor scales = f32({4}, {1, 1, 2, 2});
    // x_original = (x + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25 -> 0, 0, 1, 1.
    const Tensor y = run("Resize", 13, {&x, nullptr, &scales}, {{"mode", string_attr("nearest")}});
    CHECK(y.shape() == sim::Shape{1, 1, 4, 4});
    check_close(y, {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4});
    CHECK(infer_shape("Resize", 13, {&x, nullptr, &scales}) == sim::Shape{1, 1, 4, 4});
}

TEST_CASE("Resize linear: half_pixel and align_corners", "[ops-rd]") {
    const Tensor x = f32({2}, {1, 2});
    const Tensor scales = f32({1}, {2});
    // x_original = -0.25 (clamped: 1), 0.25 -> 1.25, 0.75 -> 1.75, 1.25 (clamped: 2).
    check_close(run("Resize", 13, {&x, nullptr, &scales}, {{"mode", string_attr("linear")}}),
                {1, 1.25, 1.75, 2});
    const Tensor sizes = i64({1}, {4});
    // x_original = x * (2 - 1) / (4 - 1) = 0, 1/3, 2/3, 1.
    check_close(run("Resize", 13, {&x, nullptr, nullptr, &sizes},
                    {{"mode", string_attr("linear")},
                     {"coordinate_transformation_mode", string_attr("align_corners")}}),
                {1, 4.0 / 3, 5.0 / 3, 2});
}

TEST_CASE("Resize cubic weights and exclude_outside", "[ops-rd]") {
    // A delta at index 2 of 8, upsampled 2x asymmetric: x_original = x / 2.
    const Tensor x = f32({8}, {0, 0, 1, 0, 0, 0, 0, 0});
    const Tensor scales = f32({1}, {2});
    const Tensor y = run("Resize", 13, {&x, nullptr, &scales},
                         {{"mode", string_attr("cubic")},
                          {"coordinate_transformation_mode", string_attr("asymmetric")}});
    // Keys kernel, a = -0.75: W(0.5) = 1.25/8 - 2.25/4 + 1 = 0.59375, W(1.5) = a/8 = -0.09375.
    // Output 3 (x 1.5): index 2 at distance 0.5; 4 (x 2): 1; 5 (x 2.5): 0.5; 7 (x 3.5): 1.5.
    const auto v = values<float>(y);
    CHECK(v[3] == Approx(0.59375));
    CHECK(v[4] == Approx(1.0));
    CHECK(v[5] == Approx(0.59375));
    CHECK(v[7] == Approx(-0.09375));

    // a = -0.5, output 1 of [1,0,0,0] (x_original 0.5): taps at -1, 0, 1, 2 weigh W(1.5) =
    // -0.0625, W(0.5) = 0.5625, 0.5625, -0.0625. Edge-clamped: (-0.0625 + 0.5625) * 1 = 0.5.
    // exclude_outside drops index -1 and renormalises by 1.0625: 0.5625 / 1.0625 = 9/17.
    const Tensor e = f32({4}, {1, 0, 0, 0});
    std::map<std::string, Attribute> attrs{
        {"mode", string_attr("cubic")},
        {"cubic_coeff_a", float_attr(-0.5)},
        {"coordinate_transformation_mode", string_attr("asymmetric")}};
    CHECK(values<float>(run("Resize", 13, {&e, nullptr, &scales}, attrs))[1] == Approx(0.5));
    attrs["exclude_outside"] = int_attr(1);
    CHECK(values<float>(run("Resize", 13, {&e, nullptr, &scales}, attrs))[1] == Approx(9.0 / 17));
}

TEST_CASE("Resize tf_crop_and_resize uses roi and extrapolation_value", "[ops-rd]") {
    const Tensor x = f32({5}, {0, 1, 2, 3, 4});
    const Tensor roi = f32({2}, {0.5f, 1.2f});
    const Tensor sizes = i64({1}, {3});
    // x_original = 0.5 * 4 + x * 0.7 * 4 / 2 = 2, 3.4, 4.8 (> 4: extrapolated).
    check_close(run("Resize", 13, {&x, &roi, nullptr, &sizes},
                    {{"mode", string_attr("linear")},
                     {"coordinate_transformation_mode", string_attr("tf_crop_and_resize")},
                     {"extrapolation_value", float_attr(10)}}),
                {2, 3.4, 10}, 1e-5);
}

TEST_CASE("Resize nearest modes and the opset-10 rule", "[ops-rd]") {
    const Tensor x = f32({4}, {1, 2, 3, 4});
    const Tensor scales = f32({1}, {0.6f});
    // Output length floor(4 * 0.6) = 2; asymmetric x_original = x / 0.6 = 0, 1.667.
    // nearest_mode floor -> 0, 1.
    check_close(run("Resize", 13, {&x, nullptr, &scales},
                    {{"coordinate_transformation_mode", string_attr("asymmetric")},
                     {"nearest_mode", string_attr("floor")}}),
                {1, 2});
    // Resize-10 (asymmetric, downsampling rounds up) -> 0, 2.
    check_close(run("Resize", 10, {&x, &scales}), {1, 3});
}

TEST_CASE("Resize opset 18: axes, keep_aspect_ratio_policy and antialias", "[ops-rd]") {
    const Tensor x(DType::Float32, {1, 2, 4});
    const Tensor sizes = i64({2}, {3, 3});
    // Scales 3/2 and 3/4: not_larger takes 0.75 -> round(1.5) = 2, round(3) = 3;
    // not_smaller takes 1.5 -> 3, 6.
    const std::map<std::string, Attribute> nl{
        {"axes", ints_attr({1, 2})}, {"keep_aspect_ratio_policy", string_attr("not_larger")}};
    CHECK(infer_shape("Resize", 18, {&x, nullptr, nullptr, &sizes}, nl) == sim::Shape{1, 2, 3});
    CHECK(run("Resize", 18, {&x, nullptr, nullptr, &sizes}, nl).shape() == sim::Shape{1, 2, 3});
    const std::map<std::string, Attribute> ns{
        {"axes", ints_attr({-2, -1})}, {"keep_aspect_ratio_policy", string_attr("not_smaller")}};
    CHECK(run("Resize", 18, {&x, nullptr, nullptr, &sizes}, ns).shape() == sim::Shape{1, 3, 6});

    // Antialiased linear, scale 0.5, half_pixel: x_original = 2x + 0.5. The triangle is
    // stretched to width 2: taps j = -1..2 around b = floor(x_original) weigh
    // 1 - |0.5 (j - 0.5)| = 0.25, 0.75, 0.75, 0.25, normalised to 1/8, 3/8, 3/8, 1/8.
    // Output 0 reads indices -1(->0), 0, 1, 2 = 1, 1, 2, 3 -> 1.625;
    // output 1 reads 1, 2, 3, 4(->3) = 2, 3, 4, 4 -> 3.375.
    const Tensor v = f32({4}, {1, 2, 3, 4});
    const Tensor half = f32({1}, {0.5f});
    check_close(run("Resize", 18, {&v, nullptr, &half},
                    {{"mode", string_attr("linear")}, {"antialias", int_attr(1)}}),
                {1.625, 3.375});
    // Without antialias: x_original 0.5, 2.5 -> 1.5, 3.5.
    check_close(run("Resize", 18, {&v, nullptr, &half}, {{"mode", string_attr("linear")}}),
                {1.5, 3.5});
}

TEST_CASE("Resize half_pixel_symmetric", "[ops-rd]") {
    const Tensor v = f32({4}, {1, 2, 3, 4});
    const Tensor scales = f32({1}, {0.6f});
    // Output width 2.4 -> 2; adjustment 2 / 2.4, offset 2 * (1 - 2/2.4) = 1/3;
    // x_original = 1/3 + (x + 0.5) / 0.6 - 0.5 = 2/3, 7/3 -> values 1 + 2/3, 1 + 7/3.
    check_close(run("Resize", 19, {&v, nullptr, &scales},
                    {{"mode", string_attr("linear")},
                     {"coordinate_transformation_mode", string_attr("half_pixel_symmetric")}}),
                {5.0 / 3, 10.0 / 3}, 1e-5);
}

TEST_CASE("Upsample opset 7 attribute and opset 9 input", "[ops-rd]") {
    const Tensor x = f32({1, 2}, {1, 3});
    // Nearest, asymmetric truncation: x_original = x / 2 -> 0, 0, 1, 1.
    check_close(run("Upsample", 7, {&x}, {{"scales", floats_attr({1, 2})}}), {1, 1, 3, 3});
    const Tensor scales = f32({2}, {1, 2});
    // Linear: x / 2 = 0, 0.5, 1, 1.5 (clamped) -> 1, 2, 3, 3.
    check_close(run("Upsample", 9, {&x, &scales}, {{"mode", string_attr("linear")}}), {1, 2, 3, 3});
    const Tensor down = f32({2}, {1, 0.5f});
    CHECK_THROWS_AS(run("Upsample", 9, {&x, &down}), sim::ModelError);
}
