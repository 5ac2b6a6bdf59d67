// Data-movement operators of the reference executor (reshape_ops.cpp, tensor_creation_ops.cpp,
// axis_ops.cpp, gather_scatter_ops.cpp). Expected values are derived by hand in the comments,
// mostly from the examples of the ONNX operator documentation.
#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <vector>

#include "tests/unit/op_test_util.h"

using namespace xpusim;
using namespace xpusim::op_test;

namespace {

Tensor iota_f32(const Shape& s) {
    std::vector<float> v(static_cast<std::size_t>(sim::shape_numel(s)));
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i);
    return f32(s, v);
}

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

}  // namespace

TEST_CASE("Reshape copies 0 dims, infers -1, honours allowzero and the opset-1 attribute",
          "[ops-dm]") {
    const Tensor x = iota_f32({2, 3, 4});
    // [0, -1]: 0 copies dim 0 (2); -1 = 24 / 2 = 12.
    const Tensor s = i64({2}, {0, -1});
    auto y = run(make_node("Reshape", 2, 1), 14, {&x, &s});
    CHECK(y[0].shape() == Shape{2, 12});
    CHECK(values<float>(y[0])[13] == 13.0f);
    // Opset 1 takes the shape from the attribute.
    y = run(make_node("Reshape", 1, 1, {{"shape", ints_attr({4, 6})}}), 1, {&x});
    CHECK(y[0].shape() == Shape{4, 6});
    // allowzero=1: a 0 is a real 0, so [0, 3] -> [3, 0] is valid; without it 0 copies dim 1 (3)
    // giving [3, 3] (9 elements), which is an error.
    const Tensor empty(DType::Float32, {0, 3});
    const Tensor s30 = i64({2}, {3, 0});
    y = run(make_node("Reshape", 2, 1, {{"allowzero", int_attr(1)}}), 14, {&empty, &s30});
    CHECK(y[0].shape() == Shape{3, 0});
    CHECK_THROWS_AS(run(make_node("Reshape", 2, 1), 14, {&empty, &s30}), sim::ModelError);
    // infer() needs the shape as a load-time constant.
    auto ctx = infer(make_node("Reshape", 2, 1), 14, {&x, &s}, {false, true});
    CHECK(ctx.output_shapes[0] == Shape{2, 12});
    CHECK_THROWS_AS(infer(make_node("Reshape", 2, 1), 14, {&x, &s}, {false, false}),
                    sim::UnsupportedError);
}

TEST_CASE("Flatten, Squeeze and Unsqueeze shapes", "[ops-dm]") {
    const Tensor x = iota_f32({2, 3, 4});
    // axis -1 -> [2*3, 4]; axis 0 -> [1, 24].
    CHECK(run(make_node("Flatten", 1, 1, {{"axis", int_attr(-1)}}), 13, {&x})[0].shape() ==
          Shape{6, 4});
    CHECK(run(make_node("Flatten", 1, 1, {{"axis", int_attr(0)}}), 13, {&x})[0].shape() ==
          Shape{1, 24});

    const Tensor z = iota_f32({1, 3, 1, 2});
    // No axes: every 1 goes. Opset 11 attribute axes [-2] removes only dim 2.
    CHECK(run(make_node("Squeeze", 1, 1), 13, {&z})[0].shape() == Shape{3, 2});
    CHECK(run(make_node("Squeeze", 1, 1, {{"axes", ints_attr({-2})}}), 11, {&z})[0].shape() ==
          Shape{1, 3, 2});
    const Tensor ax0 = i64({1}, {0});
    CHECK(run(make_node("Squeeze", 2, 1), 13, {&z, &ax0})[0].shape() == Shape{3, 1, 2});
    const Tensor ax1 = i64({1}, {1});
    CHECK_THROWS_AS(run(make_node("Squeeze", 2, 1), 13, {&z, &ax1}), sim::ModelError);

    // Unsqueeze [3, 2] at [0, -1]: output rank 4, so -1 is axis 3 -> [1, 3, 2, 1].
    const Tensor u = iota_f32({3, 2});
    const Tensor axes = i64({2}, {0, -1});
    CHECK(run(make_node("Unsqueeze", 2, 1), 13, {&u, &axes})[0].shape() == Shape{1, 3, 2, 1});
    CHECK(run(make_node("Unsqueeze", 1, 1, {{"axes", ints_attr({1})}}), 11, {&u})[0].shape() ==
          Shape{3, 1, 2});
}

