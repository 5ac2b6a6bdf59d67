// Pooling: MaxPool (with the optional Indices output), AveragePool and LpPool over 1-3 (any)
// spatial axes, and their global forms. Windows are tabulated once per call (the input offsets
// of every output position) and then applied to each (image, channel) plane.
#include <cmath>
#include <limits>
#include <string>

#include "frontends/onnx/ops/op_utils.h"

namespace xpusim::frontend::ops {
namespace {

struct PoolGeometry {
    int64_t batch = 0, channels = 0;
    Shape in, kernel, out;
    std::vector<int64_t> strides, dilations, pad_begin, pad_end;

    std::size_t rank() const { return in.size(); }
};

// Output size per axis, with dk = (k - 1) * dilation + 1:
//   NOTSET: out = floor or ceil((in + pad_begin + pad_end - dk) / stride) + 1; in ceil mode a
//           last window that would start in the end padding is dropped (PyTorch, ONNX >= 1.16)
//   VALID:  as NOTSET with zero pads
//   SAME_*: out = ceil(in / stride), pads from same_padding()
PoolGeometry pool_geometry(const Node& node, const Shape& x) {
    if (x.size() < 3) fail(node, "input must have rank >= 3, got " + sim::shape_str(x));
    PoolGeometry g;
    const std::size_t r = x.size() - 2;
    g.batch = x[0];
    g.channels = x[1];
    g.in.assign(x.begin() + 2, x.end());
    if (node.attr_ints("kernel_shape", {}).size() != r)
        fail(node, "kernel_shape must give " + std::to_string(r) + " sizes for input " +
                       sim::shape_str(x));
    g.kernel = spatial_attr(node, "kernel_shape", r, 1, 1);
    g.strides = spatial_attr(node, "strides", r, 1, 1);
    g.dilations = spatial_attr(node, "dilations", r, 1, 1);
    const auto pads = spatial_attr(node, "pads", 2 * r, 0, 0);
    g.pad_begin.assign(pads.begin(), pads.begin() + r);
    g.pad_end.assign(pads.begin() + r, pads.end());
    const bool ceil_mode = node.attr_int("ceil_mode", 0) != 0;
    const AutoPad auto_pad = auto_pad_of(node);
    if (node.has_attr("pads") && auto_pad != AutoPad::NotSet)
        fail(node, "pads cannot be given together with auto_pad");
    g.out.resize(r);
    for (std::size_t i = 0; i < r; ++i) {
        if (g.kernel[i] < 1 || g.strides[i] < 1 || g.dilations[i] < 1)
            fail(node, "kernel sizes, strides and dilations must be positive");
        if (g.pad_begin[i] < 0 || g.pad_end[i] < 0) fail(node, "pads must not be negative");
        const int64_t dk = (g.kernel[i] - 1) * g.dilations[i] + 1;
        const int64_t s = g.strides[i];
        if (auto_pad == AutoPad::SameUpper || auto_pad == AutoPad::SameLower) {
            const SamePadding p = same_padding(g.in[i], s, dk, auto_pad);
            g.out[i] = p.out;
            g.pad_begin[i] = p.begin;
            g.pad_end[i] = p.end;
            continue;
        }
        if (auto_pad == AutoPad::Valid) g.pad_begin[i] = g.pad_end[i] = 0;
        const int64_t span = g.in[i] + g.pad_begin[i] + g.pad_end[i] - dk;
        if (span < 0)
            fail(node, "kernel extent " + std::to_string(dk) + " exceeds the padded input " +
                           std::to_string(span + dk));
        g.out[i] = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
        if (ceil_mode && (g.out[i] - 1) * s >= g.in[i] + g.pad_begin[i]) --g.out[i];
    }
    return g;
}

Shape out_shape_of(const PoolGeometry& g) {
    Shape s{g.batch, g.channels};
    s.insert(s.end(), g.out.begin(), g.out.end());
    return s;
}

// Every output position's window: the input offsets (row-major) of its taps inside the input,
// and how many taps fall inside the padded input (the count_include_pad divisor). Along axis d
// the taps of output o sit at p = o * stride - pad_begin + k * dilation, k in [0, kernel), so
// the ones inside the input are the k in [ceil(-base / dilation), floor((in - 1 - base) /
// dilation)] (base = o * stride - pad_begin), and those inside the padded input the k up to
// floor((in + pad_end - 1 - base) / dilation). The table is built from these ranges, so its cost
// is the taps that read the input, never the kernel's size: a kernel of 10^6 with pads to match
// costs what its few in-bound taps cost.
struct WindowTable {
    std::vector<int64_t> start;        // taps of output o: offsets[start[o] .. start[o + 1])
    std::vector<int64_t> offsets;      // row-major offset in the (image, channel) plane
    std::vector<int64_t> col_offsets;  // column-major offset (MaxPool storage_order = 1)
    std::vector<int64_t> padded_count;
};

int64_t floor_div(int64_t a, int64_t b) {
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

WindowTable window_table(const PoolGeometry& g, bool with_col_major) {
    const std::size_t r = g.rank();
    const int64_t n_out = sim::shape_numel(g.out);
    const auto row_strides = sim::shape_strides(g.in);
    std::vector<int64_t> col_strides(r, 1);
    for (std::size_t d = 1; d < r; ++d) col_strides[d] = col_strides[d - 1] * g.in[d - 1];
    struct Taps {
        int64_t first, last, padded;  // in-input taps [first, last]; taps in the padded input
    };
    std::vector<std::vector<Taps>> taps(r);
    for (std::size_t d = 0; d < r; ++d)
        for (int64_t o = 0; o < g.out[d]; ++o) {
            const int64_t base = o * g.strides[d] - g.pad_begin[d], dil = g.dilations[d];
            const int64_t first = base >= 0 ? 0 : (-base + dil - 1) / dil;
            const int64_t last = std::min(g.kernel[d] - 1, floor_div(g.in[d] - 1 - base, dil));
            const int64_t padded =
                std::min(g.kernel[d] - 1, floor_div(g.in[d] + g.pad_end[d] - 1 - base, dil)) + 1;
            taps[d].push_back({first, last, std::max<int64_t>(padded, 0)});
        }
    WindowTable t;
    t.start.reserve(static_cast<std::size_t>(n_out) + 1);
    t.padded_count.reserve(static_cast<std::size_t>(n_out));
    std::vector<int64_t> o(r, 0), k(r, 0);
    for (int64_t q = 0; q < n_out; ++q) {
        t.start.push_back(static_cast<int64_t>(t.offsets.size()));
        int64_t padded = 1;
        bool any = true;
        for (std::size_t d = 0; d < r; ++d) {
            const Taps& w = taps[d][static_cast<std::size_t>(o[d])];
            padded *= w.padded;
            any = any && w.first <= w.last;
            k[d] = w.first;
        }
        t.padded_count.push_back(padded);
        while (any) {
            int64_t row = 0, col = 0;
            for (std::size_t d = 0; d < r; ++d) {
                const int64_t p = o[d] * g.strides[d] - g.pad_begin[d] + k[d] * g.dilations[d];
                row += p * row_strides[d];
                col += p * col_strides[d];
            }
            t.offsets.push_back(row);
            if (with_col_major) t.col_offsets.push_back(col);
            // next tap: the last axis fastest, within each axis's in-input range
            std::size_t d = r;
            while (d-- > 0) {
                const Taps& w = taps[d][static_cast<std::size_t>(o[d])];
                if (++k[d] <= w.last) break;
                k[d] = w.first;
            }
            if (d == static_cast<std::size_t>(-1)) break;
        }
        for (std::size_t d = r; d-- > 0;) {
            if (++o[d] < g.out[d]) break;
            o[d] = 0;
        }
    }
    t.start.push_back(static_cast<int64_t>(t.offsets.size()));
    return t;
}

// Runs f(p) for every (image, channel) plane p in parallel; each plane's outputs are written
// by one thread.
template <class F>
void for_each_plane(int64_t planes, F&& f) {
#pragma omp parallel for schedule(static)
    for (int64_t p = 0; p < planes; ++p) f(p);
}

// ---- MaxPool ---------------------------------------------------------------------------------

// y = max over the window's taps inside the input (padding never wins); ties keep the first
// tap, NaN never replaces a value (as ONNX Runtime). Indices are flat offsets into X
// ((n * C + c) * plane + spatial offset), the spatial part row- or column-major.
template <class T>
std::vector<Tensor> max_pool(const KernelContext& ctx, const PoolGeometry& g, bool want_indices) {
    const Tensor& x = ctx.in(0);
    const int64_t storage_order = ctx.node.attr_int("storage_order", 0);
    if (storage_order != 0 && storage_order != 1) ctx.fail("storage_order must be 0 or 1");
    const WindowTable t = window_table(g, want_indices && storage_order == 1);
    Tensor y = Tensor::uninitialized(x.dtype(), out_shape_of(g));  // every output is written
    Tensor ind(DType::Int64, want_indices ? out_shape_of(g) : Shape{0});
    const int64_t in_plane = sim::shape_numel(g.in);
    const int64_t out_plane = sim::shape_numel(g.out);
    const T* px = x.data<T>();
    T* py = y.data<T>();
    int64_t* pi = ind.data<int64_t>();
    const std::vector<int64_t>& index_offsets = storage_order == 1 ? t.col_offsets : t.offsets;
    for_each_plane(g.batch * g.channels, [&](int64_t p) {
        const T* xp = px + p * in_plane;
        for (int64_t o = 0; o < out_plane; ++o) {
            T best = std::numeric_limits<T>::lowest();
            int64_t arg = -1;
            for (int64_t j = t.start[o]; j < t.start[o + 1]; ++j) {
                const T v = xp[t.offsets[j]];
                if (v > best || (arg < 0 && v == best)) {
                    best = v;
                    arg = j;
                }
            }
            py[p * out_plane + o] = best;
            if (want_indices)
                pi[p * out_plane + o] = arg < 0 ? -1 : p * in_plane + index_offsets[arg];
        }
    });
    if (!want_indices) return {y};
    return {y, ind};
}

void infer_max_pool(InferContext& ctx) {
    const PoolGeometry g = pool_geometry(ctx.node, ctx.in(0).shape);
    ctx.set_output(0, ctx.in(0).dtype, out_shape_of(g));
    if (ctx.node.outputs.size() > 1 && !ctx.node.outputs[1].empty())
        ctx.set_output(1, DType::Int64, out_shape_of(g));
}

std::vector<Tensor> compute_max_pool(const KernelContext& ctx) {
    const PoolGeometry g = pool_geometry(ctx.node, ctx.in(0).shape());
    const bool want_indices = ctx.node.outputs.size() > 1 && !ctx.node.outputs[1].empty();
    std::vector<Tensor> out;
    dispatch_numeric(ctx.in(0).dtype(), ctx.node, [&](auto tag) {
        using T = decltype(tag);
        if constexpr (std::is_same_v<T, bool>)
            ctx.fail("boolean input is not allowed");
        else
            out = max_pool<T>(ctx, g, want_indices);
    });
    return out;
}

// ---- AveragePool and LpPool ------------------------------------------------------------------

// AveragePool: y = sum(taps inside X) / n, n = the taps inside X (count_include_pad = 0) or
// inside the padded X (count_include_pad = 1; taps past the end padding in ceil mode never
// count). LpPool: y = (sum |x|^p)^(1/p), padding contributing zeros.
template <class T>
Tensor sum_pool(const KernelContext& ctx, const PoolGeometry& g, bool lp) {
    const Tensor& x = ctx.in(0);
    const bool include_pad = ctx.node.attr_int("count_include_pad", 0) != 0;
    const double p_norm = ctx.node.attr_float("p", 2.0);
    const WindowTable t = window_table(g, false);
    Tensor y(x.dtype(), out_shape_of(g));
    const int64_t in_plane = sim::shape_numel(g.in);
    const int64_t out_plane = sim::shape_numel(g.out);
    const T* px = x.data<T>();
    T* py = y.data<T>();
    for_each_plane(g.batch * g.channels, [&](int64_t p) {
        const T* xp = px + p * in_plane;
        for (int64_t o = 0; o < out_plane; ++o) {
            double acc = 0.0;
            if (lp) {
                for (int64_t j = t.start[o]; j < t.start[o + 1]; ++j)
                    acc += std::pow(std::abs(static_cast<double>(xp[t.offsets[j]])), p_norm);
                py[p * out_plane + o] = static_cast<T>(std::pow(acc, 1.0 / p_norm));
            } else {
                for (int64_t j = t.start[o]; j < t.start[o + 1]; ++j) acc += xp[t.offsets[j]];
                const int64_t n = include_pad ? t.padded_count[o] : t.start[o + 1] - t.start[o];
                py[p * out_plane + o] = static_cast<T>(acc / static_cast<double>(n));
            }
        }
    });
    return y;
}

void infer_pool(InferContext& ctx) {
    ctx.set_output(0, ctx.in(0).dtype, out_shape_of(pool_geometry(ctx.node, ctx.in(0).shape)));
}

OpKernel sum_pool_kernel(bool lp) {
    return OpKernel{infer_pool, [lp](const KernelContext& ctx) {
                        const PoolGeometry g = pool_geometry(ctx.node, ctx.in(0).shape());
                        Tensor y;
                        dispatch_float(ctx.in(0).dtype(), ctx.node,
                                       [&](auto tag) { y = sum_pool<decltype(tag)>(ctx, g, lp); });
                        return std::vector<Tensor>{y};
                    }};
}

// ---- global pools ----------------------------------------------------------------------------

enum class Global { Average, Max, Lp };

Shape global_shape(const Shape& x, const Node& node) {
    if (x.size() < 3)
        fail(node, "input must be N x C x spatial..., rank >= 3, got " + sim::shape_str(x));
    Shape s = x;
    std::fill(s.begin() + 2, s.end(), 1);
    return s;
}

// One value per (image, channel) plane: its mean, max (NaN skipped, as in MaxPool) or Lp norm
// (sum |x|^p)^(1/p).
template <class T>
Tensor global_pool(const KernelContext& ctx, Global kind) {
    const Tensor& x = ctx.in(0);
    Tensor y(x.dtype(), global_shape(x.shape(), ctx.node));
    const int64_t planes = x.dim(0) * x.dim(1);
    const int64_t plane = planes == 0 ? 0 : x.numel() / planes;
    const double p_norm = ctx.node.attr_float("p", 2.0);
    const T* px = x.data<T>();
    T* py = y.data<T>();
    for_each_plane(planes, [&](int64_t p) {
        const T* xp = px + p * plane;
        if (kind == Global::Max) {
            T best = std::numeric_limits<T>::lowest();
            for (int64_t i = 0; i < plane; ++i)
                if (xp[i] > best) best = xp[i];
            py[p] = best;
            return;
        }
        double acc = 0.0;
        for (int64_t i = 0; i < plane; ++i)
            acc += kind == Global::Lp ? std::pow(std::abs(static_cast<double>(xp[i])), p_norm)
                                      : static_cast<double>(xp[i]);
        py[p] = static_cast<T>(kind == Global::Lp ? std::pow(acc, 1.0 / p_norm)
                                                  : acc / static_cast<double>(plane));
    });
    return y;
}

OpKernel global_kernel(Global kind) {
    return OpKernel{[](InferContext& ctx) {
                        ctx.set_output(0, ctx.in(0).dtype, global_shape(ctx.in(0).shape, ctx.node));
                    },
                    [kind](const KernelContext& ctx) {
                        Tensor y;
                        dispatch_float(ctx.in(0).dtype(), ctx.node, [&](auto tag) {
                            y = global_pool<decltype(tag)>(ctx, kind);
                        });
                        return std::vector<Tensor>{y};
                    }};
}

XPUSIM_REGISTER_OP("MaxPool", OpKernel{infer_max_pool, compute_max_pool});
XPUSIM_REGISTER_OP("AveragePool", sum_pool_kernel(false));
XPUSIM_REGISTER_OP("LpPool", sum_pool_kernel(true));
XPUSIM_REGISTER_OP("GlobalAveragePool", global_kernel(Global::Average));
XPUSIM_REGISTER_OP("GlobalMaxPool", global_kernel(Global::Max));
XPUSIM_REGISTER_OP("GlobalLpPool", global_kernel(Global::Lp));

}  // namespace
}  // namespace xpusim::frontend::ops
