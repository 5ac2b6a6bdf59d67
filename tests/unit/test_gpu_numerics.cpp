// GPU numerics: the blocked K-tile GEMMs and convolutions of gpu_numerics.cpp give, bit for bit,
// the numbers of the contract's plain formulation: one Eigen product per K tile over the whole
// matrix, added in K order into C = 0 (fp16 / bf16 / tf32), or one Eigen product of the whole
// depth (fp32), with the im2col-by-tap matrix of sim::im2col_2d_by_tap, the bias added after and
// the output rounded. Shapes cover the register-group tails (columns not a multiple of 48, rows
// not a multiple of 4), a last K tile shorter than the others, 1-row products, pointwise,
// padded, strided and grouped convolutions.
#include <catch2/catch.hpp>

#include <Eigen/Core>
#include <cstring>
#include <random>

#include "frontends/lower/gpu/gpu_lowering.h"
#include "sim/tensor/numeric_formats.h"

using namespace xpusim;
using namespace xpusim::lower::gpu;

namespace {

using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Map = Eigen::Map<const RowMajor, 0, Eigen::OuterStride<>>;

std::vector<float> random_values(int64_t n, uint32_t seed, Precision p) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> d(0.0f, 1.0f);
    std::vector<float> v(static_cast<std::size_t>(n));
    for (float& x : v) x = d(rng);
    if (p == Precision::Fp16) sim::round_to_format(v.data(), static_cast<long>(n), sim::NumericFormat::Float16);
    if (p == Precision::Bf16) sim::round_to_format(v.data(), static_cast<long>(n), sim::NumericFormat::BFloat16);
    return v;
}

// The contract, written plainly: C (M x N) for row-major A (M x K), B (K x N).
std::vector<float> plain_gemm(Precision p, int64_t tile_k, std::vector<float> a, std::vector<float> b, int64_t M, int64_t N,
                              int64_t K) {
    std::vector<float> c(static_cast<std::size_t>(M * N));
    if (p == Precision::Fp32) {
        Eigen::Map<RowMajor>(c.data(), M, N) = Map(a.data(), M, K, Eigen::OuterStride<>(K)) * Map(b.data(), K, N, Eigen::OuterStride<>(N));
        return c;
    }
    if (p == Precision::Tf32) {
        for (float& x : a) x = round_tf32(x);
        for (float& x : b) x = round_tf32(x);
    }
    Eigen::Map<RowMajor> C(c.data(), M, N);
    C.setZero();
    for (int64_t k0 = 0; k0 < K; k0 += tile_k) {
        const int64_t kk = std::min(tile_k, K - k0);
        C.noalias() += Map(a.data() + k0, M, kk, Eigen::OuterStride<>(K)) * Map(b.data() + k0 * N, kk, N, Eigen::OuterStride<>(N));
    }
    return c;
}

bool same_bits(const float* x, const float* y, std::size_t n) {
    return std::memcmp(x, y, n * sizeof(float)) == 0;
}

// The convolution as the lowering computed it before the blocked path: per image and group the
// whole im2col-by-tap matrix, the plain GEMM, the bias, then the rounding of the output.
sim::Tensor plain_conv(const ConvNumerics& cn, const sim::Tensor& x) {
    const sim::Conv2dShape& c = cn.shape;
    const int64_t PQ = c.gemm_m(), Ng = c.gemm_n(), Kg = c.gemm_k();
    sim::Tensor out(sim::DType::Float32, {c.batch, c.out_channels, c.out_h(), c.out_w()});
    std::vector<float> col(static_cast<std::size_t>(PQ * Kg));
    for (int64_t b = 0; b < c.batch; ++b)
        for (int64_t g = 0; g < c.group; ++g) {
            const float* image = x.data<float>() + b * c.in_channels * c.in_h * c.in_w;
            float* o = out.data<float>() + (b * c.out_channels + g * Ng) * PQ;
            sim::im2col_2d_by_tap(image, c, g * c.in_channels_per_group(), col.data());
            const float* w = cn.weights.data<float>() + g * Ng * Kg;
            const GemmNumerics& gn = cn.gemm[static_cast<std::size_t>(g)];
            const auto r = plain_gemm(gn.dtype, gn.tile_k, std::vector<float>(w, w + Ng * Kg), col, Ng, PQ, Kg);
            std::copy(r.begin(), r.end(), o);
            if (!cn.bias.empty())
                for (int64_t j = 0; j < Ng; ++j)
                    for (int64_t m = 0; m < PQ; ++m) o[j * PQ + m] += cn.bias[static_cast<std::size_t>(g * Ng + j)];
        }
    round_to_precision(out, cn.output);
    return out;
}

}  // namespace