TEST_CASE("Transpose, Expand and Tile move bytes", "[ops-dm]") {
    // Default perm reverses: [[0,1,2],[3,4,5]] -> [[0,3],[1,4],[2,5]].
    const Tensor x = iota_f32({2, 3});
    auto y = run(make_node("Transpose", 1, 1), 13, {&x});
    CHECK(y[0].shape() == Shape{3, 2});
    CHECK(values<float>(y[0]) == std::vector<float>{0, 3, 1, 4, 2, 5});
    // perm [1,0,2] on 2x2x2: out[j][i][:] = in[i][j][:] -> 0,1, 4,5, 2,3, 6,7.
    const Tensor c = Tensor::from_vector<int16_t>({2, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7});
    y = run(make_node("Transpose", 1, 1, {{"perm", ints_attr({1, 0, 2})}}), 13, {&c});
    CHECK(values<int16_t>(y[0]) == std::vector<int16_t>{0, 1, 4, 5, 2, 3, 6, 7});

    // Expand [3,1] = (1,2,3) to [2,1,2]: broadcast shape [2,3,2], each value twice per row.
    const Tensor e = Tensor::from_vector<int32_t>({3, 1}, {1, 2, 3});
    const Tensor es = i64({3}, {2, 1, 2});
    y = run(make_node("Expand", 2, 1), 13, {&e, &es});
    CHECK(y[0].shape() == Shape{2, 3, 2});
    CHECK(values<int32_t>(y[0]) == std::vector<int32_t>{1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3});

    // Tile [[1,2]] by [2,3] -> [[1,2,1,2,1,2],[1,2,1,2,1,2]].
    const Tensor t = Tensor::from_vector<uint8_t>({1, 2}, {1, 2});
    const Tensor reps = i64({2}, {2, 3});
    y = run(make_node("Tile", 2, 1), 13, {&t, &reps});
    CHECK(y[0].shape() == Shape{2, 6});
    CHECK(values<uint8_t>(y[0]) == std::vector<uint8_t>{1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2});
}

TEST_CASE("Shape, Size, ConstantOfShape, Range and Constant generate values", "[ops-dm]") {
    const Tensor x(DType::Float32, {2, 3, 4, 5});
    // start 1, end -1 -> dims [1, 3) = [3, 4]; start -10 clamps to 0.
    auto y =
        run(make_node("Shape", 1, 1, {{"start", int_attr(1)}, {"end", int_attr(-1)}}), 15, {&x});
    CHECK(values<int64_t>(y[0]) == std::vector<int64_t>{3, 4});
    y = run(make_node("Shape", 1, 1, {{"start", int_attr(-10)}}), 15, {&x});
    CHECK(values<int64_t>(y[0]) == std::vector<int64_t>{2, 3, 4, 5});
    y = run(make_node("Size", 1, 1), 13, {&x});
    CHECK(y[0].shape().empty());
    CHECK(values<int64_t>(y[0]) == std::vector<int64_t>{120});

    const Tensor shape = i64({2}, {2, 2});
    y = run(make_node("ConstantOfShape", 1, 1,
                      {{"value", tensor_attr(Tensor::from_vector<int32_t>({1}, {7}))}}),
            13, {&shape});
    CHECK(values<int32_t>(y[0]) == std::vector<int32_t>{7, 7, 7, 7});
    y = run(make_node("ConstantOfShape", 1, 1), 13, {&shape});
    CHECK(values<float>(y[0]) == std::vector<float>{0, 0, 0, 0});

    // Range(1, 5, 1.5): ceil(4 / 1.5) = 3 -> 1, 2.5, 4. Range(10, 4, -2) -> 10, 8, 6.
    const Tensor a = Tensor::scalar<float>(1), b = Tensor::scalar<float>(5),
                 d = Tensor::scalar<float>(1.5f);
    CHECK(values<float>(run(make_node("Range", 3, 1), 11, {&a, &b, &d})[0]) ==
          std::vector<float>{1, 2.5f, 4});
    const Tensor ia = Tensor::scalar<int32_t>(10), ib = Tensor::scalar<int32_t>(4),
                 id = Tensor::scalar<int32_t>(-2);
    CHECK(values<int32_t>(run(make_node("Range", 3, 1), 11, {&ia, &ib, &id})[0]) ==
          std::vector<int32_t>{10, 8, 6});

    y = run(make_node("Constant", 0, 1, {{"value_ints", ints_attr({4, 5})}}), 13, {});
    CHECK(y[0].dtype() == DType::Int64);
    CHECK(values<int64_t>(y[0]) == std::vector<int64_t>{4, 5});
    CHECK_THROWS_AS(run(make_node("Constant", 0, 1, {{"value_string", string_attr("x")}}), 13, {}),
                    sim::UnsupportedError);
}

