// Unit tests of the detection, sampling and sequence kernels (NonMaxSuppression, RoiAlign,
// GridSample, MaxUnpool, Unique, ReverseSequence, TfIdfVectorizer). Every expected value is
// derived by hand in the comment beside it.
#include <catch2/catch.hpp>

#include "tests/unit/op_test_util.h"

using namespace xpusim;
using namespace xpusim::op_test;

namespace {

Tensor scalar_f32(float v) {
    return f32({1}, {v});
}

}  // namespace

// ---- NonMaxSuppression --------------------------------------------------------------------------

// Boxes as [y1, x1, y2, x2]: A = [0,0]-[2,2] (area 4), B = [0,1]-[2,3] overlaps A in 2 x 1, so
// IoU(A, B) = 2 / (4 + 4 - 2) = 1/3; C = [5,5]-[6,6] overlaps neither. Scores 0.9, 0.8, 0.7.
TEST_CASE("NonMaxSuppression keeps boxes by score and suppresses by IoU", "[ops-detect]") {
    const Tensor boxes = f32({1, 3, 4}, {0, 0, 2, 2, 0, 1, 2, 3, 5, 5, 6, 6});
    const Tensor scores = f32({1, 1, 3}, {0.9f, 0.8f, 0.7f});
    const Tensor three = i64({1}, {3});
    const Tensor one = i64({1}, {1});
    const Tensor iou_half = scalar_f32(0.5f), iou_low = scalar_f32(0.3f);
    const Node n = make_node("NonMaxSuppression", 5, 1);
    // IoU 1/3 < 0.5: all three kept, best score first.
    auto y = run(n, 11, {&boxes, &scores, &three, &iou_half, nullptr});
    check_values(y[0], {3, 3}, {0, 0, 0, 0, 0, 1, 0, 0, 2});
    // IoU 1/3 > 0.3: B is suppressed by A.
    y = run(n, 11, {&boxes, &scores, &three, &iou_low, nullptr});
    check_values(y[0], {2, 3}, {0, 0, 0, 0, 0, 2});
    // At most one box per class.
    y = run(n, 11, {&boxes, &scores, &one, &iou_half, nullptr});
    check_values(y[0], {1, 3}, {0, 0, 0});
    // score_threshold 0.75 drops C (0.7).
    const Tensor score_cut = scalar_f32(0.75f);
    y = run(n, 11, {&boxes, &scores, &three, &iou_half, &score_cut});
    check_values(y[0], {2, 3}, {0, 0, 0, 0, 0, 1});
    // max_output_boxes_per_class omitted means 0: nothing selected.
    y = run(n, 11, {&boxes, &scores});
    check_values(y[0], {0, 3}, {});
}

TEST_CASE("NonMaxSuppression reads center boxes, classes and ties", "[ops-detect]") {
    // The same A, B, C as [x_center, y_center, width, height]: A = (1, 1, 2, 2), B = (2, 1, 2, 2)
    // (x 1..3, y 0..2), C = (5.5, 5.5, 1, 1). Class 1 scores them 0.1, 0.6, 0.6: B and C tie,
    // so the lower index B comes first; A is then suppressed by B at threshold 0.3.
    const Tensor boxes = f32({1, 3, 4}, {1, 1, 2, 2, 2, 1, 2, 2, 5.5f, 5.5f, 1, 1});
    const Tensor scores = f32({1, 2, 3}, {0.9f, 0.8f, 0.7f, 0.1f, 0.6f, 0.6f});
    const Tensor three = i64({1}, {3});
    const Tensor iou = scalar_f32(0.3f);
    const Node n = make_node("NonMaxSuppression", 5, 1, {{"center_point_box", int_attr(1)}});
    const std::vector<const Tensor*> in{&boxes, &scores, &three, &iou, nullptr};
    const auto y = run(n, 11, in);
    // class 0: A, C (B suppressed by A); class 1: B, C (A suppressed by B).
    check_values(y[0], {4, 3}, {0, 0, 0, 0, 0, 2, 0, 1, 1, 0, 1, 2});
    // The count depends on the values: known at load time only when every input is.
    CHECK_THROWS_AS(infer(n, 11, in), sim::UnsupportedError);
    const InferContext ctx = infer(n, 11, in, {true, true, true, true});
    CHECK(ctx.output_shapes[0] == Shape{4, 3});
    CHECK(ctx.output_dtypes[0] == DType::Int64);
}

