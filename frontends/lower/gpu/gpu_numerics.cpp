// The numbers a GPU computes in the run's precision (like PyTorch's `model.half()`):
//   fp32   SIMT FMAs in a fixed order (Eigen's)
//   tf32   tensor-core operands rounded to 10 mantissa bits, fp32 accumulation
//   fp16 / bf16  values stored rounded; tensor-core products accumulated in fp32, one K-tile at a
//          time in the kernel's K-loop order; every op's output rounded to the precision (ops
//          compute internally in fp32, as ATen's half kernels do)
//   int8   GEMM operands quantized (per-tensor activations from calibration, per-column
//          weights), exact int32 accumulation; other ops in fp16 (TensorRT's int8 mode)
//   fp8    e4m3 operands with per-tensor scales (amax / 448), Hopper's limited accumulation:
//          within each group of 32 products only the highest 14 bits of each product (aligned
//          to the group's largest) are added, and the running sum keeps 14 bits; every 128
//          elements (4 groups, CUTLASS's mma_promotion_interval) the partial sum is promoted
//          into fp32 (DeepSeek-V3, arXiv 2412.19437, sections 3.3.2 and 3.5.2); other ops in fp16
//
// Speed without changing a bit: the K-tiled GEMMs run block by block of C (each block takes all
// its K tiles while it is in cache, blocks shared between the cores like ONNX Runtime's
// intra-op threads), convolutions build their im2col tiles per block instead of one whole
// matrix per image, and a 1x1 convolution reads the image itself. Why the blocks give the
// numbers the whole-matrix loop gives is written at blocks_keep_kernels below, and
// tests/unit/test_gpu_numerics.cpp compares them bit for bit.
#include <omp.h>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstring>

#include "frontends/lower/gpu/gpu_lowering.h"
#include "frontends/lower/host_fallback.h"
#include "sim/tensor/numeric_formats.h"

