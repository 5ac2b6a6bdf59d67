// Operators that read or write a tensor at computed positions: GridSample interpolates the
// input at the normalized coordinates of a grid (any number of spatial axes from opset 20);
// MaxUnpool scatters pooled values back to the positions MaxPool's indices name.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "frontends/onnx/ops/op_utils.h"

namespace xpusim::frontend::ops {
namespace {

// ---- GridSample ---------------------------------------------------------------------------------

enum class GridMode { Nearest, Linear, Cubic };
enum class GridPadding { Zeros, Border, Reflection };

// Opset 16 names the modes bilinear / nearest / bicubic and takes 4-D input only; opset 20
// renamed them linear / nearest / cubic and allows any number of spatial axes.
GridMode grid_mode_of(const Node& node, int64_t opset) {
    const bool v20 = opset >= 20;
    const std::string m = node.attr_string("mode", v20 ? "linear" : "bilinear");
    if (m == "nearest") return GridMode::Nearest;
    if (m == (v20 ? "linear" : "bilinear")) return GridMode::Linear;
    if (m == (v20 ? "cubic" : "bicubic")) return GridMode::Cubic;
    fail(node, "unknown mode '" + m + "' for opset " + std::to_string(opset));
}

GridPadding grid_padding_of(const Node& node) {
    const std::string m = node.attr_string("padding_mode", "zeros");
    if (m == "zeros") return GridPadding::Zeros;
    if (m == "border") return GridPadding::Border;
    if (m == "reflection") return GridPadding::Reflection;
    fail(node, "unknown padding_mode '" + m + "'");
}

// X [N, C, D1..Dr], grid [N, O1..Or, r] -> [N, C, O1..Or].
Shape grid_sample_shape(const Node& node, int64_t opset, const Shape& x, const Shape& grid) {
    if (opset < 20 && x.size() != 4)
        fail(node, "X must be [N, C, H, W] before opset 20, got " + sim::shape_str(x));
    if (x.size() < 3) fail(node, "X must be [N, C, D1, ...], got " + sim::shape_str(x));
    const int64_t r = static_cast<int64_t>(x.size()) - 2;
    if (grid.size() != x.size() || grid[0] != x[0] || grid.back() != r)
        fail(node, "grid must be [" + std::to_string(x[0]) + ", spatial..., " + std::to_string(r) +
                       "] for X " + sim::shape_str(x) + ", got " + sim::shape_str(grid));
    Shape out{x[0], x[1]};
    out.insert(out.end(), grid.begin() + 1, grid.end() - 1);
    return out;
}

// Reflects x by the nearer border until it lies in [lo, hi].
double reflect(double x, double lo, double hi) {
    const double range = hi - lo;
    if (range <= 0) return lo;
    if (x < lo) {
        const double d = lo - x;
        const double n = std::floor(d / range), r = d - n * range;
        return std::fmod(n, 2.0) == 0 ? lo + r : hi - r;
    }
    if (x > hi) {
        const double d = x - hi;
        const double n = std::floor(d / range), r = d - n * range;
        return std::fmod(n, 2.0) == 0 ? hi - r : lo + r;
    }
    return x;
}

// Keys' cubic convolution weights (alpha = -0.75, as PyTorch) of the taps at floor(x) - 1 ..
// floor(x) + 2, for t = x - floor(x).
void cubic_weights(double t, double* w) {
    constexpr double a = -0.75;
    auto near = [](double s) { return ((a + 2) * s - (a + 3)) * s * s + 1; };
    auto far = [](double s) { return ((a * s - 5 * a) * s + 8 * a) * s - 4 * a; };
    w[0] = far(t + 1);
    w[1] = near(t);
    w[2] = near(1 - t);
    w[3] = far(2 - t);
}

struct GridAxis {
    int64_t size;
    double lo, hi;  // the valid coordinate range: [-0.5, size - 0.5], or [0, size - 1] aligned
};

// Where a tap at integer position i reads along one axis, or -1 for a zero (padding_mode zeros).
int64_t tap_index(int64_t i, const GridAxis& a, GridPadding pad) {
    if (i >= 0 && i < a.size) return i;
    switch (pad) {
        case GridPadding::Zeros:
            return -1;
        case GridPadding::Border:
            return std::clamp<int64_t>(i, 0, a.size - 1);
        case GridPadding::Reflection:
            return std::clamp<int64_t>(
                static_cast<int64_t>(reflect(static_cast<double>(i), a.lo, a.hi)), 0, a.size - 1);
    }
    return -1;
}

// For each output position: the grid's r coordinates (last one first: grid[..., 0] indexes the
// innermost axis) are mapped from [-1, 1] to pixels, x = (n + 1) / 2 * (size - 1) with
// align_corners, else ((n + 1) * size - 1) / 2. A coordinate outside the valid range is clamped
// to [0, size - 1] (border) or reflected into the range (reflection). nearest rounds it (half to
// even, but half away from zero for 3 spatial axes, as PyTorch); linear and cubic weight the 2 or
// 4 taps around it on every axis. Taps outside the input read 0 (zeros), the border pixel
// (border) or the reflected pixel (reflection).
template <class T>
Tensor grid_sample(const KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    const Tensor& grid = ctx.in(1);
    const Shape out_shape = grid_sample_shape(ctx.node, ctx.opset, x.shape(), grid.shape());
    if (grid.dtype() != x.dtype())
        ctx.fail("grid " + describe_tensor(grid) + " must have the type of X " +
                 describe_tensor(x));
    const GridMode mode = grid_mode_of(ctx.node, ctx.opset);
    const GridPadding pad = grid_padding_of(ctx.node);
    const int64_t align = ctx.node.attr_int("align_corners", 0);
    if (align != 0 && align != 1)
        ctx.fail("align_corners must be 0 or 1, got " + std::to_string(align));
    const std::size_t r = x.shape().size() - 2;
    std::vector<GridAxis> axes(r);
    for (std::size_t d = 0; d < r; ++d) {
        const int64_t size = x.dim(static_cast<int64_t>(d) + 2);
        if (size == 0 && sim::shape_numel(out_shape) > 0)
            ctx.fail("cannot sample X " + describe_tensor(x) + ": spatial axis " +
                     std::to_string(d) + " is empty");
        axes[d] = align ? GridAxis{size, 0.0, static_cast<double>(size) - 1}
                        : GridAxis{size, -0.5, static_cast<double>(size) - 0.5};
    }
    const int taps = mode == GridMode::Nearest ? 1 : mode == GridMode::Linear ? 2 : 4;
    const int64_t n_batch = x.dim(0), channels = x.dim(1);
    const int64_t in_plane = dims_product(x.shape(), 2, x.shape().size());
    const int64_t out_plane = dims_product(out_shape, 2, out_shape.size());
    const auto in_strides = sim::shape_strides(Shape(x.shape().begin() + 2, x.shape().end()));
    int64_t combos = 1;
    for (std::size_t d = 0; d < r; ++d) combos *= taps;
    Tensor y(x.dtype(), out_shape);
    const T* px = x.data<T>();
    const T* pg = grid.data<T>();
    T* py = y.data<T>();
    // Per axis: the input index (-1: zero) and weight of each tap.
    std::vector<int64_t> index(r * taps);
    std::vector<double> weight(r * taps);
    std::vector<int64_t> offsets(static_cast<std::size_t>(combos));
    std::vector<double> weights(static_cast<std::size_t>(combos));
    for (int64_t n = 0; n < n_batch; ++n)
        for (int64_t o = 0; o < out_plane; ++o) {
            const T* g = pg + (n * out_plane + o) * static_cast<int64_t>(r);
            for (std::size_t d = 0; d < r; ++d) {
                const GridAxis& a = axes[d];
                const double size = static_cast<double>(a.size);
                const double norm = static_cast<double>(g[r - 1 - d]);
                double c = align ? (norm + 1) / 2 * (size - 1) : ((norm + 1) * size - 1) / 2;
                if (mode == GridMode::Nearest) c = r == 3 ? std::round(c) : std::nearbyint(c);
                if (c < a.lo || c > a.hi) {
                    if (pad == GridPadding::Border) c = std::clamp(c, 0.0, size - 1);
                    if (pad == GridPadding::Reflection) c = reflect(c, a.lo, a.hi);
                }
                // Taps more than 4 pixels out read the same padding wherever they are; a NaN
                // coordinate reads as far out before the start.
                if (!(c >= a.lo - 4)) c = a.lo - 4;
                if (c > a.hi + 4) c = a.hi + 4;
                int64_t* idx = &index[d * taps];
                double* w = &weight[d * taps];
                if (mode == GridMode::Nearest) {
                    idx[0] = tap_index(static_cast<int64_t>(c), a, pad);
                    w[0] = 1.0;
                    continue;
                }
                const double f = std::floor(c);
                const int64_t first = static_cast<int64_t>(f) - (taps == 4 ? 1 : 0);
                for (int k = 0; k < taps; ++k) idx[k] = tap_index(first + k, a, pad);
                if (mode == GridMode::Linear) {
                    w[0] = 1 - (c - f);
                    w[1] = c - f;
                } else {
                    cubic_weights(c - f, w);
                }
            }
            // The product of the per-axis taps: offsets (-1 where any axis reads a zero) and
            // weights.
            for (int64_t k = 0; k < combos; ++k) {
                int64_t rest = k, off = 0;
                double wt = 1.0;
                for (std::size_t d = r; d-- > 0;) {
                    const int t = static_cast<int>(rest % taps);
                    rest /= taps;
                    const int64_t i = index[d * taps + t];
                    off = (off < 0 || i < 0) ? -1 : off + i * in_strides[d];
                    wt *= weight[d * taps + t];
                }
                offsets[k] = off;
                weights[k] = wt;
            }
            for (int64_t c = 0; c < channels; ++c) {
                const T* plane = px + (n * channels + c) * in_plane;
                double acc = 0.0;
                for (int64_t k = 0; k < combos; ++k)
                    if (offsets[k] >= 0) acc += weights[k] * static_cast<double>(plane[offsets[k]]);
                py[(n * channels + c) * out_plane + o] = static_cast<T>(acc);
            }
        }
    return y;
}

XPUSIM_REGISTER_OP("GridSample",
                   OpKernel{[](InferContext& ctx) {
                                ctx.set_output(0, ctx.in(0).dtype,
                                               grid_sample_shape(ctx.node, ctx.opset,
                                                                 ctx.in(0).shape, ctx.in(1).shape));
                            },
                            [](const KernelContext& ctx) {
                                Tensor y;
                                dispatch_float(ctx.in(0).dtype(), ctx.node, [&](auto tag) {
                                    y = grid_sample<decltype(tag)>(ctx);
                                });
                                return std::vector<Tensor>{y};
                            }});

// ---- MaxUnpool ----------------------------------------------------------------------------------

// The unpooled shape is, per spatial axis, (in - 1) * stride + kernel - pad_begin - pad_end; the
// output is that, or the output_shape input, which may only extend it (the extra positions are
// zero padding at the end of each axis).
struct UnpoolShapes {
    Shape unpooled, out;
};

UnpoolShapes max_unpool_shapes(const OpArgs& a) {
    const Shape& x = a.shape(0);
    if (x.size() < 3) fail(a.node, "X must be [N, C, spatial...], got " + sim::shape_str(x));
    if (a.shape(1) != x)
        fail(a.node, "indices " + sim::shape_str(a.shape(1)) + " must have the shape of X " +
                         sim::shape_str(x));
    const std::size_t r = x.size() - 2;
    if (a.node.attr_ints("kernel_shape", {}).size() != r)
        fail(a.node, "kernel_shape must give " + std::to_string(r) + " sizes");
    const auto kernel = spatial_attr(a.node, "kernel_shape", r, 1, 1);
    const auto strides = spatial_attr(a.node, "strides", r, 1, 1);
    const auto pads = spatial_attr(a.node, "pads", 2 * r, 0, 0);
    UnpoolShapes s;
    s.unpooled = {x[0], x[1]};
    for (std::size_t d = 0; d < r; ++d) {
        const int64_t len = (x[d + 2] - 1) * strides[d] + kernel[d] - pads[d] - pads[d + r];
        if (len < 0) fail(a.node, "pads exceed the unpooled size along axis " + std::to_string(d));
        s.unpooled.push_back(len);
    }
    s.out = a.has(2) ? a.ints(2) : s.unpooled;
    bool fits = s.out.size() == x.size() && s.out[0] == x[0] && s.out[1] == x[1];
    for (std::size_t d = 2; fits && d < s.out.size(); ++d) fits = s.out[d] >= s.unpooled[d];
    if (!fits)
        fail(a.node, "output_shape [" + sim::shape_str(s.out) + "] must be [" +
                         std::to_string(x[0]) + ", " + std::to_string(x[1]) +
                         ", spatial...] and at least the unpooled shape " +
                         sim::shape_str(s.unpooled));
    return s;
}

// The unpooled tensor is zero except at I: unpooled.flat[I[i]] = X[i], each index addressing
// the whole tensor as MaxPool's Indices output does.
std::vector<Tensor> compute_max_unpool(const KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    const Tensor& idx = ctx.in(1);
    if (idx.dtype() != DType::Int64) ctx.fail("indices must be int64, got " + describe_tensor(idx));
    const UnpoolShapes s = max_unpool_shapes(args_of(ctx));
    Tensor unpooled(x.dtype(), s.unpooled);
    const std::size_t es = sim::dtype_size(x.dtype());
    const int64_t* pi = idx.data<int64_t>();
    for (int64_t i = 0; i < x.numel(); ++i) {
        if (pi[i] < 0 || pi[i] >= unpooled.numel())
            ctx.fail("index " + std::to_string(pi[i]) + " is outside the unpooled tensor " +
                     sim::shape_str(s.unpooled));
        std::memcpy(bytes(unpooled) + pi[i] * es, bytes(x) + i * es, es);
    }
    if (s.out == s.unpooled) return {unpooled};
    // Output position j along an axis reads unpooled position j, or zero past its end.
    std::vector<std::vector<int64_t>> table(s.out.size());
    for (std::size_t d = 0; d < s.out.size(); ++d)
        for (int64_t j = 0; j < s.out[d]; ++j) table[d].push_back(j < s.unpooled[d] ? j : -1);
    Tensor y(x.dtype(), s.out);
    const uint8_t zero[8] = {};
    dispatch_element_size(es, ctx.node, [&](auto size) {
        gather_by_axis_tables<decltype(size)::value>(bytes(unpooled), bytes(y), s.unpooled, s.out,
                                                     table, zero);
    });
    return {y};
}

XPUSIM_REGISTER_OP("MaxUnpool", OpKernel{[](InferContext& ctx) {
                                             ctx.set_output(0, ctx.in(0).dtype,
                                                            max_unpool_shapes(args_of(ctx)).out);
                                         },
                                         compute_max_unpool, /*widen_half=*/false});

}  // namespace
}  // namespace xpusim::frontend::ops
