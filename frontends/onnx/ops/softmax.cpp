// Softmax, LogSoftmax and Hardmax. Before opset 13 the input is coerced to 2-D at 'axis'
// (default 1) and the op runs over each row of prod(shape[axis:]) elements; from opset 13 it
// runs along the single axis 'axis' (default -1).
#include <algorithm>
#include <cmath>
#include <limits>

#include "frontends/onnx/ops/op_utils.h"

namespace xpusim::frontend::ops {
namespace {

// The input as [outer, n, inner]: the op runs over n elements spaced `inner` apart.
struct SoftmaxLayout {
    int64_t outer = 1;
    int64_t n = 1;
    int64_t inner = 1;
};

SoftmaxLayout make_layout(const KernelContext& ctx, const Shape& shape) {
    const int64_t rank = static_cast<int64_t>(shape.size());
    const bool coerce_2d = ctx.opset < 13;
    const int64_t axis =
        normalize_axis(ctx.node.attr_int("axis", coerce_2d ? 1 : -1), rank, ctx.node);
    SoftmaxLayout l;
    if (rank == 0) return l;
    for (int64_t d = 0; d < axis; ++d) l.outer *= shape[d];
    if (coerce_2d) {
        for (int64_t d = axis; d < rank; ++d) l.n *= shape[d];
    } else {
        l.n = shape[axis];
        for (int64_t d = axis + 1; d < rank; ++d) l.inner *= shape[d];
    }
    return l;
}

enum class SoftmaxKind { Softmax, LogSoftmax };

// y = exp(x - m) / sum(exp(x - m)) or (x - m) - log(sum(exp(x - m))), m = max(x) along the
// axis (subtracting it keeps exp in range). exp runs in T; the sum accumulates in double.
template <class T>
void softmax_typed(SoftmaxKind kind, const T* x, T* y, const SoftmaxLayout& l) {
    std::vector<T> m(static_cast<std::size_t>(l.inner));
    std::vector<double> sum(static_cast<std::size_t>(l.inner));
    for (int64_t o = 0; o < l.outer; ++o) {
        const T* xo = x + o * l.n * l.inner;
        T* yo = y + o * l.n * l.inner;
        std::fill(m.begin(), m.end(), -std::numeric_limits<T>::infinity());
        std::fill(sum.begin(), sum.end(), 0.0);
        for (int64_t k = 0; k < l.n; ++k)
            for (int64_t i = 0; i < l.inner; ++i) m[i] = std::max(m[i], xo[k * l.inner + i]);
        for (int64_t k = 0; k < l.n; ++k) {
            for (int64_t i = 0; i < l.inner; ++i) {
                const T e = std::exp(xo[k * l.inner + i] - m[i]);
                sum[i] += e;
                if (kind == SoftmaxKind::Softmax) yo[k * l.inner + i] = e;
            }
        }
        for (int64_t k = 0; k < l.n; ++k) {
            for (int64_t i = 0; i < l.inner; ++i) {
                T& out = yo[k * l.inner + i];
                if (kind == SoftmaxKind::Softmax)
                    out = static_cast<T>(out / sum[i]);
                else
                    out = static_cast<T>((xo[k * l.inner + i] - m[i]) - std::log(sum[i]));
            }
        }
    }
}

OpKernel softmax_kernel(SoftmaxKind kind) {
    return OpKernel{infer_same_as_input0, [kind](const KernelContext& ctx) {
                        const Tensor& x = ctx.in(0);
                        const SoftmaxLayout l = make_layout(ctx, x.shape());
                        Tensor y(x.dtype(), x.shape());
                        if (x.numel() == 0) return std::vector<Tensor>{y};
                        dispatch_float(x.dtype(), ctx.node, [&](auto tag) {
                            using T = decltype(tag);
                            softmax_typed<T>(kind, x.data<T>(), y.data<T>(), l);
                        });
                        return std::vector<Tensor>{y};
                    }};
}

XPUSIM_REGISTER_OP("Softmax", softmax_kernel(SoftmaxKind::Softmax));
XPUSIM_REGISTER_OP("LogSoftmax", softmax_kernel(SoftmaxKind::LogSoftmax));

// Hardmax: 1 at the first maximum along the axis, 0 elsewhere.
XPUSIM_REGISTER_OP("Hardmax", OpKernel{infer_same_as_input0, [](const KernelContext& ctx) {
                                           const Tensor& x = ctx.in(0);
                                           const SoftmaxLayout l = make_layout(ctx, x.shape());
                                           Tensor y(x.dtype(), x.shape());
                                           if (x.numel() == 0) return std::vector<Tensor>{y};
                                           dispatch_float(x.dtype(), ctx.node, [&](auto tag) {
                                               using T = decltype(tag);
                                               const T* px = x.data<T>();
                                               T* py = y.data<T>();
                                               for (int64_t o = 0; o < l.outer; ++o) {
                                                   for (int64_t i = 0; i < l.inner; ++i) {
                                                       const int64_t base = o * l.n * l.inner + i;
                                                       int64_t best = 0;
                                                       for (int64_t k = 1; k < l.n; ++k)
                                                           if (px[base + k * l.inner] >
                                                               px[base + best * l.inner])
                                                               best = k;
                                                       py[base + best * l.inner] = T(1);
                                                   }
                                               }
                                           });
                                           return std::vector<Tensor>{y};
                                       }});

}  // namespace
}  // namespace xpusim::frontend::ops