// ---- RoiAlign -----------------------------------------------------------------------------------

// X = [[1, 2], [3, 4]] is the plane f(y, x) = 1 + x + 2y, which bilinear sampling reproduces.
TEST_CASE("RoiAlign averages bilinear samples of each bin", "[ops-detect]") {
    const Tensor x = f32({1, 1, 2, 2}, {1, 2, 3, 4});
    const Tensor roi = f32({1, 4}, {0, 0, 1, 1});
    const Tensor batch0 = i64({1}, {0});
    auto node = [](std::map<std::string, Attribute> a) {
        return make_node("RoiAlign", 3, 1, std::move(a));
    };
    // output_half_pixel, one 1 x 1 bin, sampling_ratio 2: samples at y, x in {0.25, 0.75}, mean
    // f = 1 + 0.5 + 2 * 0.5 = 2.5.
    const auto ohp = string_attr("output_half_pixel");
    auto y = run_checked(
        node({{"coordinate_transformation_mode", ohp}, {"sampling_ratio", int_attr(2)}}),
        {&x, &roi, &batch0}, 16);
    check_values(y[0], {1, 1, 1, 1}, {2.5});
    // 2 x 2 bins of 0.5, one sample each at their centres 0.25 / 0.75:
    // f(.25,.25) = 1.75, f(.25,.75) = 2.25, f(.75,.25) = 2.75, f(.75,.75) = 3.25.
    y = run_checked(node({{"coordinate_transformation_mode", ohp},
                          {"output_height", int_attr(2)},
                          {"output_width", int_attr(2)},
                          {"sampling_ratio", int_attr(1)}}),
                    {&x, &roi, &batch0}, 16);
    check_values(y[0], {1, 1, 2, 2}, {1.75, 2.25, 2.75, 3.25});
    // half_pixel shifts the ROI to [-0.5, 0.5]: its one sample sits at (0, 0) -> f = 1.
    y = run_checked(node({{"sampling_ratio", int_attr(1)}}), {&x, &roi, &batch0}, 16);
    check_values(y[0], {1, 1, 1, 1}, {1});
    // spatial_scale 0.5 maps the ROI [0, 2] onto [0, 1]: the 2.5 of the first case.
    const Tensor roi2 = f32({1, 4}, {0, 0, 2, 2});
    y = run_checked(node({{"coordinate_transformation_mode", ohp},
                          {"sampling_ratio", int_attr(2)},
                          {"spatial_scale", float_attr(0.5)}}),
                    {&x, &roi2, &batch0}, 16);
    check_values(y[0], {1, 1, 1, 1}, {2.5});
}