TEST_CASE("gpu numerics: blocked K-tile GEMMs give the whole-matrix loop's bits", "[gpu][numeric]") {
    const std::vector<int64_t> Ms = {1, 2, 3, 5, 64, 67, 130};
    const std::vector<int64_t> Ns = {1, 47, 48, 49, 100, 196, 1000, 3136};
    const std::vector<std::pair<int64_t, int64_t>> Ks = {{19, 8}, {147, 64}, {576, 64}, {256, 128}, {96, 32}};
    uint32_t seed = 1;
    int checked = 0;
    for (Precision p : {Precision::Fp16, Precision::Bf16, Precision::Tf32, Precision::Fp32})
        for (int64_t M : Ms)
            for (int64_t N : Ns)
                for (const auto& [K, tk] : Ks) {
                    if (M * N * K > 40'000'000) continue;
                    const auto a = random_values(M * K, seed++, p), b = random_values(K * N, seed++, p);
                    GemmNumerics g;
                    g.dtype = p;
                    g.tile_k = tk;
                    std::vector<float> c(static_cast<std::size_t>(M * N));
                    gemm(g, a.data(), b.data(), c.data(), M, N, K);
                    const auto want = plain_gemm(p, tk, a, b, M, N, K);
                    INFO(precision_name(p) << " M " << M << " N " << N << " K " << K << " tile " << tk);
                    CHECK(same_bits(c.data(), want.data(), c.size()));
                    ++checked;
                }
    CHECK(checked > 500);
}

TEST_CASE("gpu numerics: convolutions give the im2col + whole-matrix loop's bits", "[gpu][numeric]") {
    struct Case {
        const char* name;
        sim::Conv2dShape s;
    };
    auto shape = [](int64_t n, int64_t cin, int64_t h, int64_t w, int64_t cout, int64_t k, int64_t stride, int64_t pad,
                    int64_t group) {
        sim::Conv2dShape s;
        s.batch = n, s.in_channels = cin, s.in_h = h, s.in_w = w, s.out_channels = cout;
        s.kernel_h = s.kernel_w = k, s.stride_h = s.stride_w = stride;
        s.pad_top = s.pad_left = s.pad_bottom = s.pad_right = pad, s.group = group;
        return s;
    };
    const std::vector<Case> cases = {
        {"1x1", shape(3, 64, 14, 14, 36, 1, 1, 0, 1)},
        {"1x1 stride 2", shape(2, 32, 15, 15, 64, 1, 2, 0, 1)},
        {"3x3 pad 1", shape(3, 16, 13, 11, 40, 3, 1, 1, 1)},
        {"3x3 stride 2", shape(2, 24, 28, 28, 32, 3, 2, 1, 1)},
        {"7x7 stride 2 pad 3", shape(2, 3, 40, 40, 16, 7, 2, 3, 1)},
        {"7x7 tail pixels", shape(2, 32, 7, 7, 64, 3, 1, 1, 1)},
        {"grouped", shape(2, 16, 12, 12, 32, 3, 1, 1, 4)},
        {"depthwise", shape(2, 8, 10, 10, 8, 3, 1, 1, 8)},
        {"narrow", shape(1, 4, 6, 6, 3, 3, 1, 0, 1)},
    };
    uint32_t seed = 100;
    for (Precision p : {Precision::Fp16, Precision::Bf16, Precision::Tf32, Precision::Fp32})
        for (const auto& cs : cases)
            for (bool with_bias : {false, true}) {
                const sim::Conv2dShape& s = cs.s;
                ConvNumerics cn;
                cn.shape = s;
                cn.output = p;
                const int64_t Kg = s.gemm_k();
                const auto wv = random_values(s.out_channels * Kg, seed++, p);
                cn.weights = sim::Tensor(sim::DType::Float32, {s.out_channels, Kg});
                std::copy(wv.begin(), wv.end(), cn.weights.data<float>());
                for (int64_t g = 0; g < s.group; ++g) {
                    GemmNumerics gn;
                    gn.dtype = s.group > 1 && p == Precision::Tf32 ? Precision::Fp32 : p;
                    gn.tile_k = 32;
                    cn.gemm.push_back(gn);
                }
                if (with_bias) cn.bias = random_values(s.out_channels, seed++, p);
                const auto xv = random_values(s.batch * s.in_channels * s.in_h * s.in_w, seed++, p);
                sim::Tensor x(sim::DType::Float32, {s.batch, s.in_channels, s.in_h, s.in_w});
                std::copy(xv.begin(), xv.end(), x.data<float>());
                const sim::Tensor got = conv_numerics(cn, x), want = plain_conv(cn, x);
                INFO(cs.name << " " << precision_name(p) << (with_bias ? " with bias" : ""));
                REQUIRE(got.shape() == want.shape());
                CHECK(same_bits(got.data<float>(), want.data<float>(), static_cast<std::size_t>(got.numel())));
            }
}
