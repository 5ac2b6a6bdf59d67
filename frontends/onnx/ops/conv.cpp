// Convolution: Conv (1-D, 2-D, 3-D, grouped and depthwise) as im2col + one Eigen GEMM per
// chunk of images and group, and ConvTranspose as one GEMM per image and group followed by col2im.
#include <algorithm>
#include <memory>
#include <string>

#include "frontends/onnx/ops/op_utils.h"

namespace xpusim::frontend::ops {
namespace {

// Sizes of one convolution, spatial vectors indexed by spatial axis.
struct ConvGeometry {
    int64_t batch = 0;
    int64_t in_channels = 0;
    int64_t out_channels = 0;
    int64_t group = 1;
    Shape in;      // input spatial size
    Shape kernel;  // kernel spatial size
    Shape out;     // output spatial size
    std::vector<int64_t> strides, dilations, pad_begin, pad_end;

    std::size_t rank() const { return in.size(); }
};

// Fields both ops read the same way: kernel (from W, checked against kernel_shape), strides,
// dilations, explicit pads, group.
ConvGeometry common_geometry(const Node& node, const Shape& x, const Shape& w) {
    if (x.size() < 3) fail(node, "input must have rank >= 3, got " + sim::shape_str(x));
    if (w.size() != x.size())
        fail(node, "weight rank " + std::to_string(w.size()) + " differs from input rank " +
                       std::to_string(x.size()));
    ConvGeometry g;
    const std::size_t r = x.size() - 2;
    g.batch = x[0];
    g.in_channels = x[1];
    g.in.assign(x.begin() + 2, x.end());
    g.kernel.assign(w.begin() + 2, w.end());
    const auto ks = node.attr_ints("kernel_shape", {});
    if (!ks.empty() && ks != g.kernel)
        fail(node, "kernel_shape does not match the weight shape " + sim::shape_str(w));
    g.group = node.attr_int("group", 1);
    if (g.group < 1 || g.in_channels % g.group != 0)
        fail(node, "group " + std::to_string(g.group) + " does not divide " +
                       std::to_string(g.in_channels) + " input channels");
    g.strides = spatial_attr(node, "strides", r, 1, 1);
    g.dilations = spatial_attr(node, "dilations", r, 1, 1);
    for (std::size_t i = 0; i < r; ++i)
        if (g.strides[i] < 1 || g.dilations[i] < 1 || g.kernel[i] < 1)
            fail(node, "strides, dilations and kernel sizes must be positive");
    if (node.has_attr("pads") && auto_pad_of(node) != AutoPad::NotSet)
        fail(node, "pads cannot be given together with auto_pad");
    const auto pads = spatial_attr(node, "pads", 2 * r, 0, 0);
    g.pad_begin.assign(pads.begin(), pads.begin() + r);
    g.pad_end.assign(pads.begin() + r, pads.end());
    return g;
}

// Conv output size per axis:
//   NOTSET: out = floor((in + pad_begin + pad_end - dk) / stride) + 1, dk = (k - 1) * d + 1
//   VALID:  as NOTSET with zero pads
//   SAME_*: pads from same_padding(), with which the NOTSET rule gives out = ceil(in / stride)
ConvGeometry conv_geometry(const Node& node, const Shape& x, const Shape& w) {
    ConvGeometry g = common_geometry(node, x, w);
    if (w[1] * g.group != g.in_channels)
        fail(node, "weight " + sim::shape_str(w) + " does not match " +
                       std::to_string(g.in_channels) + " input channels in " +
                       std::to_string(g.group) + " groups");
    g.out_channels = w[0];
    if (g.out_channels % g.group != 0)
        fail(node, "group " + std::to_string(g.group) + " does not divide " +
                       std::to_string(g.out_channels) + " output channels");
    const AutoPad ap = auto_pad_of(node);
    g.out.resize(g.rank());
    for (std::size_t i = 0; i < g.rank(); ++i) {
        const int64_t dk = (g.kernel[i] - 1) * g.dilations[i] + 1;
        const int64_t s = g.strides[i];
        if (ap == AutoPad::SameUpper || ap == AutoPad::SameLower) {
            const SamePadding p = same_padding(g.in[i], s, dk, ap);
            g.pad_begin[i] = p.begin;
            g.pad_end[i] = p.end;
        } else if (ap == AutoPad::Valid) {
            g.pad_begin[i] = g.pad_end[i] = 0;
        }
        const int64_t span = g.in[i] + g.pad_begin[i] + g.pad_end[i] - dk;
        if (span < 0)
            fail(node, "kernel extent " + std::to_string(dk) + " exceeds the padded input " +
                           std::to_string(g.in[i] + g.pad_begin[i] + g.pad_end[i]));
        g.out[i] = span / s + 1;
    }
    return g;
}

// ConvTranspose output size per axis, with dk = (k - 1) * d + 1 and
// full = stride * (in - 1) + output_padding + dk:
//   output_shape given: out = output_shape, total pad = full - out, split with the odd pixel
//                       at the end for SAME_UPPER and at the beginning otherwise
//   SAME_*:             as above with out = in * stride
//   NOTSET / VALID:     out = full - pad_begin - pad_end (VALID: zero pads)
// A negative total pad (output_shape beyond `full`) leaves the extra tail holding the bias only.
ConvGeometry conv_transpose_geometry(const Node& node, const Shape& x, const Shape& w) {
    ConvGeometry g = common_geometry(node, x, w);
    if (w[0] != g.in_channels)
        fail(node, "weight " + sim::shape_str(w) + " does not match " +
                       std::to_string(g.in_channels) + " input channels");
    g.out_channels = w[1] * g.group;
    const std::size_t r = g.rank();
    const auto output_padding = spatial_attr(node, "output_padding", r, 0, 0);
    for (std::size_t i = 0; i < r; ++i)
        if (output_padding[i] >= std::max(g.strides[i], g.dilations[i]))
            fail(node, "output_padding " + std::to_string(output_padding[i]) +
                           " must be smaller than the stride or the dilation of its axis");
    std::vector<int64_t> output_shape = node.attr_ints("output_shape", {});
    if (output_shape.size() == r + 2)
        output_shape.erase(output_shape.begin(), output_shape.begin() + 2);
    if (!output_shape.empty() && output_shape.size() != r)
        fail(node, "output_shape has " + std::to_string(output_shape.size()) + " values for " +
                       std::to_string(r) + " spatial axes");
    const AutoPad ap = auto_pad_of(node);
    g.out.resize(r);
    for (std::size_t i = 0; i < r; ++i) {
        const int64_t dk = (g.kernel[i] - 1) * g.dilations[i] + 1;
        const int64_t full = g.strides[i] * (g.in[i] - 1) + output_padding[i] + dk;
        if (!output_shape.empty() || ap == AutoPad::SameUpper || ap == AutoPad::SameLower) {
            const int64_t out = output_shape.empty() ? g.in[i] * g.strides[i] : output_shape[i];
            const int64_t total = std::max<int64_t>(0, full - out);
            g.pad_begin[i] = ap == AutoPad::SameUpper ? total / 2 : total - total / 2;
            g.pad_end[i] = full - out - g.pad_begin[i];
            g.out[i] = out;
        } else {
            if (ap == AutoPad::Valid) g.pad_begin[i] = g.pad_end[i] = 0;
            g.out[i] = full - g.pad_begin[i] - g.pad_end[i];
        }
        if (g.out[i] < 1)
            fail(node, "output size along spatial axis " + std::to_string(i) + " is " +
                           std::to_string(g.out[i]));
    }
    return g;
}

Shape output_shape_of(const ConvGeometry& g) {
    Shape s{g.batch, g.out_channels};
    s.insert(s.end(), g.out.begin(), g.out.end());
    return s;
}

// The multi-index of flat index `flat` in `dims` (row-major).
std::vector<int64_t> unflatten(int64_t flat, const Shape& dims) {
    std::vector<int64_t> idx(dims.size());
    for (std::size_t d = dims.size(); d-- > 0;) {
        idx[d] = flat % dims[d];
        flat /= dims[d];
    }
    return idx;
}

// One kernel tap `k` of `g`, row by row of the output's last axis: f(out0, base, valid) per
// row, out0 the row's first (flat) output position, base the flat input offset of its outer
// axes and valid whether they are all inside the input. Input coordinate per axis:
// i = o * stride - pad_begin + k * dilation; along a row, output ol reads base + i0 + ol * s
// (TapRow), inside the input's last axis for ol in [lo, hi).
struct TapRow {
    int64_t i0, s, lo, hi;
};

TapRow tap_row(const ConvGeometry& g, const std::vector<int64_t>& k) {
    const std::size_t last = g.rank() - 1;
    const int64_t inner = g.out[last], in_last = g.in[last];
    TapRow t;
    t.i0 = -g.pad_begin[last] + k[last] * g.dilations[last];
    t.s = g.strides[last];
    t.lo = std::min(inner, t.i0 >= 0 ? int64_t{0} : (-t.i0 + t.s - 1) / t.s);
    t.hi = std::max(t.lo, std::min(inner, in_last > t.i0 ? (in_last - t.i0 + t.s - 1) / t.s : int64_t{0}));
    return t;
}

template <class F>
void for_each_tap_row(const ConvGeometry& g, const std::vector<int64_t>& k, F&& f) {
    const std::size_t r = g.rank();
    const std::size_t last = r - 1;
    const int64_t inner = g.out[last];
    if (inner == 0) return;
    const int64_t outer = sim::shape_numel(g.out) / inner;
    const auto in_strides = sim::shape_strides(g.in);
    std::vector<int64_t> o(r, 0);
    for (int64_t q = 0; q < outer; ++q) {
        int64_t base = 0;
        bool valid = true;
        for (std::size_t d = 0; d < last; ++d) {
            const int64_t i = o[d] * g.strides[d] - g.pad_begin[d] + k[d] * g.dilations[d];
            if (i < 0 || i >= g.in[d]) valid = false;
            base += i * in_strides[d];
        }
        f(q * inner, base, valid);
        for (std::size_t d = last; d-- > 0;) {
            if (++o[d] < g.out[d]) break;
            o[d] = 0;
        }
    }
}

// Every output position of `g` (row-major) for one tap `k`: f(out_flat, in_flat), in_flat the
// input position it reads, or -1 for padding.
template <class F>
void for_each_tap(const ConvGeometry& g, const std::vector<int64_t>& k, F&& f) {
    const int64_t inner = g.out[g.rank() - 1];
    const TapRow t = tap_row(g, k);
    for_each_tap_row(g, k, [&](int64_t out0, int64_t base, bool valid) {
        for (int64_t ol = 0; ol < inner; ++ol)
            f(out0 + ol, valid && ol >= t.lo && ol < t.hi ? base + t.i0 + ol * t.s : -1);
    });
}

// col[(c * K + k) * ld + o] = x[c, input position of (o, k)] or 0 in the padding; K = kernel
// numel, ld the row stride of col (the output size, or a multiple of it when several images
// share one col). A row of the output's last axis is zeros, a (strided) copy, zeros.
template <class T>
void im2col(const T* x, int64_t channels, const ConvGeometry& g, T* col, int64_t ld) {
    const int64_t ksize = sim::shape_numel(g.kernel);
    const int64_t in_size = sim::shape_numel(g.in);
    const int64_t rows = channels * ksize;
    const int64_t inner = g.out[g.rank() - 1];
#pragma omp parallel for schedule(static)
    for (int64_t row = 0; row < rows; ++row) {
        const T* xc = x + (row / ksize) * in_size;
        T* dst_row = col + row * ld;
        const std::vector<int64_t> k = unflatten(row % ksize, g.kernel);
        const TapRow t = tap_row(g, k);
        for_each_tap_row(g, k, [&](int64_t out0, int64_t base, bool valid) {
            T* dst = dst_row + out0;
            if (!valid) {
                std::fill(dst, dst + inner, T(0));
                return;
            }
            std::fill(dst, dst + t.lo, T(0));
            const T* src = xc + base + t.i0;
            if (t.s == 1) {
                std::copy(src + t.lo, src + t.hi, dst + t.lo);
            } else {
                for (int64_t ol = t.lo; ol < t.hi; ++ol) dst[ol] = src[ol * t.s];
            }
            std::fill(dst + t.hi, dst + inner, T(0));
        });
    }
}

bool is_pointwise(const ConvGeometry& g) {
    for (std::size_t i = 0; i < g.rank(); ++i)
        if (g.kernel[i] != 1 || g.strides[i] != 1 || g.pad_begin[i] != 0 || g.pad_end[i] != 0)
            return false;
    return true;
}

template <class T>
void add_bias(const KernelContext& ctx, int64_t channels, const ConvGeometry& g, Tensor& y) {
    if (!ctx.has(2)) return;
    const Tensor& b = ctx.in(2);
    if (b.numel() != channels)
        ctx.fail("bias " + describe_tensor(b) + " needs " + std::to_string(channels) + " values");
    const Tensor bias = b.dtype() == y.dtype() ? b : b.cast(y.dtype());
    const T* pb = bias.data<T>();
    const int64_t plane = sim::shape_numel(g.out);
    T* py = y.data<T>();
    for (int64_t n = 0; n < g.batch; ++n)
        for (int64_t m = 0; m < channels; ++m) {
            T* p = py + (n * channels + m) * plane;
            for (int64_t i = 0; i < plane; ++i) p[i] += pb[m];
        }
}

void check_float_inputs(const KernelContext& ctx) {
    if (ctx.in(1).dtype() != ctx.in(0).dtype())
        ctx.fail("input " + describe_tensor(ctx.in(0)) + " and weight " +
                 describe_tensor(ctx.in(1)) + " differ in element type");
}

// Y[n, group m-block] = W_g (M_g x C_g*K) * im2col(X[n, group c-block]) (C_g*K x O), with
// the images of a chunk side by side in one GEMM, W_g x [col(X[n0]) ... col(X[n0 + nb - 1])]
// (C_g*K x nb*O) when O is thin: a deep layer's small O (49 at 7 x 7) alone makes a product that
// runs far below the GEMM's peak, while 196 columns already run at it, and a chunk costs a
// gather and a scatter. A chunk's col and product are bounded by kChunkBytes each; with one
// image in a chunk a pointwise convolution reads X directly and the product lands in Y.
template <class T>
Tensor conv(const KernelContext& ctx, const ConvGeometry& g) {
    constexpr int64_t kChunkBytes = int64_t{8} << 20;
    const Tensor& x = ctx.in(0);
    const Tensor& w = ctx.in(1);
    // Every element is written: by the product directly, or by the scatter of a chunk's.
    Tensor y = Tensor::uninitialized(x.dtype(), output_shape_of(g));
    const int64_t cg = g.in_channels / g.group;
    const int64_t mg = g.out_channels / g.group;
    const int64_t ksize = sim::shape_numel(g.kernel);
    const int64_t in_size = sim::shape_numel(g.in);
    const int64_t out_size = sim::shape_numel(g.out);
    if (g.batch == 0 || out_size == 0) return y;
    const bool pointwise = is_pointwise(g);
    const int64_t image_bytes = std::max(cg * ksize, mg) * out_size * static_cast<int64_t>(sizeof(T));
    // Only a thin product is worth the gather and scatter: one image's O columns already run
    // Eigen's GEMM near its peak from about kWideColumns (measured: 196 as fast as 1960).
    constexpr int64_t kWideColumns = 192;
    const int64_t wanted = out_size >= kWideColumns ? 1 : (kWideColumns * 4 + out_size - 1) / out_size;
    const int64_t nb = std::clamp<int64_t>(std::min(wanted, kChunkBytes / std::max<int64_t>(1, image_bytes)), 1, g.batch);
    const bool direct = nb == 1;  // one image a chunk: no gather, no scatter
    // Uninitialised: every element is written before it is read.
    std::unique_ptr<T[]> col(pointwise && direct ? nullptr : new T[static_cast<std::size_t>(cg * ksize * nb * out_size)]);
    std::unique_ptr<T[]> product(direct ? nullptr : new T[static_cast<std::size_t>(mg * nb * out_size)]);
    const T* px = x.data<T>();
    const T* pw = w.data<T>();
    T* py = y.data<T>();
    for (int64_t n0 = 0; n0 < g.batch; n0 += nb) {
        const int64_t count = std::min(nb, g.batch - n0), cols = count * out_size;
        for (int64_t gi = 0; gi < g.group; ++gi) {
            const T* src = px + (n0 * g.in_channels + gi * cg) * in_size;
            const int64_t ld = direct ? out_size : cols;
            if (!(pointwise && direct)) {
                for (int64_t b = 0; b < count; ++b) {
                    const T* xg = px + ((n0 + b) * g.in_channels + gi * cg) * in_size;
                    if (pointwise) {
                        for (int64_t c = 0; c < cg; ++c)
                            std::copy(xg + c * in_size, xg + (c + 1) * in_size, col.get() + c * ld + b * out_size);
                    } else {
                        im2col(xg, cg, g, col.get() + b * out_size, ld);
                    }
                }
                src = col.get();
            }
            Eigen::Map<const sim::RowMatrix<T>> wm(pw + gi * mg * cg * ksize, mg, cg * ksize);
            Eigen::Map<const sim::RowMatrix<T>> cm(src, cg * ksize, ld);
            if (direct) {
                Eigen::Map<sim::RowMatrix<T>> ym(py + (n0 * g.out_channels + gi * mg) * out_size, mg, out_size);
                ym.noalias() = wm * cm;
                continue;
            }
            Eigen::Map<sim::RowMatrix<T>> pm(product.get(), mg, cols);
            pm.noalias() = wm * cm;
#pragma omp parallel for collapse(2) schedule(static)
            for (int64_t b = 0; b < count; ++b)
                for (int64_t m = 0; m < mg; ++m) {
                    const T* from = product.get() + m * cols + b * out_size;
                    std::copy(from, from + out_size, py + ((n0 + b) * g.out_channels + gi * mg + m) * out_size);
                }
        }
    }
    add_bias<T>(ctx, g.out_channels, g, y);
    return y;
}

// col = W_g^T (M_g*K x C_g) * X[n, group c-block] (C_g x I), then every col[(m, k), i] is
// added to Y[n, m, o] with o = i * stride - pad_begin + k * dilation (when inside Y).
template <class T>
Tensor conv_transpose(const KernelContext& ctx, const ConvGeometry& g) {
    const Tensor& x = ctx.in(0);
    const Tensor& w = ctx.in(1);
    Tensor y(x.dtype(), output_shape_of(g));
    const int64_t cg = g.in_channels / g.group;
    const int64_t mg = g.out_channels / g.group;
    const int64_t ksize = sim::shape_numel(g.kernel);
    const int64_t in_size = sim::shape_numel(g.in);
    const int64_t out_size = sim::shape_numel(g.out);
    sim::RowMatrix<T> col(mg * ksize, in_size);
    // The scatter is the im2col walk with input and output swapped: walk the taps over the
    // input grid (as "outputs") and find the output position each one lands on.
    ConvGeometry scatter = g;
    scatter.in = g.out;
    scatter.out = g.in;
    const T* px = x.data<T>();
    const T* pw = w.data<T>();
    T* py = y.data<T>();
    for (int64_t n = 0; n < g.batch; ++n) {
        for (int64_t gi = 0; gi < g.group; ++gi) {
            Eigen::Map<const sim::RowMatrix<T>> wm(pw + gi * cg * mg * ksize, cg, mg * ksize);
            Eigen::Map<const sim::RowMatrix<T>> xm(px + (n * g.in_channels + gi * cg) * in_size, cg,
                                                   in_size);
            col.noalias() = wm.transpose() * xm;
            T* yg = py + (n * g.out_channels + gi * mg) * out_size;
            // One thread per output channel: every write to a channel comes from its thread.
#pragma omp parallel for schedule(static)
            for (int64_t m = 0; m < mg; ++m) {
                for (int64_t k = 0; k < ksize; ++k) {
                    const T* src = col.data() + (m * ksize + k) * in_size;
                    T* dst = yg + m * out_size;
                    for_each_tap(scatter, unflatten(k, g.kernel), [&](int64_t i, int64_t o) {
                        if (o >= 0) dst[o] += src[i];
                    });
                }
            }
        }
    }
    add_bias<T>(ctx, g.out_channels, g, y);
    return y;
}

void infer_conv(InferContext& ctx) {
    const ConvGeometry g = conv_geometry(ctx.node, ctx.in(0).shape, ctx.in(1).shape);
    ctx.set_output(0, ctx.in(0).dtype, output_shape_of(g));
}

void infer_conv_transpose(InferContext& ctx) {
    const ConvGeometry g = conv_transpose_geometry(ctx.node, ctx.in(0).shape, ctx.in(1).shape);
    ctx.set_output(0, ctx.in(0).dtype, output_shape_of(g));
}

std::vector<Tensor> compute_conv(const KernelContext& ctx) {
    check_float_inputs(ctx);
    const ConvGeometry g = conv_geometry(ctx.node, ctx.in(0).shape(), ctx.in(1).shape());
    Tensor y;
    dispatch_float(ctx.in(0).dtype(), ctx.node, [&](auto tag) { y = conv<decltype(tag)>(ctx, g); });
    return {y};
}

std::vector<Tensor> compute_conv_transpose(const KernelContext& ctx) {
    check_float_inputs(ctx);
    const ConvGeometry g = conv_transpose_geometry(ctx.node, ctx.in(0).shape(), ctx.in(1).shape());
    Tensor y;
    dispatch_float(ctx.in(0).dtype(), ctx.node,
                   [&](auto tag) { y = conv_transpose<decltype(tag)>(ctx, g); });
    return {y};
}

XPUSIM_REGISTER_OP("Conv", OpKernel{infer_conv, compute_conv});
XPUSIM_REGISTER_OP("ConvTranspose", OpKernel{infer_conv_transpose, compute_conv_transpose});

}  // namespace
}  // namespace xpusim::frontend::ops