TEST_CASE("Dropout in inference mode and training mode with ratio 0", "[ops-dm]") {
    const Tensor x = f32({3}, {1, -2, 3});
    auto y = run(make_node("Dropout", 1, 2), 13, {&x});
    CHECK(values<float>(y[0]) == std::vector<float>{1, -2, 3});
    CHECK(values<bool>(y[1]) == std::vector<bool>{true, true, true});
    // Opset 7 masks have the input's type: all ones.
    y = run(make_node("Dropout", 1, 2), 7, {&x});
    CHECK(values<float>(y[1]) == std::vector<float>{1, 1, 1});
    const Tensor half = Tensor::scalar<float>(0.5f), zero = Tensor::scalar<float>(0.0f);
    const Tensor on = Tensor::scalar<bool>(true);
    CHECK_THROWS_AS(run(make_node("Dropout", 3, 1), 13, {&x, &half, &on}), sim::UnsupportedError);
    y = run(make_node("Dropout", 3, 1), 13, {&x, &zero, &on});
    CHECK(values<float>(y[0]) == std::vector<float>{1, -2, 3});
}

TEST_CASE("Cast truncates toward zero, rounds fp16, and honours fp8 saturate", "[ops-dm]") {
    const Tensor x = f32({4}, {-1.7f, 2.9f, 1.0f, 1000.0f});
    // ONNX type 6 = INT32: -1.7 -> -1, 2.9 -> 2.
    auto y = run(make_node("Cast", 1, 1, {{"to", int_attr(6)}}), 13, {&x});
    CHECK(values<int32_t>(y[0]) == std::vector<int32_t>{-1, 2, 1, 1000});
    // Type 10 = FLOAT16: 1.0 is 0x3C00.
    y = run(make_node("Cast", 1, 1, {{"to", int_attr(10)}}), 13, {&x});
    CHECK(static_cast<const uint16_t*>(y[0].raw())[2] == 0x3C00);
    // Type 17 = FLOAT8E4M3FN: 1000 > 448 saturates to 448 (0x7E), or is NaN (0x7F) with
    // saturate=0.
    y = run(make_node("Cast", 1, 1, {{"to", int_attr(17)}}), 19, {&x});
    CHECK(static_cast<const uint8_t*>(y[0].raw())[3] == 0x7E);
    y = run(make_node("Cast", 1, 1, {{"to", int_attr(17)}, {"saturate", int_attr(0)}}), 19, {&x});
    CHECK(static_cast<const uint8_t*>(y[0].raw())[3] == 0x7F);
    // Cast-1 names the type; STRING (8) is not supported.
    y = run(make_node("Cast", 1, 1, {{"to", string_attr("INT64")}}), 1, {&x});
    CHECK(values<int64_t>(y[0]) == std::vector<int64_t>{-1, 2, 1, 1000});
    CHECK_THROWS_AS(run(make_node("Cast", 1, 1, {{"to", int_attr(8)}}), 13, {&x}),
                    sim::UnsupportedError);
    // CastLike takes the second input's type.
    const Tensor like = Tensor::scalar<int8_t>(0);
    y = run(make_node("CastLike", 2, 1), 15, {&x, &like});
    CHECK(y[0].dtype() == DType::Int8);
}

