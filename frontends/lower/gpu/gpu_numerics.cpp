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
#include <Eigen/Core>
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
    if (t.dtype() != sim::DType::Float32) return;
    float* v = t.data<float>();
    const long n = static_cast<long>(t.numel());
    switch (p) {
        case Precision::Fp16:
        case Precision::Int8:  // non-GEMM ops of the integer and fp8 modes run in fp16
        case Precision::Fp8:
            sim::round_to_format(v, n, sim::NumericFormat::Float16);
            break;
        case Precision::Bf16:
            sim::round_to_format(v, n, sim::NumericFormat::BFloat16);
            break;
        case Precision::Fp32:
        case Precision::Tf32:
            break;
    }
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
        case Precision::Fp32: {
            Eigen::Map<RowMajor>(c, M, N) = Map(a, M, K, Eigen::OuterStride<>(K)) * Map(b, K, N, Eigen::OuterStride<>(N));
            return;
        }
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
            Eigen::Map<RowMajor> C(c, M, N);
            C.setZero();
            const int64_t tk = std::max<int64_t>(1, g.tile_k);
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

}  // namespace xpusim::lower::gpu
