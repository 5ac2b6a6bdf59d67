// Element-wise math beyond elementwise.cpp: the trigonometric and hyperbolic functions and their
// inverses (Sin and Cos live in elementwise.cpp), Shrink and BitShift; and Det, the determinant
// of each trailing square matrix.
#include <cmath>
#include <utility>
#include <vector>

#include "frontends/onnx/ops/op_utils.h"

namespace xpusim::frontend::ops {
namespace {

// A unary op on float types: y = f(x) element-wise (fp16 arrives widened to fp32).
template <class F>
OpKernel float_math(F f) {
    return OpKernel{infer_same_as_input0, [f](const KernelContext& ctx) {
                        const Tensor& x = ctx.in(0);
                        Tensor y(x.dtype(), x.shape());
                        dispatch_float(x.dtype(), ctx.node, [&](auto tag) {
                            using T = decltype(tag);
                            const T* in = x.data<T>();
                            T* out = y.data<T>();
                            for (int64_t i = 0; i < x.numel(); ++i) out[i] = f(in[i]);
                        });
                        return std::vector<Tensor>{y};
                    }};
}

XPUSIM_REGISTER_OP("Tan", float_math([](auto v) { return std::tan(v); }));
XPUSIM_REGISTER_OP("Asin", float_math([](auto v) { return std::asin(v); }));
XPUSIM_REGISTER_OP("Acos", float_math([](auto v) { return std::acos(v); }));
XPUSIM_REGISTER_OP("Atan", float_math([](auto v) { return std::atan(v); }));
XPUSIM_REGISTER_OP("Sinh", float_math([](auto v) { return std::sinh(v); }));
XPUSIM_REGISTER_OP("Cosh", float_math([](auto v) { return std::cosh(v); }));
XPUSIM_REGISTER_OP("Asinh", float_math([](auto v) { return std::asinh(v); }));
XPUSIM_REGISTER_OP("Acosh", float_math([](auto v) { return std::acosh(v); }));
XPUSIM_REGISTER_OP("Atanh", float_math([](auto v) { return std::atanh(v); }));

// Shrink: y = x + bias where x < -lambd, x - bias where x > lambd, else 0, for every numeric
// type. The arithmetic is in double; integer results truncate toward zero and saturate.
std::vector<Tensor> compute_shrink(const KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    const double lambd = ctx.node.attr_float("lambd", 0.5);
    const double bias = ctx.node.attr_float("bias", 0.0);
    Tensor y(x.dtype(), x.shape());
    dispatch_numeric(x.dtype(), ctx.node, [&](auto tag) {
        using T = decltype(tag);
        if constexpr (std::is_same_v<T, bool>) {
            ctx.fail("boolean input is not allowed");
        } else {
            const T* in = x.data<T>();
            T* out = y.data<T>();
            for (int64_t i = 0; i < x.numel(); ++i) {
                const double v = static_cast<double>(in[i]);
                out[i] = v < -lambd  ? from_double<T>(v + bias)
                         : v > lambd ? from_double<T>(v - bias)
                                     : T(0);
            }
        }
    });
    return {y};
}

XPUSIM_REGISTER_OP("Shrink", OpKernel{infer_same_as_input0, compute_shrink});

// BitShift on unsigned integers with numpy broadcasting; 'direction' (required) is LEFT or
// RIGHT. A shift by the type's width or more moves every bit out and gives 0 (C++ leaves it
// undefined).
template <class T>
T shift(T x, T s, bool left) {
    if (s >= static_cast<T>(sizeof(T) * 8)) return T(0);
    return static_cast<T>(left ? x << s : x >> s);
}

std::vector<Tensor> compute_bitshift(const KernelContext& ctx) {
    const std::string dir = ctx.node.attr_string("direction", "");
    if (dir != "LEFT" && dir != "RIGHT")
        ctx.fail("direction must be LEFT or RIGHT, got '" + dir + "'");
    const bool left = dir == "LEFT";
    const Tensor& a = ctx.in(0);
    const Tensor& b = ctx.in(1);
    if (a.dtype() != b.dtype())
        ctx.fail("inputs have different element types (" + describe_tensor(a) + " and " +
                 describe_tensor(b) + ")");
    const Shape shape = broadcast_shapes(a.shape(), b.shape(), ctx.node);
    Tensor y(a.dtype(), shape);
    const auto oa = broadcast_offsets(a.shape(), shape);
    const auto ob = broadcast_offsets(b.shape(), shape);
    dispatch_numeric(a.dtype(), ctx.node, [&](auto tag) {
        using T = decltype(tag);
        if constexpr (!std::is_unsigned_v<T> || std::is_same_v<T, bool>) {
            ctx.fail("BitShift needs unsigned integer inputs, got " + describe_tensor(a));
        } else {
            const T* pa = a.data<T>();
            const T* pb = b.data<T>();
            T* out = y.data<T>();
            for (int64_t i = 0; i < y.numel(); ++i) out[i] = shift(pa[oa[i]], pb[ob[i]], left);
        }
    });
    return {y};
}

XPUSIM_REGISTER_OP("BitShift", OpKernel{infer_broadcast, compute_bitshift});

// ---- Det ----------------------------------------------------------------------------------------

// Det: input [*, M, M], output [*].
Shape det_shape(const Node& node, const Shape& x) {
    if (x.size() < 2 || x[x.size() - 1] != x[x.size() - 2])
        fail(node, "input must be [*, M, M] (square matrices), got " + sim::shape_str(x));
    return Shape(x.begin(), x.end() - 2);
}

// The determinant of the m x m row-major matrix `a` by Gaussian elimination with partial
// pivoting, in double: the product of the pivots, negated once per row swap. An empty matrix
// has determinant 1.
double determinant(std::vector<double> a, int64_t m) {
    double det = 1.0;
    for (int64_t k = 0; k < m; ++k) {
        int64_t p = k;
        for (int64_t r = k + 1; r < m; ++r)
            if (std::abs(a[r * m + k]) > std::abs(a[p * m + k])) p = r;
        if (a[p * m + k] == 0.0) return 0.0;
        if (p != k) {
            for (int64_t c = 0; c < m; ++c) std::swap(a[k * m + c], a[p * m + c]);
            det = -det;
        }
        const double pivot = a[k * m + k];
        det *= pivot;
        for (int64_t r = k + 1; r < m; ++r) {
            const double f = a[r * m + k] / pivot;
            for (int64_t c = k + 1; c < m; ++c) a[r * m + c] -= f * a[k * m + c];
        }
    }
    return det;
}

void infer_det(InferContext& ctx) {
    const InferInput& x = ctx.in(0);
    ctx.set_output(0, x.dtype, det_shape(ctx.node, x.shape));
}

std::vector<Tensor> compute_det(const KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    Tensor y(x.dtype(), det_shape(ctx.node, x.shape()));
    const int64_t m = x.shape().back();
    dispatch_float(x.dtype(), ctx.node, [&](auto tag) {
        using T = decltype(tag);
        const T* in = x.data<T>();
        T* out = y.data<T>();
        std::vector<double> a(static_cast<std::size_t>(m * m));
        for (int64_t b = 0; b < y.numel(); ++b) {
            for (int64_t i = 0; i < m * m; ++i) a[i] = static_cast<double>(in[b * m * m + i]);
            out[b] = static_cast<T>(determinant(a, m));
        }
    });
    return {y};
}

XPUSIM_REGISTER_OP("Det", OpKernel{infer_det, compute_det});

}  // namespace
}  // namespace xpusim::frontend::ops