TEST_CASE("EyeLike and Trilu", "[ops-dm]") {
    // 3x3 with k=1: ones at (0,1) and (1,2); dtype 1 = FLOAT.
    const Tensor x = Tensor::from_vector<int32_t>({3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
    auto y = run(make_node("EyeLike", 1, 1, {{"k", int_attr(1)}, {"dtype", int_attr(1)}}), 9, {&x});
    CHECK(values<float>(y[0]) == std::vector<float>{0, 1, 0, 0, 0, 1, 0, 0, 0});
    // upper, k=-1 keeps j - i >= -1: row 2 loses column 0.
    const Tensor km1 = i64({}, {-1});
    y = run(make_node("Trilu", 2, 1), 14, {&x, &km1});
    CHECK(values<int32_t>(y[0]) == std::vector<int32_t>{1, 2, 3, 4, 5, 6, 0, 8, 9});
    // lower, k=0 keeps j <= i.
    y = run(make_node("Trilu", 1, 1, {{"upper", int_attr(0)}}), 14, {&x});
    CHECK(values<int32_t>(y[0]) == std::vector<int32_t>{1, 0, 0, 4, 5, 0, 7, 8, 9});
}

TEST_CASE("DepthToSpace DCR/CRD and SpaceToDepth", "[ops-dm]") {
    // C=8, b=2, H=W=1 -> 2 channels of 2x2. DCR reads channel (b1*2 + b2)*2 + c:
    // c=0: 0,2,4,6; c=1: 1,3,5,7. CRD reads channel c*4 + b1*2 + b2: 0..7 in order.
    const Tensor x = iota_f32({1, 8, 1, 1});
    auto y = run(make_node("DepthToSpace", 1, 1, {{"blocksize", int_attr(2)}}), 13, {&x});
    CHECK(y[0].shape() == Shape{1, 2, 2, 2});
    CHECK(values<float>(y[0]) == std::vector<float>{0, 2, 4, 6, 1, 3, 5, 7});
    y = run(
        make_node("DepthToSpace", 1, 1, {{"blocksize", int_attr(2)}, {"mode", string_attr("CRD")}}),
        13, {&x});
    CHECK(values<float>(y[0]) == std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7});
    // SpaceToDepth is the inverse of DCR.
    const Tensor s = f32({1, 2, 2, 2}, {0, 2, 4, 6, 1, 3, 5, 7});
    y = run(make_node("SpaceToDepth", 1, 1, {{"blocksize", int_attr(2)}}), 13, {&s});
    CHECK(y[0].shape() == Shape{1, 8, 1, 1});
    CHECK(values<float>(y[0]) == std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7});
}

TEST_CASE("OneHot with negative and out-of-range indices and an axis", "[ops-dm]") {
    // depth 3: 0 -> [1,0,0], -1 -> index 2 -> [0,0,1], 5 -> all off.
    const Tensor ind = i64({3}, {0, -1, 5});
    const Tensor depth = Tensor::scalar<float>(3.0f);
    const Tensor vals = Tensor::from_vector<int32_t>({2}, {0, 1});
    auto y = run(make_node("OneHot", 3, 1), 11, {&ind, &depth, &vals});
    CHECK(y[0].shape() == Shape{3, 3});
    CHECK(values<int32_t>(y[0]) == std::vector<int32_t>{1, 0, 0, 0, 0, 1, 0, 0, 0});
    // axis 0: out[k][i], the transpose of the above.
    y = run(make_node("OneHot", 3, 1, {{"axis", int_attr(0)}}), 11, {&ind, &depth, &vals});
    CHECK(values<int32_t>(y[0]) == std::vector<int32_t>{1, 0, 0, 0, 0, 0, 0, 1, 0});
    // Float indices mark a position only when integral (as ONNX Runtime): 1.0 -> [0,1],
    // 0.5 -> [0,0].
    const Tensor fi = f32({2}, {1.0f, 0.5f});
    const Tensor d2 = i64({}, {2});
    y = run(make_node("OneHot", 3, 1), 11, {&fi, &d2, &vals});
    CHECK(values<int32_t>(y[0]) == std::vector<int32_t>{0, 1, 0, 0});
}