TEST_CASE("RoiAlign max mode, batch indices and bad indices", "[ops-detect]") {
    // Batch 1 is 10 x batch 0. One sample at (0.5, 0.5) weights each neighbour 1/4; max mode
    // takes the largest weighted neighbour: 0.25 * 40 = 10 (the mean would be 25).
    const Tensor x = f32({2, 1, 2, 2}, {1, 2, 3, 4, 10, 20, 30, 40});
    const Tensor roi = f32({1, 4}, {0, 0, 1, 1});
    const Tensor batch1 = i64({1}, {1});
    const auto ohp = string_attr("output_half_pixel");
    auto y = run_checked(
        make_node("RoiAlign", 3, 1,
                  {{"coordinate_transformation_mode", ohp}, {"sampling_ratio", int_attr(1)}}),
        {&x, &roi, &batch1}, 16);
    check_values(y[0], {1, 1, 1, 1}, {25});
    y = run_checked(make_node("RoiAlign", 3, 1,
                              {{"coordinate_transformation_mode", ohp},
                               {"sampling_ratio", int_attr(1)},
                               {"mode", string_attr("max")}}),
                    {&x, &roi, &batch1}, 16);
    check_values(y[0], {1, 1, 1, 1}, {10});
    // Opset 10 has no coordinate_transformation_mode and does not shift: as output_half_pixel.
    y = run_checked(make_node("RoiAlign", 3, 1, {{"sampling_ratio", int_attr(1)}}),
                    {&x, &roi, &batch1}, 10);
    check_values(y[0], {1, 1, 1, 1}, {25});
    const Tensor batch2 = i64({1}, {2});
    CHECK_THROWS_AS(run(make_node("RoiAlign", 3, 1), 16, {&x, &roi, &batch2}), sim::ModelError);
}

// ---- GridSample ---------------------------------------------------------------------------------

TEST_CASE("GridSample maps normalized coordinates and pads outside", "[ops-detect]") {
    // X = [[1, 2], [3, 4]] = f(y, x) = 1 + x + 2y; grid points are (x, y).
    const Tensor x = f32({1, 1, 2, 2}, {1, 2, 3, 4});
    auto sample = [&](std::map<std::string, Attribute> a, float gx, float gy, int64_t opset = 16) {
        const Tensor g = f32({1, 1, 1, 2}, {gx, gy});
        const auto y = run_checked(make_node("GridSample", 2, 1, std::move(a)), {&x, &g}, opset);
        REQUIRE(y[0].shape() == Shape{1, 1, 1, 1});
        return y[0].get_as_double(0);
    };
    const auto one = int_attr(1);
    // align_corners: -1 and 1 are the corner pixels' centres: (0, 0) -> pixel (0.5, 0.5) = 2.5,
    // (1, -1) -> x = 1, y = 0 -> 2.
    CHECK(sample({{"align_corners", one}}, 0, 0) == Approx(2.5));
    CHECK(sample({{"align_corners", one}}, 1, -1) == Approx(2));
    // Without: x = ((n + 1) * 2 - 1) / 2, so (0, 0) -> 0.5 again, (-1, -1) -> (-0.5, -0.5).
    CHECK(sample({}, 0, 0) == Approx(2.5));
    // zeros: the taps at -1 and 0 each weigh 1/2 per axis; only (0, 0) is inside -> 1/4 * 1.
    CHECK(sample({}, -1, -1) == Approx(0.25));
    // border: the coordinate stays (it is in [-0.5, 1.5]) but the -1 taps read pixel 0 -> 1.
    CHECK(sample({{"padding_mode", string_attr("border")}}, -1, -1) == Approx(1));
    // reflection: tap -1 reflects about -0.5 onto 0 -> 1.
    CHECK(sample({{"padding_mode", string_attr("reflection")}}, -1, -1) == Approx(1));
    // reflection of a far coordinate: n = -2 -> x = -1.5, reflected about -0.5 to 0.5 (both
    // axes) -> 2.5.
    CHECK(sample({{"padding_mode", string_attr("reflection")}}, -2, -2) == Approx(2.5));
    // nearest: (0.1, 0.6) -> x = 0.6, y = 1.1 -> pixel (1, 1) = 4; (0, 0) -> 0.5 rounds half to
    // even -> pixel (0, 0) = 1.
    const auto nearest = string_attr("nearest");
    CHECK(sample({{"mode", nearest}}, 0.1f, 0.6f) == Approx(4));
    CHECK(sample({{"mode", nearest}}, 0, 0) == Approx(1));
    // bicubic at a pixel centre: the Keys weights at t = 0 are [0, 1, 0, 0] -> the pixel.
    CHECK(sample({{"mode", string_attr("bicubic")}, {"align_corners", one}}, 1, 1) == Approx(4));
    // Opset 20 renames the modes: 'bilinear' is no longer one of them.
    CHECK(sample({{"mode", string_attr("linear")}}, 0, 0, 20) == Approx(2.5));
    const Tensor g = f32({1, 1, 1, 2}, {0, 0});
    CHECK_THROWS_AS(
        run(make_node("GridSample", 2, 1, {{"mode", string_attr("bilinear")}}), 20, {&x, &g}),
        sim::ModelError);
}