namespace xpusim::lower::gpu {

namespace {

using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Map = Eigen::Map<const RowMajor, 0, Eigen::OuterStride<>>;

// Truncates x toward zero to a multiple of `quantum`.
double truncate_to(double x, double quantum) {
    return quantum > 0 ? std::trunc(x / quantum) * quantum : x;
}

// x truncated to `bits` significant bits.
double keep_bits(double x, int bits) {
    if (x == 0) return 0;
    int e = 0;
    std::frexp(x, &e);  // |x| in [2^(e-1), 2^e)
    return truncate_to(x, std::ldexp(1.0, e - bits));
}

float fp8(float x) { return sim::e4m3_bits_to_float(sim::float_to_e4m3_bits(x)); }

using MutableMap = Eigen::Map<RowMajor, 0, Eigen::OuterStride<>>;
using ColMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;

// The values a precision stores, in place (fp32 and tf32 keep fp32; the integer and fp8 modes
// run their non-GEMM ops in fp16).
void round_values(float* v, int64_t n, Precision p) {
    switch (p) {
        case Precision::Fp16:
        case Precision::Int8:
        case Precision::Fp8:
            sim::round_to_format(v, static_cast<long>(n), sim::NumericFormat::Float16);
            break;
        case Precision::Bf16:
            sim::round_to_format(v, static_cast<long>(n), sim::NumericFormat::BFloat16);
            break;
        case Precision::Fp32:
        case Precision::Tf32:
            break;
    }
}

// ---- K-tiled GEMMs by blocks of C ---------------------------------------------------------
//
// The contract is the whole-matrix loop of one Eigen product per K tile:
//     C = 0;  for each K tile t in order:  C += A[:, t] B[t, :]
// Eigen computes a row-major C as its transpose (lhs = B^T), so its register kernel takes C's
// columns in groups of kEigenMr (48 floats with AVX-512) and C's rows in groups of kEigenNr (4);
// the columns past the last whole group go through narrower kernels (2, 1, 1/2 and 1/4 of the
// group, then one at a time) and the rows past the last whole group through a one-row kernel,
// and those kernels order a tile's sum differently (the one-packet kernel, for one, keeps two
// accumulators over alternate k). Which kernel an element gets depends only on its position
// within the product Eigen is handed: Eigen's own cache blocks (single-threaded or split
// between OpenMP threads) start on group boundaries. And Eigen never cuts the depth of a
// product as shallow as a tile (blocks_keep_kernels checks its blocking keeps the depth whole),
// so each element of a tile product is one run of fused multiply-adds over the tile, added to C.
// Hence cutting C into blocks that start on group boundaries, every block but the last a whole
// number of groups long (the last keeps the remainder where the whole matrix has it), gives
// every element the kernel and the sums of the whole-matrix loop, while a block runs all its
// tiles in cache and blocks run on both cores. The same holds for blocks of a single thread's
// Eigen and of its parallel form, since both start their row panels on group boundaries.
constexpr int64_t kEigenMr = Eigen::internal::gebp_traits<float, float>::mr;
constexpr int64_t kEigenNr = Eigen::internal::gebp_traits<float, float>::nr;
// C floats per block, so that a block (plus its packed tiles) stays in a core's L2.
constexpr int64_t kBlockFloats = 64 * 1024;

// True when Eigen keeps products of depth `tile` (and less) whole, single-threaded and in the
// OpenMP form an unblocked call may take (its kc for more than one thread is capped at 320),
// and when a block of at least kEigenMr columns keeps Eigen on its GEMM kernel for every block
// the whole product would use it on (a product with one row or column, or m + n + depth < 20,
// takes a GEMV or coefficient kernel instead).
bool blocks_keep_kernels(int64_t M, int64_t N, int64_t tile) {
    if (M < 2 || N < kEigenMr) return false;
    for (Eigen::Index threads : {Eigen::Index{1}, static_cast<Eigen::Index>(std::max(1, Eigen::nbThreads()))}) {
        Eigen::Index k = tile, m = std::max<int64_t>(M, 48), n = std::max<int64_t>(N, 48);
        Eigen::internal::computeProductBlockingSizes<float, float>(k, m, n, threads);
        if (k != tile) return false;
    }
    return true;
}

// [begin, end) pieces of [0, n) starting on multiples of `group`, about `target` long, every
// piece but the last a whole number of groups; a last piece shorter than a group joins the one
// before it.
std::vector<std::pair<int64_t, int64_t>> pieces(int64_t n, int64_t group, int64_t target) {
    const int64_t step = std::max<int64_t>(1, target / group) * group;
    std::vector<std::pair<int64_t, int64_t>> out;
    for (int64_t b = 0; b < n; b += step) out.push_back({b, std::min(n, b + step)});
    if (out.size() > 1 && out.back().second - out.back().first < group) {
        out[out.size() - 2].second = n;
        out.pop_back();
    }
    return out;
}

// Columns of C per block for M rows: kBlockFloats / M, at least one register group.
int64_t block_columns(int64_t M) {
    return std::max<int64_t>(kEigenMr, kBlockFloats / std::max<int64_t>(1, M));
}

// Rows of C per block: all of them, unless there are too few column blocks to give every
// thread work (then about M / threads, whole row groups).
int64_t block_rows(int64_t M, std::size_t column_blocks) {
    const int64_t threads = std::max(1, omp_get_max_threads());
    if (static_cast<int64_t>(column_blocks) >= threads || M < 2 * kEigenNr) return M;
    return std::max<int64_t>(kEigenNr, M / threads);
}

// A block of C (m x n, row stride ldc) = 0 (already, when `zeroed`), then += A[:, t] B[t, :]
// for each K tile in order: `a` is A's first row of the block (row stride lda), `tile(k0, kk)`
// gives B's rows k0 .. k0 + kk for the block's columns (pointer to the first, row stride).
template <class Tile>
void tiled_block(const float* a, int64_t lda, Tile&& tile, float* c, int64_t ldc, int64_t m, int64_t n, int64_t K, int64_t tk,
                 bool zeroed) {
    MutableMap C(c, m, n, Eigen::OuterStride<>(ldc));
    if (!zeroed) C.setZero();
    for (int64_t k0 = 0; k0 < K; k0 += tk) {
        const int64_t kk = std::min(tk, K - k0);
        const std::pair<const float*, int64_t> b = tile(k0, kk);
        C.noalias() += Map(a + k0, m, kk, Eigen::OuterStride<>(lda)) * Map(b.first, kk, n, Eigen::OuterStride<>(b.second));
    }
}

// ---- im2col ------------------------------------------------------------------------------

// Rows k0 .. k0 + kk of one image's im2col-by-tap matrix (row = channel c0 + k / (R*S) and tap,
// column = output pixel), columns n0 .. n0 + n, into dst (row stride ld): the values
// sim::im2col_2d_by_tap writes there, padding 0.
void im2col_rows(const float* x, const sim::Conv2dShape& s, int64_t c0, int64_t k0, int64_t kk, int64_t n0, int64_t n,
                 float* dst, int64_t ld) {
    const int64_t Q = s.out_w(), taps = s.kernel_h * s.kernel_w;
    for (int64_t k = k0; k < k0 + kk; ++k) {
        const int64_t ch = k / taps, r = (k % taps) / s.kernel_w, t = k % s.kernel_w;
        const float* xc = x + (c0 + ch) * s.in_h * s.in_w;
        float* row = dst + (k - k0) * ld;
        // Output columns q whose input column w = q * stride + off is inside the image.
        const int64_t off = t * s.dilation_w - s.pad_left;
        const int64_t q_lo = off >= 0 ? 0 : (-off + s.stride_w - 1) / s.stride_w;
        const int64_t q_hi = s.in_w - 1 - off < 0 ? 0 : std::min(Q, (s.in_w - 1 - off) / s.stride_w + 1);
        for (int64_t i = n0; i < n0 + n;) {
            const int64_t p = i / Q, q0 = i % Q, q1 = std::min(Q, q0 + (n0 + n - i));
            float* d = row + (i - n0) - q0;  // d[q] is column (p, q)
            const int64_t h = p * s.stride_h - s.pad_top + r * s.dilation_h;
            if (h < 0 || h >= s.in_h) {
                std::fill(d + q0, d + q1, 0.0f);
            } else {
                const float* xr = xc + h * s.in_w + off;
                const int64_t a = std::clamp(q_lo, q0, q1), b = std::clamp(q_hi, a, q1);
                std::fill(d + q0, d + a, 0.0f);
                if (s.stride_w == 1)
                    std::copy(xr + a, xr + b, d + a);
                else
                    for (int64_t q = a; q < b; ++q) d[q] = xr[q * s.stride_w];
                std::fill(d + b, d + q1, 0.0f);
            }
            i += q1 - q0;
        }
    }
}

bool pointwise(const sim::Conv2dShape& s) {
    return s.kernel_h == 1 && s.kernel_w == 1 && s.stride_h == 1 && s.stride_w == 1 && s.pad_top == 0 && s.pad_left == 0 &&
           s.pad_bottom == 0 && s.pad_right == 0;
}

// ---- fp32 --------------------------------------------------------------------------------

// C (row-major M x N) = A B [+ row_bias per row], as `Map<RowMajor>(c) = A * B` computes it: the
// product into a column-major temporary (Eigen's own threads; the depth cut as Eigen's blocking
// cuts it), then copied, here in parallel column panels, with the bias added after.
void gemm_fp32(const float* a, const float* b, float* c, int64_t M, int64_t N, int64_t K, const float* row_bias) {
    ColMajor t(M, N);
    t.noalias() = Map(a, M, K, Eigen::OuterStride<>(K)) * Map(b, K, N, Eigen::OuterStride<>(N));
    const float* tp = t.data();
    constexpr int64_t kPanel = 16;
#pragma omp parallel for schedule(static)
    for (int64_t j0 = 0; j0 < N; j0 += kPanel) {
        const int64_t j1 = std::min(N, j0 + kPanel);
        for (int64_t i = 0; i < M; ++i) {
            float* row = c + i * N;
            if (row_bias)
                for (int64_t j = j0; j < j1; ++j) row[j] = tp[j * M + i] + row_bias[i];
            else
                for (int64_t j = j0; j < j1; ++j) row[j] = tp[j * M + i];
        }
    }
}

}  // namespace

float round_tf32(float x) {
    if (!std::isfinite(x)) return x;
    uint32_t u;
    std::memcpy(&u, &x, 4);
    const uint32_t lsb = (u >> 13) & 1u;
    u += 0xFFFu + lsb;  // round to nearest even at bit 13
    u &= ~0x1FFFu;
    float out;
    std::memcpy(&out, &u, 4);
    return out;
}

void round_to_precision(sim::Tensor& t, Precision p) {
    if (t.dtype() != sim::DType::Float32 || p == Precision::Fp32 || p == Precision::Tf32) return;
    float* v = t.data<float>();
    const int64_t n = t.numel();
    constexpr int64_t kSpan = 1 << 16;  // element-wise: spans on both cores round as one pass would
#pragma omp parallel for schedule(static) if (n > 4 * kSpan)
    for (int64_t i = 0; i < n; i += kSpan) round_values(v + i, std::min(kSpan, n - i), p);
}

KernelFunction node_function(const GpuLowering& L, const Node& n) {
    NodeFunction fn = bind_node_function(L.graph, n);
    std::vector<std::string> ins;
    for (const auto& i : n.inputs)
        if (!i.empty() && !L.graph.is_constant(i)) ins.push_back(i);
    std::vector<std::string> outs;  // the outputs the node names, as its function returns them
    for (const auto& o : n.outputs)
        if (!o.empty()) outs.push_back(o);
    const Precision p = L.spec.precision;
    const std::string name = n.name;
    return [fn, ins, outs, p, name](std::map<std::string, sim::Tensor>& values) {
        std::vector<sim::Tensor> args;
        args.reserve(ins.size());
        for (const auto& i : ins) {
            auto it = values.find(i);
            if (it == values.end()) throw sim::ModelError("gpu: node '" + name + "' reads '" + i + "' before it is computed");
            args.push_back(it->second);
        }
        std::vector<sim::Tensor> res = fn(args);
        for (std::size_t k = 0; k < outs.size() && k < res.size(); ++k) {
            if (outs[k].empty()) continue;
            sim::Tensor t = sim::is_float(res[k].dtype()) && res[k].dtype() != sim::DType::Float32
                                ? res[k].cast(sim::DType::Float32)
                                : res[k];
            round_to_precision(t, p);
            values[outs[k]] = t;
        }
    };
}

void gemm(const GemmNumerics& g, const float* a, const float* b, float* c, int64_t M, int64_t N, int64_t K) {
    switch (g.dtype) {
        case Precision::Fp32:
            gemm_fp32(a, b, c, M, N, K, nullptr);
            return;
        case Precision::Tf32:
        case Precision::Fp16:
        case Precision::Bf16: {
            std::vector<float> ar, br;
            const float* A = a;
            const float* B = b;
            if (g.dtype == Precision::Tf32) {
                ar.assign(a, a + M * K);
                br.assign(b, b + K * N);
                for (float& x : ar) x = round_tf32(x);
                for (float& x : br) x = round_tf32(x);
                A = ar.data(), B = br.data();
            }
            const int64_t tk = std::max<int64_t>(1, g.tile_k);
            if (blocks_keep_kernels(M, N, tk)) {
                const auto cols = pieces(N, kEigenMr, block_columns(M));
                const auto rows = pieces(M, kEigenNr, block_rows(M, cols.size()));
                const int64_t blocks = static_cast<int64_t>(rows.size() * cols.size());
#pragma omp parallel for schedule(dynamic, 1) if (blocks > 1)
                for (int64_t i = 0; i < blocks; ++i) {
                    const auto [r0, r1] = rows[static_cast<std::size_t>(i) / cols.size()];
                    const auto [c0, c1] = cols[static_cast<std::size_t>(i) % cols.size()];
                    auto tile = [&, c0 = c0](int64_t k0, int64_t) { return std::pair<const float*, int64_t>{B + k0 * N + c0, N}; };
                    tiled_block(A + r0 * K, K, tile, c + r0 * N + c0, N, r1 - r0, c1 - c0, K, tk, false);
                }
                return;
            }
            // The whole-matrix loop the blocks reproduce.
            Eigen::Map<RowMajor> C(c, M, N);
            C.setZero();
            for (int64_t k0 = 0; k0 < K; k0 += tk) {
                const int64_t kk = std::min(tk, K - k0);
                C.noalias() += Map(A + k0, M, kk, Eigen::OuterStride<>(K)) * Map(B + k0 * N, kk, N, Eigen::OuterStride<>(N));
            }
            return;
        }
        case Precision::Int8: {
            using IntMat = Eigen::Matrix<int32_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
            IntMat qa(M, K), qb(K, N);
            for (int64_t i = 0; i < M * K; ++i) qa.data()[i] = sim::quantize_int8(a[i], {g.a_scale, 0});
            for (int64_t k = 0; k < K; ++k)
                for (int64_t j = 0; j < N; ++j) {
                    const float s = g.b_scales.empty() ? g.b_scale_default : g.b_scales[static_cast<std::size_t>(j)];
                    qb(k, j) = sim::quantize_int8(b[k * N + j], {s, 0});
                }
            const IntMat acc = qa * qb;  // exact: |sum| < 2^31 for K < 133,000
            for (int64_t i = 0; i < M; ++i)
                for (int64_t j = 0; j < N; ++j) {
                    const float s = g.b_scales.empty() ? g.b_scale_default : g.b_scales[static_cast<std::size_t>(j)];
                    c[i * N + j] = static_cast<float>(acc(i, j)) * g.a_scale * s;
                }
            return;
        }
        case Precision::Fp8: {
            std::vector<float> qa(static_cast<std::size_t>(M * K)), qb(static_cast<std::size_t>(K * N));
            for (int64_t i = 0; i < M * K; ++i) qa[static_cast<std::size_t>(i)] = fp8(a[i] / g.a_scale);
            for (int64_t k = 0; k < K; ++k)
                for (int64_t j = 0; j < N; ++j) {
                    const float s = g.b_scales.empty() ? g.b_scale_default : g.b_scales[static_cast<std::size_t>(j)];
                    qb[static_cast<std::size_t>(k * N + j)] = fp8(b[k * N + j] / s);
                }
            constexpr int64_t kGroup = 32, kPromote = 128;
            constexpr int kBits = 14;
            for (int64_t i = 0; i < M; ++i)
                for (int64_t j = 0; j < N; ++j) {
                    double fp32_acc = 0, partial = 0;
                    for (int64_t k0 = 0; k0 < K; k0 += kGroup) {
                        const int64_t k1 = std::min(K, k0 + kGroup);
                        double big = 0;
                        for (int64_t k = k0; k < k1; ++k)
                            big = std::max(big, std::fabs(static_cast<double>(qa[static_cast<std::size_t>(i * K + k)]) *
                                                          qb[static_cast<std::size_t>(k * N + j)]));
                        int e = 0;
                        std::frexp(big, &e);
                        const double quantum = big > 0 ? std::ldexp(1.0, e - kBits) : 0;
                        double group = 0;
                        for (int64_t k = k0; k < k1; ++k)
                            group += truncate_to(static_cast<double>(qa[static_cast<std::size_t>(i * K + k)]) *
                                                     qb[static_cast<std::size_t>(k * N + j)],
                                                 quantum);
                        partial = keep_bits(partial + group, kBits);
                        if (k1 % kPromote == 0 || k1 == K) {
                            fp32_acc = static_cast<float>(fp32_acc + partial);
                            partial = 0;
                        }
                    }
                    const float s = g.b_scales.empty() ? g.b_scale_default : g.b_scales[static_cast<std::size_t>(j)];
                    c[i * N + j] = static_cast<float>(fp32_acc) * g.a_scale * s;
                }
            return;
        }
    }
}

sim::Tensor conv_numerics(const ConvNumerics& cn, const sim::Tensor& x) {
    const sim::Conv2dShape& c = cn.shape;
    const int64_t PQ = c.gemm_m(), Ng = c.gemm_n(), Kg = c.gemm_k(), Cg = c.in_channels_per_group();
    const int64_t image = c.in_channels * c.in_h * c.in_w;
    sim::Tensor out(sim::DType::Float32, {c.batch, c.out_channels, c.out_h(), c.out_w()});
    const float* in = x.data<float>();
    float* o = out.data<float>();
    const Precision dtype = cn.gemm.front().dtype;
    const float* bias = cn.bias.empty() ? nullptr : cn.bias.data();

    if (dtype == Precision::Int8 || dtype == Precision::Fp8) {
        // Activations as A (P*Q x Cg*R*S, a per-tensor scale), weights as B (per-column scales);
        // each image's integer / fp8 accumulation is its own, so images run on both cores.
#pragma omp parallel
        {
            std::vector<float> col(static_cast<std::size_t>(PQ * Kg)), res(static_cast<std::size_t>(PQ * Ng));
#pragma omp for schedule(dynamic, 1)
            for (int64_t bg = 0; bg < c.batch * c.group; ++bg) {
                const int64_t b = bg / c.group, g = bg % c.group;
                sim::im2col_2d(in + b * image, c, g * Cg, col.data());
                gemm(cn.gemm[static_cast<std::size_t>(g)], col.data(), cn.b_mats[static_cast<std::size_t>(g)].data(), res.data(), PQ, Ng, Kg);
                float* og = o + (b * c.out_channels + g * Ng) * PQ;
                for (int64_t m = 0; m < PQ; ++m)
                    for (int64_t j = 0; j < Ng; ++j)
                        og[j * PQ + m] = res[static_cast<std::size_t>(m * Ng + j)] + (bias ? bias[g * Ng + j] : 0.0f);
            }
        }
        round_to_precision(out, cn.output);
        return out;
    }

    // out (Ng x P*Q per image and group, NCHW) = W (Ng x Cg*R*S) x im2col by tap (Cg*R*S x P*Q).
    const float* w = cn.weights.data<float>();
    const bool direct = pointwise(c);  // the im2col matrix is the image's channels themselves
    const int64_t tk = std::max<int64_t>(1, cn.gemm.front().tile_k);
    const bool tiled = dtype == Precision::Tf32 || dtype == Precision::Fp16 || dtype == Precision::Bf16;
    if (tiled && blocks_keep_kernels(Ng, PQ, tk)) {
        // Blocks of (image, group, output channels, pixels), each through all its K tiles while
        // in cache, its im2col tile built per K tile; then the bias and the rounding.
        const bool tf32 = dtype == Precision::Tf32;
        std::vector<float> w_tf32;
        if (tf32) {
            w_tf32.assign(w, w + c.out_channels * Kg);
            for (float& v : w_tf32) v = round_tf32(v);
            w = w_tf32.data();
        }
        const auto cols = pieces(PQ, kEigenMr, block_columns(Ng));
        const std::size_t per_image = cols.size() * static_cast<std::size_t>(c.group * c.batch);
        const auto rows = pieces(Ng, kEigenNr, block_rows(Ng, per_image));
        const int64_t blocks = c.batch * c.group * static_cast<int64_t>(rows.size() * cols.size());
        int64_t widest = 0;
        for (const auto& [c0, c1] : cols) widest = std::max(widest, c1 - c0);
#pragma omp parallel if (blocks > 1)
        {
            std::vector<float> buf(direct && !tf32 ? 0 : static_cast<std::size_t>(tk * widest));
#pragma omp for schedule(dynamic, 1)
            for (int64_t i = 0; i < blocks; ++i) {
                const int64_t bg = i / static_cast<int64_t>(rows.size() * cols.size());
                const std::size_t rc = static_cast<std::size_t>(i % static_cast<int64_t>(rows.size() * cols.size()));
                const int64_t b = bg / c.group, g = bg % c.group;
                const auto [r0, r1] = rows[rc / cols.size()];
                const auto [n0, n1] = cols[rc % cols.size()];
                const int64_t n = n1 - n0;
                const float* img = in + b * image;
                auto tile = [&, n0 = n0](int64_t k0, int64_t kk) -> std::pair<const float*, int64_t> {
                    if (direct && !tf32) return {img + (g * Cg + k0) * PQ + n0, PQ};
                    im2col_rows(img, c, g * Cg, k0, kk, n0, n, buf.data(), n);
                    if (tf32)
                        for (int64_t e = 0; e < kk * n; ++e) buf[static_cast<std::size_t>(e)] = round_tf32(buf[static_cast<std::size_t>(e)]);
                    return {buf.data(), n};
                };
                float* ob = o + (b * c.out_channels + g * Ng + r0) * PQ + n0;
                tiled_block(w + (g * Ng + r0) * Kg, Kg, tile, ob, PQ, r1 - r0, n, Kg, tk, /*zeroed=*/true);  // a new Tensor is zero-filled
                for (int64_t j = 0; j < r1 - r0; ++j) {
                    float* row = ob + j * PQ;
                    if (bias) {
                        const float add = bias[g * Ng + r0 + j];
                        for (int64_t e = 0; e < n; ++e) row[e] += add;
                    }
                    round_values(row, n, cn.output);
                }
            }
        }
        return out;
    }

    // fp32 (and a tile Eigen would cut): per image and group, the whole im2col matrix and one
    // GEMM call as gemm() makes it.
    std::vector<float> col(direct ? 0 : static_cast<std::size_t>(Kg * PQ));
    for (int64_t b = 0; b < c.batch; ++b)
        for (int64_t g = 0; g < c.group; ++g) {
            const float* img = in + b * image;
            const float* cm = img + g * Cg * PQ;
            if (!direct) {
                constexpr int64_t kRows = 8;
#pragma omp parallel for schedule(static)
                for (int64_t k0 = 0; k0 < Kg; k0 += kRows)
                    im2col_rows(img, c, g * Cg, k0, std::min(kRows, Kg - k0), 0, PQ, col.data() + k0 * PQ, PQ);
                cm = col.data();
            }
            float* og = o + (b * c.out_channels + g * Ng) * PQ;
            const float* wg = w + g * Ng * Kg;
            const float* bg = bias ? bias + g * Ng : nullptr;
            if (cn.gemm[static_cast<std::size_t>(g)].dtype == Precision::Fp32) {
                gemm_fp32(wg, cm, og, Ng, PQ, Kg, bg);
                continue;
            }
            gemm(cn.gemm[static_cast<std::size_t>(g)], wg, cm, og, Ng, PQ, Kg);
            if (bg)
                for (int64_t j = 0; j < Ng; ++j)
                    for (int64_t m = 0; m < PQ; ++m) og[j * PQ + m] += bg[j];
        }
    round_to_precision(out, cn.output);
    return out;
}

}  // namespace xpusim::lower::gpu