TEST_CASE("Concat and Split", "[ops-dm]") {
    // [[1],[2]] ++ [[3,4],[5,6]] on axis -1 -> [[1,3,4],[2,5,6]]; an empty input adds nothing.
    const Tensor a = f32({2, 1}, {1, 2}), b = f32({2, 2}, {3, 4, 5, 6});
    const Tensor e(DType::Float32, {2, 0});
    auto y = run(make_node("Concat", 3, 1, {{"axis", int_attr(-1)}}), 13, {&a, &e, &b});
    CHECK(y[0].shape() == Shape{2, 3});
    CHECK(values<float>(y[0]) == std::vector<float>{1, 3, 4, 2, 5, 6});

    const Tensor x = iota_f32({7});
    // num_outputs 3 on 7: chunks of ceil(7/3) = 3 -> 3, 3, 1.
    y = run(make_node("Split", 1, 3, {{"num_outputs", int_attr(3)}}), 18, {&x});
    CHECK(values<float>(y[0]) == std::vector<float>{0, 1, 2});
    CHECK(values<float>(y[2]) == std::vector<float>{6});
    // Split input [2, 0, 5] (opset 13): a zero-size middle part.
    const Tensor sp = i64({3}, {2, 0, 5});
    y = run(make_node("Split", 2, 3), 13, {&x, &sp});
    CHECK(y[1].shape() == Shape{0});
    CHECK(values<float>(y[2]) == std::vector<float>{2, 3, 4, 5, 6});
    // Opset 11: attribute, along axis 1 of [2, 4].
    const Tensor m = iota_f32({2, 4});
    y = run(make_node("Split", 1, 2, {{"axis", int_attr(1)}, {"split", ints_attr({1, 3})}}), 11,
            {&m});
    CHECK(values<float>(y[0]) == std::vector<float>{0, 4});
    CHECK(values<float>(y[1]) == std::vector<float>{1, 2, 3, 5, 6, 7});
    // Equal parts by default; 7 does not split evenly into 2.
    CHECK_THROWS_AS(run(make_node("Split", 1, 2), 13, {&x}), sim::ModelError);
}

TEST_CASE("Slice clamps starts/ends and handles negative steps and sentinels", "[ops-dm]") {
    const Tensor x = iota_f32({10});
    // start -1 -> 9, end INT64_MIN clamps to -1, step -3: 9, 6, 3, 0.
    const Tensor s = i64({1}, {-1}), e = i64({1}, {kMin}), st = i64({1}, {-3});
    Node with_steps = make_node("Slice", 5, 1);
    with_steps.inputs[3] = "";  // axes omitted
    auto y = run(with_steps, 13, {&x, &s, &e, nullptr, &st});
    CHECK(values<float>(y[0]) == std::vector<float>{9, 6, 3, 0});
    // Start beyond the end: empty.
    const Tensor s20 = i64({1}, {20}), emax = i64({1}, {kMax});
    y = run(make_node("Slice", 3, 1), 13, {&x, &s20, &emax});
    CHECK(y[0].shape() == Shape{0});

    // [3,4] = 0..11, axes [0, -1]: rows [1, end), cols [0, 3) -> 4,5,6, 8,9,10.
    const Tensor m = iota_f32({3, 4});
    const Tensor s2 = i64({2}, {1, 0}), e2 = i64({2}, {kMax, 3}), ax = i64({2}, {0, -1});
    y = run(make_node("Slice", 4, 1), 13, {&m, &s2, &e2, &ax});
    CHECK(y[0].shape() == Shape{2, 3});
    CHECK(values<float>(y[0]) == std::vector<float>{4, 5, 6, 8, 9, 10});
    // Opset 9 attributes: cols [1, 1000) of every row -> 1,2,3, 5,6,7, 9,10,11.
    y = run(
        make_node(
            "Slice", 1, 1,
            {{"starts", ints_attr({1})}, {"ends", ints_attr({1000})}, {"axes", ints_attr({1})}}),
        9, {&m});
    CHECK(values<float>(y[0]) == std::vector<float>{1, 2, 3, 5, 6, 7, 9, 10, 11});
    // infer() needs starts/ends as constants.
    CHECK_THROWS_AS(
        infer(make_node("Slice", 4, 1), 13, {&m, &s2, &e2, &ax}, {false, true, false, true}),
        sim::UnsupportedError);
}

