// Unit tests of the convolution, matrix-product, pooling and normalization kernels. Every
// expected value is derived by hand in the comment beside it.
#include <catch2/catch.hpp>
#include <cmath>

#include "tests/unit/op_test_util.h"

using namespace xpusim;
using namespace xpusim::op_test;

// ---- Conv
// ----------------------------------------------------------------------------------------

TEST_CASE("Conv 2-D with bias sums each window", "[ops-nn]") {
    // X = 1..9 as 3x3, W = 2x2 ones, B = 1: each output = sum of a 2x2 window + 1:
    // 1+2+4+5 = 12, 2+3+5+6 = 16, 4+5+7+8 = 24, 5+6+8+9 = 28, plus 1.
    const Tensor x = f32({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
    const Tensor w = f32({1, 1, 2, 2}, {1, 1, 1, 1});
    const Tensor b = f32({1}, {1});
    const auto y = run_checked(make_node("Conv", 3, 1), {&x, &w, &b});
    check_values(y[0], {1, 1, 2, 2}, {13, 17, 25, 29});
}

TEST_CASE("Conv groups apply each filter to its own channels", "[ops-nn]") {
    // group = 2: channel 0 [1, 2] * 2, channel 1 [3, 4] * 10.
    const Tensor x = f32({1, 2, 1, 2}, {1, 2, 3, 4});
    const Tensor w = f32({2, 1, 1, 1}, {2, 10});
    const auto y = run_checked(make_node("Conv", 2, 1, {{"group", int_attr(2)}}), {&x, &w});
    check_values(y[0], {1, 2, 1, 2}, {2, 4, 30, 40});
}

TEST_CASE("Conv auto_pad puts the odd padding at the end or the beginning", "[ops-nn]") {
    // X = [1, 2, 3, 4], W = [1, 10], stride 1: out = ceil(4 / 1) = 4, total pad = 3 + 2 - 4 = 1.
    const Tensor x = f32({1, 1, 4}, {1, 2, 3, 4});
    const Tensor w = f32({1, 1, 2}, {1, 10});
    // SAME_UPPER pads the end: windows (1,2) (2,3) (3,4) (4,0) -> 21, 32, 43, 4.
    auto y =
        run_checked(make_node("Conv", 2, 1, {{"auto_pad", string_attr("SAME_UPPER")}}), {&x, &w});
    check_values(y[0], {1, 1, 4}, {21, 32, 43, 4});
    // SAME_LOWER pads the beginning: windows (0,1) (1,2) (2,3) (3,4) -> 10, 21, 32, 43.
    y = run_checked(make_node("Conv", 2, 1, {{"auto_pad", string_attr("SAME_LOWER")}}), {&x, &w});
    check_values(y[0], {1, 1, 4}, {10, 21, 32, 43});
}

TEST_CASE("Conv dilations, strides and asymmetric pads", "[ops-nn]") {
    // X = [1..5], W = [1, 1] dilated by 2 reads x[i] + x[i + 2]: 1+3, 2+4, 3+5.
    const Tensor x = f32({1, 1, 5}, {1, 2, 3, 4, 5});
    const Tensor w = f32({1, 1, 2}, {1, 1});
    auto y = run_checked(make_node("Conv", 2, 1, {{"dilations", ints_attr({2})}}), {&x, &w});
    check_values(y[0], {1, 1, 3}, {4, 6, 8});
    // pads [1, 0], stride 2 over [0, 1, 2, 3, 4, 5]: windows (0,1) (2,3) (4,5) -> 1, 5, 9;
    // out = floor((5 + 1 - 2) / 2) + 1 = 3.
    y = run_checked(
        make_node("Conv", 2, 1, {{"pads", ints_attr({1, 0})}, {"strides", ints_attr({2})}}),
        {&x, &w});
    check_values(y[0], {1, 1, 3}, {1, 5, 9});
}

TEST_CASE("Conv over batches that the executor runs in chunks of images matches the direct sum", "[ops-nn]") {
    // The executor puts several images side by side in one GEMM when an image's output is thin
    // (fewer than 192 positions: a chunk aims at 4 x 192 columns), up to a scratch bound of
    // 8 MiB (the larger of an image's im2col and its output, x images). An output of 192
    // positions or more runs one image at a time. With 1280 channels of 12 x 12 (144 outputs):
    //   - 3x3 pad 1 in 2 groups: 640 x 9 x 144 x 4 B = 3.3 MB an image, so batch 3 runs as a
    //     chunk of 2 and one of 1;
    //   - 3x3 pad 1 without groups: 6.6 MB, one image at a time into Y directly;
    //   - 3x3 pad 1 stride 2 (6 x 6 outputs, 1.7 MB): one chunk of 3;
    //   - 1x1 (0.7 MB): one gathered chunk of 3;
    // and a 1x1 on 16 x 16 (256 outputs) reads X and writes Y directly, image by image.
    // Expected: y[n, m, p, q] = sum over c, r, s of x[n, c, p * stride - pad + r, q * stride -
    // pad + s] * w[m, c, r, s], in double, with zeros outside the input; small integers keep
    // every partial sum exact in fp32 (at most 11520 terms of magnitude <= 18), whatever the
    // summation order.
    const int64_t n = 3, m = 8;
    auto input = [&](int64_t c, int64_t h) {
        std::vector<float> xv(static_cast<std::size_t>(n * c * h * h));
        for (std::size_t i = 0; i < xv.size(); ++i) xv[i] = static_cast<float>((i * 7919) % 13) - 6.0f;
        return xv;
    };
    auto weights = [&](int64_t c, int64_t groups, int64_t k) {
        std::vector<float> w(static_cast<std::size_t>(m * (c / groups) * k * k));
        for (std::size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>((i * 104729) % 7) - 3.0f;
        return w;
    };
    auto direct = [&](const std::vector<float>& xv, int64_t c, int64_t h, int64_t k, int64_t stride, int64_t pad,
                      int64_t groups, const std::vector<float>& w) {
        const int64_t cg = c / groups, mg = m / groups, o = (h + 2 * pad - k) / stride + 1;
        std::vector<double> y(static_cast<std::size_t>(n * m * o * o));
        for (int64_t b = 0; b < n; ++b)
            for (int64_t mo = 0; mo < m; ++mo)
                for (int64_t p = 0; p < o; ++p)
                    for (int64_t q = 0; q < o; ++q) {
                        double sum = 0;
                        const int64_t g = mo / mg;
                        for (int64_t ci = 0; ci < cg; ++ci)
                            for (int64_t r = 0; r < k; ++r)
                                for (int64_t t = 0; t < k; ++t) {
                                    const int64_t i = p * stride - pad + r, j = q * stride - pad + t;
                                    if (i < 0 || i >= h || j < 0 || j >= h) continue;
                                    sum += static_cast<double>(xv[static_cast<std::size_t>(((b * c + g * cg + ci) * h + i) * h + j)]) *
                                           w[static_cast<std::size_t>(((mo * cg + ci) * k + r) * k + t)];
                                }
                        y[static_cast<std::size_t>(((b * m + mo) * o + p) * o + q)] = sum;
                    }
        return y;
    };
    const int64_t c = 1280, h = 12;
    const auto xv = input(c, h);
    const Tensor x = f32({n, c, h, h}, xv);
    const auto pad1 = ints_attr({1, 1, 1, 1});
    SECTION("3x3 pad 1 in 2 groups: chunks of 2 and 1 images") {
        const auto wv = weights(c, 2, 3);
        const Tensor w = f32({m, c / 2, 3, 3}, wv);
        const auto y = run_checked(make_node("Conv", 2, 1, {{"pads", pad1}, {"group", int_attr(2)}}), {&x, &w});
        check_values(y[0], {n, m, h, h}, direct(xv, c, h, 3, 1, 1, 2, wv));
    }
    SECTION("3x3 pad 1: one image at a time") {
        const auto wv = weights(c, 1, 3);
        const Tensor w = f32({m, c, 3, 3}, wv);
        const auto y = run_checked(make_node("Conv", 2, 1, {{"pads", pad1}}), {&x, &w});
        check_values(y[0], {n, m, h, h}, direct(xv, c, h, 3, 1, 1, 1, wv));
    }
    SECTION("3x3 pad 1 stride 2: one chunk") {
        const auto wv = weights(c, 1, 3);
        const Tensor w = f32({m, c, 3, 3}, wv);
        const auto y = run_checked(make_node("Conv", 2, 1, {{"pads", pad1}, {"strides", ints_attr({2, 2})}}), {&x, &w});
        check_values(y[0], {n, m, 6, 6}, direct(xv, c, h, 3, 2, 1, 1, wv));
    }
    SECTION("1x1: one chunk, gathered") {
        const auto wv = weights(c, 1, 1);
        const Tensor w = f32({m, c, 1, 1}, wv);
        const auto y = run_checked(make_node("Conv", 2, 1), {&x, &w});
        check_values(y[0], {n, m, h, h}, direct(xv, c, h, 1, 1, 0, 1, wv));
    }
    SECTION("1x1 on a wide output: one image at a time, straight from X into Y") {
        const int64_t cw = 32, hw = 16;
        const auto xw = input(cw, hw);
        const Tensor x16 = f32({n, cw, hw, hw}, xw);
        const auto wv = weights(cw, 1, 1);
        const Tensor w = f32({m, cw, 1, 1}, wv);
        const auto y = run_checked(make_node("Conv", 2, 1), {&x16, &w});
        check_values(y[0], {n, m, hw, hw}, direct(xw, cw, hw, 1, 1, 0, 1, wv));
    }
}

TEST_CASE("Conv rejects a kernel_shape that contradicts the weight", "[ops-nn]") {
    const Tensor x = f32({1, 1, 3, 3}, std::vector<float>(9, 1));
    const Tensor w = f32({1, 1, 2, 2}, {1, 1, 1, 1});
    const Node n = make_node("Conv", 2, 1, {{"kernel_shape", ints_attr({3, 3})}});
    CHECK_THROWS_AS(operators().find("Conv")->compute(KernelContext{n, 13, {&x, &w}}),
                    sim::ModelError);
}

// ---- ConvTranspose -----------------------------------------------------------------------------

TEST_CASE("ConvTranspose scatters each input through the kernel", "[ops-nn]") {
    // X = [1, 2], W = [1, 1, 1], stride 2: full length 2 * (2 - 1) + 3 = 5;
    // x0 adds 1 at 0..2, x1 adds 2 at 2..4 -> [1, 1, 3, 2, 2].
    const Tensor x = f32({1, 1, 2}, {1, 2});
    const Tensor w = f32({1, 1, 3}, {1, 1, 1});
    auto y = run_checked(make_node("ConvTranspose", 2, 1, {{"strides", ints_attr({2})}}), {&x, &w});
    check_values(y[0], {1, 1, 5}, {1, 1, 3, 2, 2});
    // pads [1, 1] crop one at each end -> [1, 3, 2].
    y = run_checked(make_node("ConvTranspose", 2, 1,
                              {{"strides", ints_attr({2})}, {"pads", ints_attr({1, 1})}}),
                    {&x, &w});
    check_values(y[0], {1, 1, 3}, {1, 3, 2});
    // output_padding 1 appends one position no tap reaches -> [1, 1, 3, 2, 2, 0].
    y = run_checked(make_node("ConvTranspose", 2, 1,
                              {{"strides", ints_attr({2})}, {"output_padding", ints_attr({1})}}),
                    {&x, &w});
    check_values(y[0], {1, 1, 6}, {1, 1, 3, 2, 2, 0});
}

TEST_CASE("ConvTranspose output_shape splits the padding by auto_pad", "[ops-nn]") {
    // Full result [1, 1, 3, 2, 2] cut to 4: total padding 1. NOTSET puts it at the beginning
    // -> [1, 3, 2, 2]; SAME_UPPER at the end -> [1, 1, 3, 2].
    const Tensor x = f32({1, 1, 2}, {1, 2});
    const Tensor w = f32({1, 1, 3}, {1, 1, 1});
    auto y = run_checked(make_node("ConvTranspose", 2, 1,
                                   {{"strides", ints_attr({2})}, {"output_shape", ints_attr({4})}}),
                         {&x, &w});
    check_values(y[0], {1, 1, 4}, {1, 3, 2, 2});
    y = run_checked(make_node("ConvTranspose", 2, 1,
                              {{"strides", ints_attr({2})},
                               {"output_shape", ints_attr({4})},
                               {"auto_pad", string_attr("SAME_UPPER")}}),
                    {&x, &w});
    check_values(y[0], {1, 1, 4}, {1, 1, 3, 2});
}

TEST_CASE("ConvTranspose with groups and bias", "[ops-nn]") {
    // group 2, W (2 x 1 x 1): channel 0 = 1 * 3 + 10, channel 1 = 2 * 5 + 20.
    const Tensor x = f32({1, 2, 1}, {1, 2});
    const Tensor w = f32({2, 1, 1}, {3, 5});
    const Tensor b = f32({2}, {10, 20});
    const auto y =
        run_checked(make_node("ConvTranspose", 3, 1, {{"group", int_attr(2)}}), {&x, &w, &b});
    check_values(y[0], {1, 2, 1}, {13, 30});
}

// ---- Gemm, MatMul ------------------------------------------------------------------------------

TEST_CASE("Gemm with transA, alpha, beta and a broadcast row of C", "[ops-nn]") {
    // A^T = [[1, 3], [2, 4]], B = [[5, 6], [7, 8]]: A^T B = [[26, 30], [38, 44]];
    // * 0.5 = [[13, 15], [19, 22]]; + 2 * [1, 2] per row = [[15, 19], [21, 26]].
    const Tensor a = f32({2, 2}, {1, 2, 3, 4});
    const Tensor b = f32({2, 2}, {5, 6, 7, 8});
    const Tensor c = f32({2}, {1, 2});
    const Node n =
        make_node("Gemm", 3, 1,
                  {{"transA", int_attr(1)}, {"alpha", float_attr(0.5)}, {"beta", float_attr(2.0)}});
    check_values(run_checked(n, {&a, &b, &c})[0], {2, 2}, {15, 19, 21, 26});
    // transB on the same data: A B^T = [[1*5+2*6, 1*7+2*8], [3*5+4*6, 3*7+4*8]], C omitted.
    check_values(run_checked(make_node("Gemm", 2, 1, {{"transB", int_attr(1)}}), {&a, &b}, 13)[0],
                 {2, 2}, {17, 23, 39, 53});
}

TEST_CASE("MatMul follows numpy: 1-D promotion and batch broadcast", "[ops-nn]") {
    // [1, 2, 3] . [4, 5, 6] = 32, a scalar.
    const Tensor v1 = f32({3}, {1, 2, 3});
    const Tensor v2 = f32({3}, {4, 5, 6});
    check_values(run_checked(make_node("MatMul", 2, 1), {&v1, &v2})[0], {}, {32});
    // A (2 x 1 x 2) = [[1, 2]], [[3, 4]] times B (2 x 1) = [[1], [1]]: 3 and 7, shape 2x1x1.
    const Tensor a = f32({2, 1, 2}, {1, 2, 3, 4});
    const Tensor b = f32({2, 1}, {1, 1});
    check_values(run_checked(make_node("MatMul", 2, 1), {&a, &b})[0], {2, 1, 1}, {3, 7});
    // B (2 x 2 x 1) broadcast against A (1 x 2): [1, 2] . [1, 0] = 1, [1, 2] . [0, 1] = 2.
    const Tensor a1 = f32({1, 2}, {1, 2});
    const Tensor b2 = f32({2, 2, 1}, {1, 0, 0, 1});
    check_values(run_checked(make_node("MatMul", 2, 1), {&a1, &b2})[0], {2, 1, 1}, {1, 2});
}

TEST_CASE("MatMul on int32", "[ops-nn]") {
    // [[1, 2], [3, 4]] x [[1], [-1]] = [[-1], [-1]].
    const Tensor a = Tensor::from_vector<int32_t>({2, 2}, {1, 2, 3, 4});
    const Tensor b = Tensor::from_vector<int32_t>({2, 1}, {1, -1});
    const auto y = run_checked(make_node("MatMul", 2, 1), {&a, &b});
    CHECK(y[0].dtype() == sim::DType::Int32);
    check_values(y[0], {2, 1}, {-1, -1});
}

// ---- Einsum ------------------------------------------------------------------------------------

Node einsum(const std::string& eq, std::size_t n_in) {
    return make_node("Einsum", n_in, 1, {{"equation", string_attr(eq)}});
}

TEST_CASE("Einsum diagonals, traces and implicit outputs", "[ops-nn]") {
    const Tensor m = f32({2, 2}, {1, 2, 3, 4});
    check_values(run_checked(einsum("ii->i", 1), {&m})[0], {2}, {1, 4});  // the diagonal
    check_values(run_checked(einsum("ii", 1), {&m})[0], {}, {5});         // implicit: trace 1 + 4
    // Implicit output sorts the labels: "ba" -> "ab", the transpose.
    check_values(run_checked(einsum("ba", 1), {&m})[0], {2, 2}, {1, 3, 2, 4});
    // ... in ASCII order, upper case first (numpy): "bA" -> "Ab", the transpose again.
    check_values(run_checked(einsum("bA", 1), {&m})[0], {2, 2}, {1, 3, 2, 4});
    // Implicit "ij,jk" drops the repeated j: a matrix product [[7, 10], [15, 22]].
    check_values(run_checked(einsum("ij,jk", 2), {&m, &m})[0], {2, 2}, {7, 10, 15, 22});
}

TEST_CASE("Einsum contractions with ellipsis broadcast and three operands", "[ops-nn]") {
    // A (2 x 2) rows [1, 2], [3, 4]; B = [10, 1] has no '...' axes: [12, 34].
    const Tensor a = f32({2, 2}, {1, 2, 3, 4});
    const Tensor b = f32({2}, {10, 1});
    check_values(run_checked(einsum("...i,...i->...", 2), {&a, &b})[0], {2}, {12, 34});
    // i,ij,j-> = b^T A b = [10, 1] [[1, 2], [3, 4]] [10, 1]^T = 10*(10+2) + 1*(30+4) = 154.
    check_values(run_checked(einsum("i,ij,j->", 3), {&b, &a, &b})[0], {}, {154});
    // Batched matmul with the batch label last in the output: bij,bjk->ikb with b = 1.
    const Tensor a3 = f32({1, 2, 2}, {1, 2, 3, 4});
    check_values(run_checked(einsum("bij,bjk->ikb", 2), {&a3, &a3})[0], {2, 2, 1}, {7, 10, 15, 22});
}

TEST_CASE("Einsum rejects mismatched subscripts", "[ops-nn]") {
    const Tensor a = f32({2, 3}, std::vector<float>(6, 1));
    const Tensor* ins[] = {&a};
    const auto compute = [&](const std::string& eq) {
        const Node n = einsum(eq, 1);
        return operators().find("Einsum")->compute(KernelContext{n, 12, {ins[0]}});
    };
    CHECK_THROWS_AS(compute("ii->i"), sim::ModelError);    // extents 2 and 3 differ
    CHECK_THROWS_AS(compute("ijk->i"), sim::ModelError);   // rank 2 operand, 3 subscripts
    CHECK_THROWS_AS(compute("...j->j"), sim::ModelError);  // explicit output drops '...'
}

// ---- pooling -----------------------------------------------------------------------------------

TEST_CASE("MaxPool with Indices in both storage orders", "[ops-nn]") {
    // X = 1..16 as 4x4, 2x2 windows, stride 2: maxima 6, 8, 14, 16 at (1,1) (1,3) (3,1) (3,3).
    std::vector<float> v(16);
    for (int i = 0; i < 16; ++i) v[i] = static_cast<float>(i + 1);
    const Tensor x = f32({1, 1, 4, 4}, v);
    std::map<std::string, Attribute> attrs{{"kernel_shape", ints_attr({2, 2})},
                                           {"strides", ints_attr({2, 2})}};
    auto y = run_checked(make_node("MaxPool", 1, 2, attrs), {&x});
    check_values(y[0], {1, 1, 2, 2}, {6, 8, 14, 16});
    check_values(y[1], {1, 1, 2, 2}, {5, 7, 13, 15});  // row-major h * 4 + w
    attrs["storage_order"] = int_attr(1);
    y = run_checked(make_node("MaxPool", 1, 2, attrs), {&x});
    check_values(y[1], {1, 1, 2, 2}, {5, 13, 7, 15});  // column-major h + w * 4
}

TEST_CASE("MaxPool ceil_mode adds the partial last window", "[ops-nn]") {
    // X = [1..5], k 2, stride 2: floor((5 - 2) / 2) + 1 = 2 windows -> [2, 4];
    // ceil((5 - 2) / 2) + 1 = 3 -> the last window holds only 5.
    const Tensor x = f32({1, 1, 5}, {1, 2, 3, 4, 5});
    std::map<std::string, Attribute> attrs{{"kernel_shape", ints_attr({2})},
                                           {"strides", ints_attr({2})}};
    check_values(run_checked(make_node("MaxPool", 1, 1, attrs), {&x})[0], {1, 1, 2}, {2, 4});
    attrs["ceil_mode"] = int_attr(1);
    check_values(run_checked(make_node("MaxPool", 1, 1, attrs), {&x})[0], {1, 1, 3}, {2, 4, 5});
}

TEST_CASE("MaxPool on int8 never takes the padding", "[ops-nn]") {
    // Windows (pad, -5) and (-5, -3): -5 and -3 (padding is not a zero).
    const Tensor x = Tensor::from_vector<int8_t>({1, 1, 2}, {-5, -3});
    const Node n =
        make_node("MaxPool", 1, 1, {{"kernel_shape", ints_attr({2})}, {"pads", ints_attr({1, 0})}});
    const auto y = run_checked(n, {&x});
    CHECK(y[0].dtype() == sim::DType::Int8);
    check_values(y[0], {1, 1, 2}, {-5, -3});
}

TEST_CASE("AveragePool count_include_pad and ceil_mode divisors", "[ops-nn]") {
    // X = [1, 2, 3], k 2, pads [1, 1]: windows (p,1) (1,2) (2,3) (3,p).
    const Tensor x = f32({1, 1, 3}, {1, 2, 3});
    std::map<std::string, Attribute> attrs{{"kernel_shape", ints_attr({2})},
                                           {"pads", ints_attr({1, 1})}};
    // Padding excluded: 1, 1.5, 2.5, 3. Included: 0.5, 1.5, 2.5, 1.5.
    check_values(run_checked(make_node("AveragePool", 1, 1, attrs), {&x})[0], {1, 1, 4},
                 {1, 1.5, 2.5, 3});
    attrs["count_include_pad"] = int_attr(1);
    check_values(run_checked(make_node("AveragePool", 1, 1, attrs), {&x})[0], {1, 1, 4},
                 {0.5, 1.5, 2.5, 1.5});
    // X = [1..5], k 2, stride 2, ceil: the last window (5, past the end) is no padding, so
    // it divides by 1 even with count_include_pad -> [1.5, 3.5, 5].
    const Tensor x5 = f32({1, 1, 5}, {1, 2, 3, 4, 5});
    const Node n = make_node("AveragePool", 1, 1,
                             {{"kernel_shape", ints_attr({2})},
                              {"strides", ints_attr({2})},
                              {"ceil_mode", int_attr(1)},
                              {"count_include_pad", int_attr(1)}});
    check_values(run_checked(n, {&x5})[0], {1, 1, 3}, {1.5, 3.5, 5});
}

TEST_CASE("LpPool and the global pools", "[ops-nn]") {
    // LpPool p = 2, k 2 over [1, -2, 3]: sqrt(1 + 4), sqrt(4 + 9).
    const Tensor x = f32({1, 1, 3}, {1, -2, 3});
    const Node lp =
        make_node("LpPool", 1, 1, {{"kernel_shape", ints_attr({2})}, {"p", int_attr(2)}});
    check_values(run_checked(lp, {&x})[0], {1, 1, 2}, {std::sqrt(5.0), std::sqrt(13.0)});
    // Channels [1, 3] and [2, 6]: means 2 and 4, maxima 3 and 6.
    const Tensor g = f32({1, 2, 2, 1}, {1, 3, 2, 6});
    check_values(run_checked(make_node("GlobalAveragePool", 1, 1), {&g})[0], {1, 2, 1, 1}, {2, 4});
    check_values(run_checked(make_node("GlobalMaxPool", 1, 1), {&g})[0], {1, 2, 1, 1}, {3, 6});
    // GlobalLpPool p = 2 over [3, 4]: 5.
    const Tensor t = f32({1, 1, 2}, {3, 4});
    check_values(run_checked(make_node("GlobalLpPool", 1, 1), {&t})[0], {1, 1, 1}, {5});
}

// ---- normalization -----------------------------------------------------------------------------

TEST_CASE("BatchNormalization in inference mode", "[ops-nn]") {
    // Channel 0: (x - 1) / sqrt(4) * 1 + 0 on [1, 2] -> [0, 0.5];
    // channel 1: (x - 3) / sqrt(1) * 2 + 1 on [3, 4] -> [1, 3].
    const Tensor x = f32({1, 2, 1, 2}, {1, 2, 3, 4});
    const Tensor scale = f32({2}, {1, 2}), bias = f32({2}, {0, 1});
    const Tensor mean = f32({2}, {1, 3}), var = f32({2}, {4, 1});
    const Node n = make_node("BatchNormalization", 5, 1, {{"epsilon", float_attr(0.0)}});
    check_values(run_checked(n, {&x, &scale, &bias, &mean, &var}, 15)[0], {1, 2, 1, 2},
                 {0, 0.5, 1, 3});
    const Node train = make_node("BatchNormalization", 5, 3, {{"training_mode", int_attr(1)}});
    CHECK_THROWS_AS(operators()
                        .find("BatchNormalization")
                        ->compute(KernelContext{train, 15, {&x, &scale, &bias, &mean, &var}}),
                    sim::UnsupportedError);
}

TEST_CASE("InstanceNormalization and GroupNormalization", "[ops-nn]") {
    // Instance: [1, 3] has mean 2, variance 1 -> [-1, 1] * 2 + 1 = [-1, 3].
    const Tensor x = f32({1, 1, 2}, {1, 3});
    const Tensor s = f32({1}, {2}), b = f32({1}, {1});
    const Node inst = make_node("InstanceNormalization", 3, 1, {{"epsilon", float_attr(0.0)}});
    check_values(run_checked(inst, {&x, &s, &b})[0], {1, 1, 2}, {-1, 3});
    // Groups [1, 3] (mean 2, var 1) and [5, 9] (mean 7, var 4) both normalize to [-1, 1];
    // opset 18 scale/bias per group: [-1, 1] * 1 + 0 and [-1, 1] * 2 + 1 = [-1, 3].
    const Tensor x4 = f32({1, 4, 1}, {1, 3, 5, 9});
    const Tensor gs = f32({2}, {1, 2}), gb = f32({2}, {0, 1});
    const Node gn = make_node("GroupNormalization", 3, 1,
                              {{"num_groups", int_attr(2)}, {"epsilon", float_attr(0.0)}});
    check_values(run_checked(gn, {&x4, &gs, &gb}, 18)[0], {1, 4, 1}, {-1, 1, -1, 3});
    // Opset 21 scale/bias per channel [1, 2, 3, 4] / [0, 0, 0, 1]: [-1, 2, -3, 5].
    const Tensor cs = f32({4}, {1, 2, 3, 4}), cb = f32({4}, {0, 0, 0, 1});
    check_values(run_checked(gn, {&x4, &cs, &cb}, 21)[0], {1, 4, 1}, {-1, 2, -3, 5});
}

TEST_CASE("LayerNormalization with Mean and InvStdDev outputs", "[ops-nn]") {
    // Rows [1, 3] (mean 2, var 1) and [0, 4] (mean 2, var 4) both normalize to [-1, 1];
    // * [1, 2] + [0, 1] -> [-1, 3] per row. InvStdDev = 1 / sqrt(var) = 1 and 0.5.
    const Tensor x = f32({2, 2}, {1, 3, 0, 4});
    const Tensor s = f32({2}, {1, 2}), b = f32({2}, {0, 1});
    const Node n = make_node("LayerNormalization", 3, 3, {{"epsilon", float_attr(0.0)}});
    const auto y = run_checked(n, {&x, &s, &b});
    check_values(y[0], {2, 2}, {-1, 3, -1, 3});
    check_values(y[1], {2, 1}, {2, 2});
    check_values(y[2], {2, 1}, {1, 0.5});
    // axis 0 normalizes all four values: mean 2, var (1 + 1 + 4 + 4) / 4 = 2.5.
    const Node all = make_node("LayerNormalization", 2, 1,
                               {{"axis", int_attr(0)}, {"epsilon", float_attr(0.0)}});
    const Tensor s4 = f32({2, 2}, {1, 1, 1, 1});
    const double r = 1.0 / std::sqrt(2.5);
    check_values(run_checked(all, {&x, &s4})[0], {2, 2}, {-r, r, -2 * r, 2 * r});
}

TEST_CASE("LRN and MeanVarianceNormalization", "[ops-nn]") {
    // size 2 sums channels [c, c + 1]: c0: 1 + 4 = 5 -> 1 / (1 + 2 / 2 * 5) = 1/6;
    // c1: only 4 -> 2 / (1 + 4) = 0.4 (beta 1).
    const Tensor x = f32({1, 2, 1, 1}, {1, 2});
    const Node lrn =
        make_node("LRN", 1, 1,
                  {{"size", int_attr(2)}, {"alpha", float_attr(2.0)}, {"beta", float_attr(1.0)}});
    check_values(run_checked(lrn, {&x})[0], {1, 2, 1, 1}, {1.0 / 6.0, 0.4});
    // MVN over axes [0, 2, 3] of [1, 3]: mean 2, std 1 -> [-1, 1].
    const Tensor m = f32({1, 1, 1, 2}, {1, 3});
    check_values(run_checked(make_node("MeanVarianceNormalization", 1, 1), {&m}, 13)[0],
                 {1, 1, 1, 2}, {-1, 1});
}