TEST_CASE("GridSample opset 20 samples one spatial axis", "[ops-detect]") {
    // X = [1, 2, 4, 8], align_corners: n = 0 -> x = 1.5, t = 0.5.
    const Tensor x = f32({1, 1, 4}, {1, 2, 4, 8});
    const Tensor g = f32({1, 1, 1}, {0});
    const auto one = int_attr(1);
    // linear: (2 + 4) / 2 = 3.
    auto y = run_checked(make_node("GridSample", 2, 1, {{"align_corners", one}}), {&x, &g}, 20);
    check_values(y[0], {1, 1, 1}, {3});
    // cubic, alpha = -0.75 at t = 0.5: inner weights ((1.25 * 0.5 - 2.25) * 0.25 + 1) = 0.59375,
    // outer ones 1/2 - 0.59375 = -0.09375:
    // -0.09375 * 1 + 0.59375 * 2 + 0.59375 * 4 - 0.09375 * 8 = 2.71875.
    y = run_checked(
        make_node("GridSample", 2, 1, {{"align_corners", one}, {"mode", string_attr("cubic")}}),
        {&x, &g}, 20);
    check_values(y[0], {1, 1, 1}, {2.71875});
    // Before opset 20 only 4-D input is accepted.
    CHECK_THROWS_AS(run(make_node("GridSample", 2, 1), 16, {&x, &g}), sim::ModelError);
}

// ---- MaxUnpool ----------------------------------------------------------------------------------

TEST_CASE("MaxUnpool scatters values to their flat indices", "[ops-detect]") {
    // 2x2 pooled values with kernel 2, stride 2: output (2 - 1) * 2 + 2 = 4 per axis; indices
    // 0, 3, 9, 15 are (0,0), (0,3), (2,1), (3,3).
    const Tensor x = f32({1, 1, 2, 2}, {5, 6, 7, 8});
    const Tensor idx = i64({1, 1, 2, 2}, {0, 3, 9, 15});
    const Node n = make_node("MaxUnpool", 2, 1,
                             {{"kernel_shape", ints_attr({2, 2})}, {"strides", ints_attr({2, 2})}});
    auto y = run_checked(n, {&x, &idx}, 11);
    check_values(y[0], {1, 1, 4, 4}, {5, 0, 0, 6, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 8});
    // output_shape 5 x 5 pads the 4 x 4 result at the end of each axis: (0,0), (0,3), (2,1),
    // (3,3) become flat 0, 3, 2 * 5 + 1 = 11 and 3 * 5 + 3 = 18.
    const Tensor shape = i64({4}, {1, 1, 5, 5});
    const Node n3 = make_node(
        "MaxUnpool", 3, 1, {{"kernel_shape", ints_attr({2, 2})}, {"strides", ints_attr({2, 2})}});
    y = run(n3, 11, {&x, &idx, &shape});
    std::vector<double> want(25, 0);
    want[0] = 5, want[3] = 6, want[11] = 7, want[18] = 8;
    check_values(y[0], {1, 1, 5, 5}, want);
    CHECK(infer(n3, 11, {&x, &idx, &shape}, {false, false, true}).output_shapes[0] ==
          Shape{1, 1, 5, 5});
    // An output_shape smaller than the unpooled 4 x 4 cannot hold it.
    const Tensor small = i64({4}, {1, 1, 3, 5});
    CHECK_THROWS_AS(run(n3, 11, {&x, &idx, &small}), sim::ModelError);
    // pads [0, 0, 1, 1] shrink each axis by one to 3 x 3 (9 elements): index 15 is outside.
    const Node padded = make_node("MaxUnpool", 2, 1,
                                  {{"kernel_shape", ints_attr({2, 2})},
                                   {"strides", ints_attr({2, 2})},
                                   {"pads", ints_attr({0, 0, 1, 1})}});
    CHECK(infer(padded, 11, {&x, &idx}).output_shapes[0] == Shape{1, 1, 3, 3});
    CHECK_THROWS_AS(run(padded, 11, {&x, &idx}), sim::ModelError);
}