TEST_CASE("Gather, GatherElements and GatherND", "[ops-dm]") {
    // data [[0,1,2],[3,4,5]], axis 1, indices [-1, 0] -> [[2,0],[5,3]].
    const Tensor d = iota_f32({2, 3});
    const Tensor ind = i64({2}, {-1, 0});
    auto y = run(make_node("Gather", 2, 1, {{"axis", int_attr(1)}}), 13, {&d, &ind});
    CHECK(values<float>(y[0]) == std::vector<float>{2, 0, 5, 3});
    const Tensor bad = i64({1}, {3});
    CHECK_THROWS_AS(run(make_node("Gather", 2, 1, {{"axis", int_attr(1)}}), 13, {&d, &bad}),
                    sim::ModelError);

    // ONNX example: data [[1,2],[3,4]], axis 1, indices [[0,0],[1,0]] -> [[1,1],[4,3]].
    const Tensor ge = f32({2, 2}, {1, 2, 3, 4});
    const Tensor gi = Tensor::from_vector<int32_t>({2, 2}, {0, 0, 1, 0});
    y = run(make_node("GatherElements", 2, 1, {{"axis", int_attr(1)}}), 13, {&ge, &gi});
    CHECK(values<float>(y[0]) == std::vector<float>{1, 1, 4, 3});

    // ONNX example (batch_dims 1): data [[[0,1],[2,3]],[[4,5],[6,7]]], indices [[1],[0]]
    // -> [[2,3],[4,5]].
    const Tensor nd = Tensor::from_vector<int32_t>({2, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7});
    const Tensor ni = i64({2, 1}, {1, 0});
    y = run(make_node("GatherND", 2, 1, {{"batch_dims", int_attr(1)}}), 13, {&nd, &ni});
    CHECK(y[0].shape() == Shape{2, 2});
    CHECK(values<int32_t>(y[0]) == std::vector<int32_t>{2, 3, 4, 5});
}

TEST_CASE("ScatterElements and ScatterND with reductions", "[ops-dm]") {
    // ONNX example: data [[1,2,3,4,5]], indices [[1,1]], updates [[1.1,2.1]], axis 1, add
    // -> [[1, 2+1.1+2.1, 3, 4, 5]] = [[1, 5.2, 3, 4, 5]].
    const Tensor d = f32({1, 5}, {1, 2, 3, 4, 5});
    const Tensor ind = i64({1, 2}, {1, 1});
    const Tensor up = f32({1, 2}, {1.1f, 2.1f});
    auto y = run(make_node("ScatterElements", 3, 1,
                           {{"axis", int_attr(1)}, {"reduction", string_attr("add")}}),
                 16, {&d, &ind, &up});
    CHECK(values<float>(y[0])[1] == Approx(5.2f));
    // max keeps max(2, 1.1, 2.1) = 2.1; none writes the last update, 2.1.
    y = run(make_node("ScatterElements", 3, 1,
                      {{"axis", int_attr(1)}, {"reduction", string_attr("max")}}),
            18, {&d, &ind, &up});
    CHECK(values<float>(y[0]) == std::vector<float>{1, 2.1f, 3, 4, 5});

    // ONNX example: data 1..8, indices [[4],[3],[1],[7]], updates [9,10,11,12]
    // -> [1,11,3,10,9,6,7,12]; with add -> [1,2+11,3,4+10,5+9,6,7,8+12].
    const Tensor nd = Tensor::from_vector<int64_t>({8}, {1, 2, 3, 4, 5, 6, 7, 8});
    const Tensor ni = i64({4, 1}, {4, 3, 1, 7});
    const Tensor nu = Tensor::from_vector<int64_t>({4}, {9, 10, 11, 12});
    y = run(make_node("ScatterND", 3, 1), 13, {&nd, &ni, &nu});
    CHECK(values<int64_t>(y[0]) == std::vector<int64_t>{1, 11, 3, 10, 9, 6, 7, 12});
    y = run(make_node("ScatterND", 3, 1, {{"reduction", string_attr("add")}}), 16, {&nd, &ni, &nu});
    CHECK(values<int64_t>(y[0]) == std::vector<int64_t>{1, 13, 3, 14, 14, 6, 7, 20});
}

