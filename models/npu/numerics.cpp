#include "models/npu/numerics.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "sim/compute/conv2d.h"
#include "sim/error.h"
#include "sim/tensor/numeric_formats.h"

namespace xpusim::models::npu {

using isa::npu::FixedMultiplier;
using isa::npu::Precision;
using isa::npu::rne_shift;
using isa::npu::saturate_int8;
using isa::npu::SdpStage;

namespace {

sim::Conv2dShape conv_shape(const ConvDesc& d) {
    sim::Conv2dShape s;
    s.batch = d.n, s.in_channels = d.c, s.in_h = d.h, s.in_w = d.w, s.out_channels = d.k;
    s.kernel_h = d.r, s.kernel_w = d.s, s.stride_h = d.stride_h, s.stride_w = d.stride_w;
    s.dilation_h = d.dil_h, s.dilation_w = d.dil_w, s.pad_top = d.pad_t, s.pad_left = d.pad_l;
    s.pad_bottom = d.pad_b, s.pad_right = d.pad_r, s.group = d.groups;
    return s;
}

// GEMM per image and group over im2col; T is the accumulation type (int32_t or float).
template <class T, class In>
Tensor conv_gemm(const ConvDesc& d, const In* x, const In* w) {
    const sim::Conv2dShape s = conv_shape(d);
    if (s.out_h() != d.p || s.out_w() != d.q)
        throw sim::Error("NPU conv descriptor: output " + std::to_string(d.p) + "x" +
                         std::to_string(d.q) + " does not match its geometry");
    const int64_t M = s.gemm_m(), K = s.gemm_k(), N = s.gemm_n();
    Tensor out(sim::DTypeOf<T>::value, {d.n, d.k, d.p, d.q});
    T* o = out.data<T>();
    std::vector<T> xin(static_cast<std::size_t>(d.c * d.h * d.w));
    sim::RowMatrix<T> col(M, K), wt(N, K);
    for (int64_t n = 0; n < d.n; ++n) {
        const In* xn = x + n * d.c * d.h * d.w;
        for (std::size_t i = 0; i < xin.size(); ++i) xin[i] = static_cast<T>(xn[i]);
        for (int64_t g = 0; g < d.groups; ++g) {
            sim::im2col_2d(xin.data(), s, g * s.in_channels_per_group(), col.data(), T(0));
            for (int64_t k = 0; k < N; ++k)
                for (int64_t j = 0; j < K; ++j) wt(k, j) = static_cast<T>(w[(g * N + k) * K + j]);
            // out[n, g*N + k, pixel] = sum_j col[pixel, j] * wt[k, j]
            Eigen::Map<sim::RowMatrix<T>> dst(o + (n * d.k + g * N) * M, N, M);
            dst.noalias() = wt * col.transpose();
        }
    }
    return out;
}

template <class T, class In>
Tensor fc_gemm(const ConvDesc& d, const In* x, const In* w, int64_t rows) {
    Tensor out(sim::DTypeOf<T>::value, {rows, d.k});
    sim::RowMatrix<T> xm(rows, d.c), wm(d.k, d.c);
    for (int64_t i = 0; i < rows * d.c; ++i) xm.data()[i] = static_cast<T>(x[i]);
    for (int64_t i = 0; i < d.k * d.c; ++i) wm.data()[i] = static_cast<T>(w[i]);
    out.matrix<T>(rows, d.k).noalias() = xm * wm.transpose();
    return out;
}

// Channel of flat element i.
struct ChannelOf {
    int64_t channels = 1, inner = 1;
    bool last = false;
    ChannelOf(const sim::Shape& shape, bool channel_last) : last(channel_last) {
        if (shape.empty()) return;
        if (channel_last) {
            channels = shape.back();
        } else {
            channels = shape.size() > 1 ? shape[1] : 1;
            for (std::size_t i = 2; i < shape.size(); ++i) inner *= shape[i];
        }
    }
    int64_t operator()(int64_t i) const { return last ? i % channels : (i / inner) % channels; }
};

int64_t clamp32(int64_t v) {
    return std::clamp<int64_t>(v, std::numeric_limits<int32_t>::min(),
                               std::numeric_limits<int32_t>::max());
}

FixedMultiplier channel_mult(const int32_t* p, int64_t channels, int64_t c, int row0) {
    return FixedMultiplier{p[row0 * channels + c], p[(row0 + 1) * channels + c]};
}

// Operand value for element i: per element, or per channel broadcast.
template <class T>
T operand_at(const T* e, const SdpStage& st, const ChannelOf& ch, int64_t i) {
    return st.per_channel ? e[ch(i)] : e[i];
}

Tensor sdp_int8(const SdpDesc& d, const Tensor& in, bool from_cacc, const NpuProgram& prog,
                const NpuMemory& mem) {
    const int64_t n = in.numel();
    const ChannelOf ch(in.shape(), d.channel_last != 0);
    const int fb = static_cast<int>(d.frac_bits);
    std::vector<int64_t> v(static_cast<std::size_t>(n));
    if (from_cacc) {
        const int32_t* a = in.data<int32_t>();
        for (int64_t i = 0; i < n; ++i) v[i] = a[i];
    } else {
        const int8_t* a = in.data<int8_t>();
        for (int64_t i = 0; i < n; ++i) v[i] = a[i];
    }
    for (const SdpStage& st : d.stages) {
        const Tensor param = st.param >= 0 ? mem.read(st.param) : Tensor();
        const int32_t* pp = param.valid() ? param.data<int32_t>() : nullptr;
        const int64_t pc = param.valid() ? param.shape().back() : 0;
        if (pp && pc < ch.channels)
            throw sim::Error("NPU SDP stage '" + st.op + "': " + std::to_string(pc) +
                             " per-channel parameters for " + std::to_string(ch.channels) +
                             " channels");
        const Tensor operand = st.operand >= 0 ? mem.read(st.operand) : Tensor();
        const int8_t* e = operand.valid() ? operand.data<int8_t>() : nullptr;
        if ((st.op == "add" || st.op == "sub" || st.op == "mul" || st.op == "max" ||
             st.op == "min") &&
            !e)
            throw sim::Error("NPU SDP stage '" + st.op + "' has no operand surface");
        const std::string& op = st.op;
        for (int64_t i = 0; i < n; ++i) {
            int64_t x = v[i];
            if (op == "cvt") {
                if (pp) {
                    const int64_t c = ch(i);
                    x = channel_mult(pp, pc, c, 1).apply(x + pp[c]);
                } else {
                    x = st.m.apply(x);
                }
            } else if (op == "add") {
                x += st.m.apply(operand_at(e, st, ch, i));
            } else if (op == "sub") {
                x -= st.m.apply(operand_at(e, st, ch, i));
            } else if (op == "max") {
                x = std::max(x, st.m.apply(operand_at(e, st, ch, i)));
            } else if (op == "min") {
                x = std::min(x, st.m.apply(operand_at(e, st, ch, i)));
            } else if (op == "mul") {
                x = st.m.apply(x * operand_at(e, st, ch, i));
            } else if (op == "bias") {
                x += pp[ch(i)];
            } else if (op == "scale") {
                x = channel_mult(pp, pc, ch(i), 0).apply(x);
            } else if (op == "relu") {
                x = std::max<int64_t>(x, 0);
            } else if (op == "clip") {
                x = std::clamp(x, st.lo, st.hi);
            } else if (op == "lrelu") {
                if (x < 0) x = st.m.apply(x);
            } else if (op == "prelu") {
                if (x < 0) x = channel_mult(pp, pc, ch(i), 0).apply(x);
            } else if (op == "lut") {
                const int8_t* table = mem.read(st.table).data<int8_t>();
                const int8_t idx = saturate_int8(rne_shift(x, fb));
                x = static_cast<int64_t>(table[idx + 128]) * (int64_t{1} << fb);
            } else if (op == "rescale") {
                x = st.m.apply(x);
            } else {
                throw sim::Error("NPU SDP: unknown stage '" + op + "'");
            }
            v[i] = clamp32(x);  // the SDP datapath is 32 bits wide
        }
    }
    Tensor out(sim::DType::Int8, in.shape());
    int8_t* o = out.data<int8_t>();
    for (int64_t i = 0; i < n; ++i) o[i] = saturate_int8(rne_shift(v[i], fb));
    return out;
}

float lut_interpolate(const float* samples, double lo, double hi, float x) {
    if (!(hi > lo)) return samples[0];
    const double pos = (static_cast<double>(x) - lo) / (hi - lo) * 256.0;
    if (pos <= 0) return samples[0];
    if (pos >= 256) return samples[256];
    const int idx = static_cast<int>(pos);
    const double frac = pos - idx;
    return static_cast<float>(samples[idx] + frac * (samples[idx + 1] - samples[idx]));
}

Tensor sdp_fp16(const SdpDesc& d, const Tensor& in, const NpuMemory& mem) {
    const int64_t n = in.numel();
    const ChannelOf ch(in.shape(), d.channel_last != 0);
    Tensor out = in.dtype() == sim::DType::Float32 ? in.clone() : in.cast(sim::DType::Float32);
    float* v = out.data<float>();
    for (const SdpStage& st : d.stages) {
        const Tensor param = st.param >= 0 ? mem.read(st.param) : Tensor();
        const float* pp = param.valid() ? param.data<float>() : nullptr;
        const Tensor operand = st.operand >= 0 ? mem.read(st.operand) : Tensor();
        const float* e = operand.valid() ? operand.data<float>() : nullptr;
        const Tensor table = st.table >= 0 ? mem.read(st.table) : Tensor();
        for (int64_t i = 0; i < n; ++i) {
            float& x = v[i];
            const std::string& op = st.op;
            if (op == "cvt") {
                if (pp) x += pp[ch(i)];
            } else if (op == "add")
                x += operand_at(e, st, ch, i);
            else if (op == "sub")
                x -= operand_at(e, st, ch, i);
            else if (op == "max")
                x = std::max(x, operand_at(e, st, ch, i));
            else if (op == "min")
                x = std::min(x, operand_at(e, st, ch, i));
            else if (op == "mul")
                x *= operand_at(e, st, ch, i);
            else if (op == "bias")
                x += pp[ch(i)];
            else if (op == "scale")
                x *= pp[ch(i)];
            else if (op == "relu")
                x = std::max(x, 0.0f);
            else if (op == "clip")
                x = std::clamp(x, static_cast<float>(st.f0), static_cast<float>(st.f1));
            else if (op == "lrelu") {
                if (x < 0) x *= static_cast<float>(st.f0);
            } else if (op == "prelu") {
                if (x < 0) x *= pp[ch(i)];
            } else if (op == "lut")
                x = lut_interpolate(table.data<float>(), st.f0, st.f1, x);
            else if (op == "rescale") {
            } else
                throw sim::Error("NPU SDP: unknown stage '" + op + "'");
        }
        // every stage's result is held in fp16 between SDP sub-units
        sim::round_to_format(v, static_cast<long>(n), sim::NumericFormat::Float16);
    }
    return out;
}

}  // namespace

Tensor conv_accumulate(const ConvDesc& d, const Tensor& x, const Tensor& w) {
    const bool int8 = d.precision == Precision::Int8;
    if (d.fc) {
        const int64_t rows = x.numel() / d.c;
        if (int8) return fc_gemm<int32_t>(d, x.data<int8_t>(), w.data<int8_t>(), rows);
        return fc_gemm<float>(d, x.data<float>(), w.data<float>(), rows);
    }
    if (int8) return conv_gemm<int32_t>(d, x.data<int8_t>(), w.data<int8_t>());
    return conv_gemm<float>(d, x.data<float>(), w.data<float>());
}

Tensor sdp_apply(const SdpDesc& d, const Tensor& in, bool from_cacc, const NpuProgram& program,
                 const NpuMemory& mem) {
    if (d.precision == Precision::Int8) return sdp_int8(d, in, from_cacc, program, mem);
    return sdp_fp16(d, in, mem);
}

Tensor pool_apply(const PdpDesc& d, const Tensor& in) {
    const bool int8 = d.precision == Precision::Int8;
    Tensor out(int8 ? sim::DType::Int8 : sim::DType::Float32, {d.n, d.c, d.p, d.q});
    const bool avg = d.pool == "avg";
    for (int64_t nc = 0; nc < d.n * d.c; ++nc) {
        for (int64_t oy = 0; oy < d.p; ++oy)
            for (int64_t ox = 0; ox < d.q; ++ox) {
                const int64_t y0 = oy * d.sh - d.pad_t, x0 = ox * d.sw - d.pad_l;
                int64_t count = 0, padded = 0;
                int64_t isum = 0, imax = std::numeric_limits<int64_t>::min();
                double fsum = 0, fmax = -std::numeric_limits<double>::infinity();
                for (int64_t ky = 0; ky < d.kh; ++ky)
                    for (int64_t kx = 0; kx < d.kw; ++kx) {
                        const int64_t y = y0 + ky, x = x0 + kx;
                        if (y >= -d.pad_t && y < d.h + d.pad_b && x >= -d.pad_l &&
                            x < d.w + d.pad_r)
                            ++padded;
                        if (y < 0 || y >= d.h || x < 0 || x >= d.w) continue;
                        ++count;
                        const int64_t idx = (nc * d.h + y) * d.w + x;
                        if (int8) {
                            const int64_t q = in.data<int8_t>()[idx];
                            isum += q;
                            imax = std::max(imax, q);
                        } else {
                            const double f = in.data<float>()[idx];
                            fsum += f;
                            fmax = std::max(fmax, f);
                        }
                    }
                const int64_t divisor = std::max<int64_t>(1, d.count_include_pad ? padded : count);
                const int64_t o = (nc * d.p + oy) * d.q + ox;
                if (int8) {
                    // avg: sum * (s_in / s_out / count), one rounding, as a reciprocal multiplier
                    const auto m = FixedMultiplier::from_double(
                        avg ? d.ratio / static_cast<double>(divisor) : d.ratio);
                    out.data<int8_t>()[o] = saturate_int8(m.apply(avg ? isum : (count ? imax : 0)));
                } else {
                    out.data<float>()[o] = static_cast<float>(
                        avg ? fsum / static_cast<double>(divisor) : (count ? fmax : 0.0));
                }
            }
    }
    if (!int8)
        sim::round_to_format(out.data<float>(), static_cast<long>(out.numel()),
                             sim::NumericFormat::Float16);
    return out;
}

Tensor lrn_apply(const CdpDesc& d, const Tensor& in, double in_scale, const Surface& out_surface) {
    const Tensor x = dequantize_tensor(in, in_scale);
    Tensor y(sim::DType::Float32, x.shape());
    const float* xp = x.data<float>();
    float* yp = y.data<float>();
    const int64_t hw = d.h * d.w;
    const int64_t lo_off = (d.size - 1) / 2,
                  hi_off = d.size / 2;  // ONNX: floor / ceil of (size-1)/2
    for (int64_t n = 0; n < d.n; ++n)
        for (int64_t c = 0; c < d.c; ++c)
            for (int64_t i = 0; i < hw; ++i) {
                double sq = 0;
                for (int64_t j = std::max<int64_t>(0, c - lo_off);
                     j <= std::min(d.c - 1, c + hi_off); ++j) {
                    const double v = xp[(n * d.c + j) * hw + i];
                    sq += v * v;
                }
                const int64_t o = (n * d.c + c) * hw + i;
                yp[o] = static_cast<float>(
                    xp[o] / std::pow(d.bias + d.alpha / static_cast<double>(d.size) * sq, d.beta));
            }
    return quantize_tensor(y, out_surface);
}

}  // namespace xpusim::models::npu