// ---- Unique -------------------------------------------------------------------------------------

TEST_CASE("Unique of the flattened input, sorted or in first-occurrence order", "[ops-detect]") {
    const Tensor x = f32({6}, {2, 1, 1, 3, 4, 3});
    // sorted: values 1, 2, 3, 4 first seen at 1, 0, 3, 4; x maps to [1, 0, 0, 2, 3, 2];
    // counts 2, 1, 2, 1.
    auto y = run(make_node("Unique", 1, 4), 11, {&x});
    check_values(y[0], {4}, {1, 2, 3, 4});
    check_values(y[1], {4}, {1, 0, 3, 4});
    check_values(y[2], {6}, {1, 0, 0, 2, 3, 2});
    check_values(y[3], {4}, {2, 1, 2, 1});
    // sorted = 0: 2, 1, 3, 4 in order of appearance.
    y = run(make_node("Unique", 1, 4, {{"sorted", int_attr(0)}}), 11, {&x});
    check_values(y[0], {4}, {2, 1, 3, 4});
    check_values(y[1], {4}, {0, 1, 3, 4});
    check_values(y[2], {6}, {0, 1, 1, 2, 3, 2});
    check_values(y[3], {4}, {1, 2, 2, 1});
    // Its lengths depend on the values: unknown at load time unless X is constant.
    const Node n = make_node("Unique", 1, 4);
    CHECK_THROWS_AS(infer(n, 11, {&x}), sim::UnsupportedError);
    const InferContext ctx = infer(n, 11, {&x}, {true});
    CHECK(ctx.output_shapes == std::vector<Shape>{{4}, {4}, {6}, {4}});
    CHECK(ctx.output_dtypes[1] == DType::Int64);
}

TEST_CASE("Unique slices along an axis", "[ops-detect]") {
    // X = [[1, 0], [1, 0], [0, 5]].
    const Tensor x = f32({3, 2}, {1, 0, 1, 0, 0, 5});
    // axis 0: rows (1,0), (1,0), (0,5); sorted (0,5) < (1,0), first seen at 2 and 0.
    auto y = run(make_node("Unique", 1, 4, {{"axis", int_attr(0)}}), 11, {&x});
    check_values(y[0], {2, 2}, {0, 5, 1, 0});
    check_values(y[1], {2}, {2, 0});
    check_values(y[2], {3}, {1, 1, 0});
    check_values(y[3], {2}, {1, 2});
    // axis -1: columns (1,1,0) and (0,0,5); sorted (0,0,5) first -> Y = [[0,1],[0,1],[5,0]].
    y = run(make_node("Unique", 1, 4, {{"axis", int_attr(-1)}}), 11, {&x});
    check_values(y[0], {3, 2}, {0, 1, 0, 1, 5, 0});
    check_values(y[1], {2}, {1, 0});
    check_values(y[2], {2}, {1, 0});
    check_values(y[3], {2}, {1, 1});
}

// ---- ReverseSequence ----------------------------------------------------------------------------