TEST_CASE("Compress, CumSum, ArgMax/ArgMin, TopK and NonZero", "[ops-dm]") {
    // Rows 1 and 2 of [[1,2],[3,4],[5,6]]; without axis, elements 1 and 4 of the flat input.
    const Tensor x = f32({3, 2}, {1, 2, 3, 4, 5, 6});
    const Tensor c = Tensor::from_vector<bool>({3}, {false, true, true});
    auto y = run(make_node("Compress", 2, 1, {{"axis", int_attr(0)}}), 11, {&x, &c});
    CHECK(values<float>(y[0]) == std::vector<float>{3, 4, 5, 6});
    const Tensor cf = Tensor::from_vector<bool>({5}, {false, true, false, false, true});
    y = run(make_node("Compress", 2, 1), 11, {&x, &cf});
    CHECK(values<float>(y[0]) == std::vector<float>{2, 5});

    // [1,2,3]: inclusive 1,3,6; reverse exclusive: out[i] = sum of elements after i = 5,3,0.
    const Tensor s = Tensor::from_vector<int32_t>({3}, {1, 2, 3});
    const Tensor ax = Tensor::scalar<int32_t>(0);
    y = run(make_node("CumSum", 2, 1), 14, {&s, &ax});
    CHECK(values<int32_t>(y[0]) == std::vector<int32_t>{1, 3, 6});
    y = run(make_node("CumSum", 2, 1, {{"exclusive", int_attr(1)}, {"reverse", int_attr(1)}}), 14,
            {&s, &ax});
    CHECK(values<int32_t>(y[0]) == std::vector<int32_t>{5, 3, 0});

    // [[2,2,1],[3,1,3]] along axis 1: first max at 0, 0; last max at 1, 2.
    const Tensor a = f32({2, 3}, {2, 2, 1, 3, 1, 3});
    y = run(make_node("ArgMax", 1, 1, {{"axis", int_attr(1)}, {"keepdims", int_attr(0)}}), 13,
            {&a});
    CHECK(values<int64_t>(y[0]) == std::vector<int64_t>{0, 0});
    y = run(
        make_node(
            "ArgMax", 1, 1,
            {{"axis", int_attr(1)}, {"keepdims", int_attr(0)}, {"select_last_index", int_attr(1)}}),
        13, {&a});
    CHECK(values<int64_t>(y[0]) == std::vector<int64_t>{1, 2});
    // ArgMin over axis 0, keepdims: columns (2,3) (2,1) (1,3) -> [[0,1,0]].
    y = run(make_node("ArgMin", 1, 1), 13, {&a});
    CHECK(y[0].shape() == Shape{1, 3});
    CHECK(values<int64_t>(y[0]) == std::vector<int64_t>{0, 1, 0});

    // TopK k=2 of [3,1,3,2]: largest 3@0, 3@2 (ties by index); smallest 1@1, 2@3.
    const Tensor t = f32({4}, {3, 1, 3, 2});
    const Tensor k = i64({1}, {2});
    y = run(make_node("TopK", 2, 2), 11, {&t, &k});
    CHECK(values<float>(y[0]) == std::vector<float>{3, 3});
    CHECK(values<int64_t>(y[1]) == std::vector<int64_t>{0, 2});
    y = run(make_node("TopK", 2, 2, {{"largest", int_attr(0)}}), 11, {&t, &k});
    CHECK(values<float>(y[0]) == std::vector<float>{1, 2});
    CHECK(values<int64_t>(y[1]) == std::vector<int64_t>{1, 3});
    // NaN comes first for largest and smallest alike (as ONNX Runtime): [3, NaN, 5], k=2,
    // smallest -> NaN@1, 3@0.
    const Tensor tn = f32({3}, {3, std::numeric_limits<float>::quiet_NaN(), 5});
    y = run(make_node("TopK", 2, 2, {{"largest", int_attr(0)}}), 11, {&tn, &k});
    CHECK(values<int64_t>(y[1]) == std::vector<int64_t>{1, 0});

    // NonZero [[1,0],[1,1]]: (0,0), (1,0), (1,1) -> rows [0,1,1] and [0,0,1].
    const Tensor nz = f32({2, 2}, {1, 0, 1, 1});
    y = run(make_node("NonZero", 1, 1), 13, {&nz});
    CHECK(y[0].shape() == Shape{2, 3});
    CHECK(values<int64_t>(y[0]) == std::vector<int64_t>{0, 1, 1, 0, 0, 1});
    CHECK_THROWS_AS(infer(make_node("NonZero", 1, 1), 13, {&nz}, {false}), sim::UnsupportedError);
}