TEST_CASE("ReverseSequence reverses each entry's leading steps", "[ops-detect]") {
    // Batch-major [[1, 2, 3], [4, 5, 6]], lens [2, 3]: [2, 1, 3] and [6, 5, 4].
    const Tensor x = f32({2, 3}, {1, 2, 3, 4, 5, 6});
    const Tensor lens = i64({2}, {2, 3});
    auto y = run_checked(make_node("ReverseSequence", 2, 1,
                                   {{"batch_axis", int_attr(0)}, {"time_axis", int_attr(1)}}),
                         {&x, &lens}, 10);
    check_values(y[0], {2, 3}, {2, 1, 3, 6, 5, 4});
    // Time-major (the default) [3 steps, 2 entries] = [[1, 4], [2, 5], [3, 6]], lens [3, 1]:
    // entry 0 reads 3, 2, 1; entry 1 is unchanged.
    const Tensor xt = f32({3, 2}, {1, 4, 2, 5, 3, 6});
    const Tensor lens2 = i64({2}, {3, 1});
    y = run_checked(make_node("ReverseSequence", 2, 1), {&xt, &lens2}, 10);
    check_values(y[0], {3, 2}, {3, 4, 2, 5, 1, 6});
    const Tensor too_long = i64({2}, {4, 1});
    CHECK_THROWS_AS(run(make_node("ReverseSequence", 2, 1), 10, {&xt, &too_long}), sim::ModelError);
}

// ---- TfIdfVectorizer ----------------------------------------------------------------------------

// Pool: 1-grams 2, 3, 5 (coordinates 0-2) and 2-grams (4, 5), (5, 6) (coordinates 3, 4).
// Input [4, 2, 5, 6, 2, 5]: 1-grams 2 x2, 3 x0, 5 x2; consecutive pairs (4,2) (2,5) (5,6) (6,2)
// (2,5) hold (5,6) once; pairs two apart (4,5) (2,6) (5,2) (6,5) hold (4,5) once.
TEST_CASE("TfIdfVectorizer counts pool n-grams with skips", "[ops-detect]") {
    const Tensor x = Tensor::from_vector<int32_t>({6}, {4, 2, 5, 6, 2, 5});
    auto node = [](int64_t min_len, int64_t skip, const std::string& mode,
                   std::vector<double> weights = {}) {
        std::map<std::string, Attribute> a{{"min_gram_length", int_attr(min_len)},
                                           {"max_gram_length", int_attr(2)},
                                           {"max_skip_count", int_attr(skip)},
                                           {"mode", string_attr(mode)},
                                           {"ngram_counts", ints_attr({0, 3})},
                                           {"ngram_indexes", ints_attr({0, 1, 2, 3, 4})},
                                           {"pool_int64s", ints_attr({2, 3, 5, 4, 5, 5, 6})}};
        if (!weights.empty()) a["weights"] = floats_attr(weights);
        return make_node("TfIdfVectorizer", 1, 1, a);
    };
    auto y = run_checked(node(1, 0, "TF"), {&x}, 9);
    check_values(y[0], {5}, {2, 0, 2, 0, 1});
    y = run_checked(node(1, 1, "TF"), {&x}, 9);
    check_values(y[0], {5}, {2, 0, 2, 1, 1});
    // Only 2-grams.
    y = run_checked(node(2, 0, "TF"), {&x}, 9);
    check_values(y[0], {5}, {0, 0, 0, 0, 1});
    // IDF: weight where the count is non-zero; TFIDF: count * weight.
    const std::vector<double> w{0.5, 1, 2, 3, 4};
    y = run_checked(node(1, 1, "IDF", w), {&x}, 9);
    check_values(y[0], {5}, {0.5, 0, 2, 3, 4});
    y = run_checked(node(1, 1, "TFIDF", w), {&x}, 9);
    check_values(y[0], {5}, {1, 0, 4, 3, 4});
    // Two rows count separately: the second, [3, 3, 3, 3, 3, 3], has six 3s.
    const Tensor x2 = Tensor::from_vector<int64_t>({2, 6}, {4, 2, 5, 6, 2, 5, 3, 3, 3, 3, 3, 3});
    y = run_checked(node(1, 0, "TF"), {&x2}, 9);
    check_values(y[0], {2, 5}, {2, 0, 2, 0, 1, 0, 6, 0, 0, 0});
}
