// Element-wise operators: unary math and activations, binary arithmetic and comparisons with
// numpy broadcasting, and the variadic Max/Min/Sum/Mean.
#include <cmath>
#include <cstring>
#include <exception>
#include <limits>

#include "frontends/onnx/ops/op_utils.h"

namespace xpusim::frontend::ops {
namespace {

// ---- unary -----------------------------------------------------------------------------------

// f(i) for every i < n, a large loop on all cores. An exception from f (integer division by
// zero, say) must not leave an OpenMP region: the first caught is rethrown after the loop.
template <class F>
void for_each_element(int64_t n, F&& f) {
    constexpr int64_t kParallelMin = int64_t{1} << 16;
    if (n < kParallelMin) {
        for (int64_t i = 0; i < n; ++i) f(i);
        return;
    }
    std::exception_ptr error;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) {
        try {
            f(i);
        } catch (...) {
#pragma omp critical(xpusim_element_error)
            if (!error) error = std::current_exception();
        }
    }
    if (error) std::rethrow_exception(error);
}

// Applies f to every element; T is the input and output type.
template <class T, class F>
Tensor map_unary(const Tensor& x, F f) {
    Tensor y = Tensor::uninitialized(x.dtype(), x.shape());  // every element is written
    const T* in = x.data<T>();
    T* out = y.data<T>();
    for_each_element(x.numel(), [&](int64_t i) { out[i] = f(in[i]); });
    return y;
}

// A unary op defined for float types only: f(double-or-float value, node) -> value.
template <class F>
OpKernel float_unary(F f) {
    return OpKernel{infer_same_as_input0, [f](const KernelContext& ctx) {
                        const Tensor& x = ctx.in(0);
                        Tensor y;
                        dispatch_float(x.dtype(), ctx.node, [&](auto tag) {
                            using T = decltype(tag);
                            y = map_unary<T>(x,
                                             [&](T v) { return static_cast<T>(f(v, ctx.node)); });
                        });
                        return std::vector<Tensor>{y};
                    }};
}

// A unary op defined for every numeric type.
template <class F>
OpKernel numeric_unary(F f) {
    return OpKernel{infer_same_as_input0, [f](const KernelContext& ctx) {
                        const Tensor& x = ctx.in(0);
                        Tensor y;
                        dispatch_numeric(x.dtype(), ctx.node, [&](auto tag) {
                            using T = decltype(tag);
                            if constexpr (std::is_same_v<T, bool>)
                                ctx.fail("boolean input is not allowed");
                            else
                                y = map_unary<T>(x, [&](T v) { return static_cast<T>(f(v)); });
                        });
                        return std::vector<Tensor>{y};
                    }};
}

template <class T>
T sigmoid(T v) {
    // Split by sign so exp never overflows.
    if (v >= 0) return T(1) / (T(1) + std::exp(-v));
    const T e = std::exp(v);
    return e / (T(1) + e);
}

XPUSIM_REGISTER_OP("Sqrt", float_unary([](auto v, const Node&) { return std::sqrt(v); }));
XPUSIM_REGISTER_OP("Exp", float_unary([](auto v, const Node&) { return std::exp(v); }));
XPUSIM_REGISTER_OP("Log", float_unary([](auto v, const Node&) { return std::log(v); }));
XPUSIM_REGISTER_OP("Erf", float_unary([](auto v, const Node&) { return std::erf(v); }));
XPUSIM_REGISTER_OP("Tanh", float_unary([](auto v, const Node&) { return std::tanh(v); }));
XPUSIM_REGISTER_OP("Cos", float_unary([](auto v, const Node&) { return std::cos(v); }));
XPUSIM_REGISTER_OP("Sin", float_unary([](auto v, const Node&) { return std::sin(v); }));
XPUSIM_REGISTER_OP("Floor", float_unary([](auto v, const Node&) { return std::floor(v); }));
XPUSIM_REGISTER_OP("Ceil", float_unary([](auto v, const Node&) { return std::ceil(v); }));
XPUSIM_REGISTER_OP("Round", float_unary([](auto v, const Node&) { return std::nearbyint(v); }));
XPUSIM_REGISTER_OP("Reciprocal",
                   float_unary([](auto v, const Node&) { return decltype(v)(1) / v; }));
XPUSIM_REGISTER_OP("Sigmoid", float_unary([](auto v, const Node&) { return sigmoid(v); }));
XPUSIM_REGISTER_OP("Softplus", float_unary([](auto v, const Node&) {
                       // log(1 + e^v), written to stay finite for large |v|
                       return v > 0 ? v + std::log1p(std::exp(-v)) : std::log1p(std::exp(v));
                   }));
XPUSIM_REGISTER_OP("Softsign", float_unary([](auto v, const Node&) {
                       return v / (decltype(v)(1) + std::abs(v));
                   }));
XPUSIM_REGISTER_OP("LeakyRelu", float_unary([](auto v, const Node& n) {
                       const auto alpha = static_cast<decltype(v)>(n.attr_float("alpha", 0.01));
                       return v < 0 ? alpha * v : v;
                   }));
XPUSIM_REGISTER_OP("Elu", float_unary([](auto v, const Node& n) {
                       const auto alpha = static_cast<decltype(v)>(n.attr_float("alpha", 1.0));
                       return v < 0 ? alpha * (std::exp(v) - 1) : v;
                   }));
XPUSIM_REGISTER_OP("Selu", float_unary([](auto v, const Node& n) {
                       using T = decltype(v);
                       const T alpha =
                           static_cast<T>(n.attr_float("alpha", 1.67326319217681884765625));
                       const T gamma =
                           static_cast<T>(n.attr_float("gamma", 1.05070102214813232421875));
                       return v <= 0 ? gamma * (alpha * std::exp(v) - alpha) : gamma * v;
                   }));
XPUSIM_REGISTER_OP("HardSigmoid", float_unary([](auto v, const Node& n) {
                       using T = decltype(v);
                       const T alpha = static_cast<T>(n.attr_float("alpha", 0.2));
                       const T beta = static_cast<T>(n.attr_float("beta", 0.5));
                       return std::max(T(0), std::min(T(1), alpha * v + beta));
                   }));
XPUSIM_REGISTER_OP("HardSwish", float_unary([](auto v, const Node&) {
                       using T = decltype(v);
                       return v * std::max(T(0), std::min(T(1), v / T(6) + T(0.5)));
                   }));
XPUSIM_REGISTER_OP("ThresholdedRelu", float_unary([](auto v, const Node& n) {
                       const auto alpha = static_cast<decltype(v)>(n.attr_float("alpha", 1.0));
                       return v > alpha ? v : decltype(v)(0);
                   }));
XPUSIM_REGISTER_OP("Celu", float_unary([](auto v, const Node& n) {
                       using T = decltype(v);
                       const T alpha = static_cast<T>(n.attr_float("alpha", 1.0));
                       return std::max(T(0), v) + std::min(T(0), alpha * (std::exp(v / alpha) - 1));
                   }));

XPUSIM_REGISTER_OP("Neg", numeric_unary([](auto v) { return -v; }));
XPUSIM_REGISTER_OP("Abs", numeric_unary([](auto v) {
                       if constexpr (std::is_unsigned_v<decltype(v)>)
                           return v;
                       else
                           return v < 0 ? -v : v;
                   }));
XPUSIM_REGISTER_OP("Relu", numeric_unary([](auto v) { return v < 0 ? decltype(v)(0) : v; }));
XPUSIM_REGISTER_OP("Sign", numeric_unary([](auto v) {
                       using T = decltype(v);
                       return v > T(0) ? T(1) : (v < T(0) ? static_cast<T>(-1) : T(0));
                   }));
XPUSIM_REGISTER_OP("Identity",
                   OpKernel{infer_same_as_input0,
                            [](const KernelContext& ctx) { return std::vector<Tensor>{ctx.in(0)}; },
                            /*widen_half=*/false});

// Clip: bounds from attributes (opset < 11) or optional inputs 1 and 2 (opset >= 11).
XPUSIM_REGISTER_OP("Clip",
                   OpKernel{
                       infer_same_as_input0, [](const KernelContext& ctx) {
                           const Tensor& x = ctx.in(0);
                           Tensor y;
                           dispatch_numeric(x.dtype(), ctx.node, [&](auto tag) {
                               using T = decltype(tag);
                               T lo = std::numeric_limits<T>::lowest();
                               T hi = std::numeric_limits<T>::max();
                               if (ctx.opset < 11) {
                                   lo = static_cast<T>(ctx.node.attr_float("min", -3.402823e38));
                                   hi = static_cast<T>(ctx.node.attr_float("max", 3.402823e38));
                               } else {
                                   if (ctx.has(1)) lo = ctx.in(1).data<T>()[0];
                                   if (ctx.has(2)) hi = ctx.in(2).data<T>()[0];
                               }
                               y = map_unary<T>(
                                   x, [&](T v) { return v < lo ? lo : (v > hi ? hi : v); });
                           });
                           return std::vector<Tensor>{y};
                       }});

template <class Pred>
OpKernel float_predicate(Pred pred) {
    return OpKernel{[](InferContext& ctx) { ctx.set_output(0, DType::Bool, ctx.in(0).shape); },
                    [pred](const KernelContext& ctx) {
                        const Tensor& x = ctx.in(0);
                        Tensor y(DType::Bool, x.shape());
                        bool* out = y.data<bool>();
                        dispatch_float(x.dtype(), ctx.node, [&](auto tag) {
                            using T = decltype(tag);
                            const T* in = x.data<T>();
                            for (int64_t i = 0; i < x.numel(); ++i) out[i] = pred(in[i], ctx.node);
                        });
                        return std::vector<Tensor>{y};
                    }};
}

XPUSIM_REGISTER_OP("IsNaN", float_predicate([](auto v, const Node&) { return std::isnan(v); }));
XPUSIM_REGISTER_OP("IsInf", float_predicate([](auto v, const Node& n) {
                       const bool pos = n.attr_int("detect_positive", 1) != 0;
                       const bool neg = n.attr_int("detect_negative", 1) != 0;
                       return std::isinf(v) && ((v > 0 && pos) || (v < 0 && neg));
                   }));

XPUSIM_REGISTER_OP("Not", OpKernel{infer_same_as_input0, [](const KernelContext& ctx) {
                                       const Tensor& x = ctx.in(0);
                                       if (x.dtype() != DType::Bool)
                                           ctx.fail("Not needs bool input");
                                       return std::vector<Tensor>{
                                           map_unary<bool>(x, [](bool v) { return !v; })};
                                   }});

// ---- binary with broadcasting ------------------------------------------------------------------

// out[i] = f(a[ia], b[ib]) over the broadcast shape. Same-shape inputs skip the offset tables.
template <class T, class R, class F>
Tensor broadcast_binary(const Tensor& a, const Tensor& b, DType out_type, const Node& node, F f) {
    const Shape shape = broadcast_shapes(a.shape(), b.shape(), node);
    Tensor y = Tensor::uninitialized(out_type, shape);  // every element is written
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    R* out = y.data<R>();
    const int64_t n = y.numel();
    if (a.shape() == shape && b.shape() == shape) {
        for_each_element(n, [&](int64_t i) { out[i] = f(pa[i], pb[i]); });
    } else if (a.shape() == shape && b.numel() == 1) {
        const T s = pb[0];
        for_each_element(n, [&](int64_t i) { out[i] = f(pa[i], s); });
    } else {
        const auto oa = broadcast_offsets(a.shape(), shape);
        const auto ob = broadcast_offsets(b.shape(), shape);
        for_each_element(n, [&](int64_t i) { out[i] = f(pa[oa[i]], pb[ob[i]]); });
    }
    return y;
}

void check_same_type(const KernelContext& ctx) {
    for (std::size_t i = 1; i < ctx.inputs.size(); ++i)
        if (ctx.has(i) && ctx.in(i).dtype() != ctx.in(0).dtype())
            ctx.fail("inputs have different element types (" + describe_tensor(ctx.in(0)) +
                     " and " + describe_tensor(ctx.in(i)) + ")");
}

// f(ctx, a, b) per element pair; ctx names the node when an element is out of the op's domain.
template <class F>
OpKernel arithmetic(F f) {
    return OpKernel{infer_broadcast, [f](const KernelContext& ctx) {
                        check_same_type(ctx);
                        const Tensor& a = ctx.in(0);
                        Tensor y;
                        dispatch_numeric(a.dtype(), ctx.node, [&](auto tag) {
                            using T = decltype(tag);
                            if constexpr (std::is_same_v<T, bool>)
                                ctx.fail("boolean inputs are not allowed");
                            else
                                y = broadcast_binary<T, T>(a, ctx.in(1), a.dtype(), ctx.node,
                                                           [&](T x, T z) { return f(ctx, x, z); });
                        });
                        return std::vector<Tensor>{y};
                    }};
}

// Integer a / b, truncated toward zero as C and ONNX Runtime do. The one quotient that does not
// fit, MIN / -1, wraps to MIN (as numpy gives) instead of trapping.
template <class T>
T integer_div(const KernelContext& ctx, T a, T b) {
    if (b == 0) ctx.fail("integer division by zero");
    if constexpr (std::is_signed_v<T>)
        if (b == -1) return static_cast<T>(0 - static_cast<std::make_unsigned_t<T>>(a));
    return static_cast<T>(a / b);
}

XPUSIM_REGISTER_OP("Add", arithmetic([](const KernelContext&, auto a, auto b) {
                       return static_cast<decltype(a)>(a + b);
                   }));
XPUSIM_REGISTER_OP("Sub", arithmetic([](const KernelContext&, auto a, auto b) {
                       return static_cast<decltype(a)>(a - b);
                   }));
XPUSIM_REGISTER_OP("Mul", arithmetic([](const KernelContext&, auto a, auto b) {
                       return static_cast<decltype(a)>(a * b);
                   }));
XPUSIM_REGISTER_OP("Div", arithmetic([](const KernelContext& ctx, auto a, auto b) {
                       if constexpr (std::is_integral_v<decltype(a)>)
                           return integer_div(ctx, a, b);
                       else
                           return a / b;
                   }));

// Mod: fmod=0 is Python's sign-of-divisor modulus (integers only); fmod=1 is C's fmod.
XPUSIM_REGISTER_OP("Mod",
                   OpKernel{infer_broadcast, [](const KernelContext& ctx) {
                                check_same_type(ctx);
                                const bool use_fmod = ctx.node.attr_int("fmod", 0) != 0;
                                const Tensor& a = ctx.in(0);
                                Tensor y;
                                dispatch_numeric(a.dtype(), ctx.node, [&](auto tag) {
                                    using T = decltype(tag);
                                    if constexpr (std::is_same_v<T, bool>) {
                                        ctx.fail("boolean inputs are not allowed");
                                    } else {
                                        y = broadcast_binary<T, T>(
                                            a, ctx.in(1), a.dtype(), ctx.node, [&](T x, T m) -> T {
                                                if constexpr (std::is_floating_point_v<T>) {
                                                    if (!use_fmod)
                                                        ctx.fail(
                                                            "fmod=0 is only defined for integers");
                                                    return std::fmod(x, m);
                                                } else {
                                                    if (m == 0) ctx.fail("integer modulus by zero");
                                                    // x % -1 is 0; MIN % -1 would trap.
                                                    if constexpr (std::is_signed_v<T>)
                                                        if (m == -1) return T(0);
                                                    T r = static_cast<T>(x % m);
                                                    if (!use_fmod && r != 0 && ((r < 0) != (m < 0)))
                                                        r = static_cast<T>(r + m);
                                                    return r;
                                                }
                                            });
                                    }
                                });
                                return std::vector<Tensor>{y};
                            }});

// Pow: the exponent may have another type than the base (opset 12+); the result has the base's.
XPUSIM_REGISTER_OP("Pow", OpKernel{infer_broadcast, [](const KernelContext& ctx) {
                                       const Tensor& a = ctx.in(0);
                                       const Tensor b = ctx.in(1).dtype() == a.dtype()
                                                            ? ctx.in(1)
                                                            : ctx.in(1).cast(DType::Float64);
                                       const Shape shape =
                                           broadcast_shapes(a.shape(), b.shape(), ctx.node);
                                       Tensor y(a.dtype(), shape);
                                       const auto oa = broadcast_offsets(a.shape(), shape);
                                       const auto ob = broadcast_offsets(b.shape(), shape);
                                       dispatch_numeric(a.dtype(), ctx.node, [&](auto tag) {
                                           using T = decltype(tag);
                                           if constexpr (std::is_same_v<T, bool>) {
                                               ctx.fail("boolean inputs are not allowed");
                                           } else {
                                               const T* pa = a.data<T>();
                                               T* out = y.data<T>();
                                               for (int64_t i = 0; i < y.numel(); ++i) {
                                                   const double e = b.get_as_double(ob[i]);
                                                   out[i] = static_cast<T>(
                                                       std::pow(static_cast<double>(pa[oa[i]]), e));
                                               }
                                           }
                                       });
                                       return std::vector<Tensor>{y};
                                   }});

template <class F>
OpKernel comparison(F f) {
    return OpKernel{infer_broadcast_bool_out, [f](const KernelContext& ctx) {
                        check_same_type(ctx);
                        const Tensor& a = ctx.in(0);
                        Tensor y;
                        dispatch_numeric(a.dtype(), ctx.node, [&](auto tag) {
                            using T = decltype(tag);
                            y = broadcast_binary<T, bool>(a, ctx.in(1), DType::Bool, ctx.node,
                                                          [&](T x, T z) { return f(x, z); });
                        });
                        return std::vector<Tensor>{y};
                    }};
}

XPUSIM_REGISTER_OP("Equal", comparison([](auto a, auto b) { return a == b; }));
XPUSIM_REGISTER_OP("Less", comparison([](auto a, auto b) { return a < b; }));
XPUSIM_REGISTER_OP("Greater", comparison([](auto a, auto b) { return a > b; }));
XPUSIM_REGISTER_OP("LessOrEqual", comparison([](auto a, auto b) { return a <= b; }));
XPUSIM_REGISTER_OP("GreaterOrEqual", comparison([](auto a, auto b) { return a >= b; }));

template <class F>
OpKernel logical(F f) {
    return OpKernel{infer_broadcast_bool_out, [f](const KernelContext& ctx) {
                        if (ctx.in(0).dtype() != DType::Bool || ctx.in(1).dtype() != DType::Bool)
                            ctx.fail("logical ops need bool inputs");
                        return std::vector<Tensor>{broadcast_binary<bool, bool>(
                            ctx.in(0), ctx.in(1), DType::Bool, ctx.node, f)};
                    }};
}

XPUSIM_REGISTER_OP("And", logical([](bool a, bool b) { return a && b; }));
XPUSIM_REGISTER_OP("Or", logical([](bool a, bool b) { return a || b; }));
XPUSIM_REGISTER_OP("Xor", logical([](bool a, bool b) { return a != b; }));

// Max/Min/Sum/Mean: any number of inputs, folded pairwise with broadcasting. NaN propagates
// through Max/Min as in ONNX Runtime.
template <class F>
OpKernel variadic(F f, bool mean) {
    return OpKernel{infer_broadcast, [f, mean](const KernelContext& ctx) {
                        check_same_type(ctx);
                        Tensor acc = ctx.in(0);
                        dispatch_numeric(acc.dtype(), ctx.node, [&](auto tag) {
                            using T = decltype(tag);
                            if constexpr (std::is_same_v<T, bool>) {
                                ctx.fail("boolean inputs are not allowed");
                            } else {
                                for (std::size_t i = 1; i < ctx.inputs.size(); ++i)
                                    acc = broadcast_binary<T, T>(acc, ctx.in(i), acc.dtype(),
                                                                 ctx.node,
                                                                 [&](T x, T z) { return f(x, z); });
                                if (ctx.inputs.size() == 1) acc = acc.clone();
                                if (mean) {
                                    T* p = acc.data<T>();
                                    const T n = static_cast<T>(ctx.inputs.size());
                                    for (int64_t k = 0; k < acc.numel(); ++k)
                                        p[k] = static_cast<T>(p[k] / n);
                                }
                            }
                        });
                        return std::vector<Tensor>{acc};
                    }};
}

template <class T>
T nan_max(T a, T b) {
    if constexpr (std::is_floating_point_v<T>)
        if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();
    return a > b ? a : b;
}
template <class T>
T nan_min(T a, T b) {
    if constexpr (std::is_floating_point_v<T>)
        if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();
    return a < b ? a : b;
}

XPUSIM_REGISTER_OP("Max", variadic([](auto a, auto b) { return nan_max(a, b); }, false));
XPUSIM_REGISTER_OP("Min", variadic([](auto a, auto b) { return nan_min(a, b); }, false));
XPUSIM_REGISTER_OP("Sum",
                   variadic([](auto a, auto b) { return static_cast<decltype(a)>(a + b); }, false));
XPUSIM_REGISTER_OP("Mean",
                   variadic([](auto a, auto b) { return static_cast<decltype(a)>(a + b); }, true));

// PRelu: y = x < 0 ? slope * x : x, with slope broadcast to x (unidirectionally).
XPUSIM_REGISTER_OP("PRelu", OpKernel{infer_same_as_input0, [](const KernelContext& ctx) {
                                         const Tensor& x = ctx.in(0);
                                         Tensor slope = ctx.in(1);
                                         // Before opset 7 a 1-D slope of size C applies per channel
                                         // (axis 1), not numpy-style.
                                         if (ctx.opset < 7 && slope.rank() == 1 && x.rank() >= 2 &&
                                             slope.numel() == x.dim(1) &&
                                             slope.numel() != x.dim(-1)) {
                                             Shape s(static_cast<std::size_t>(x.rank() - 1), 1);
                                             s[0] = slope.numel();
                                             slope = slope.reshaped(s);
                                         }
                                         Tensor y;
                                         dispatch_numeric(x.dtype(), ctx.node, [&](auto tag) {
                                             using T = decltype(tag);
                                             y = broadcast_binary<T, T>(
                                                 x, slope, x.dtype(), ctx.node, [](T x, T s) {
                                                     return x < T(0) ? static_cast<T>(s * x) : x;
                                                 });
                                         });
                                         return std::vector<Tensor>{y};
                                     }});

// Where(cond, x, y): three-way broadcast.
XPUSIM_REGISTER_OP("Where", OpKernel{[](InferContext& ctx) {
                                         infer_broadcast(ctx);
                                         ctx.output_dtypes[0] = ctx.in(1).dtype;
                                     },
                                     [](const KernelContext& ctx) {
                                         const Tensor& c = ctx.in(0);
                                         const Tensor& a = ctx.in(1);
                                         const Tensor& b = ctx.in(2);
                                         if (c.dtype() != DType::Bool)
                                             ctx.fail("condition must be bool");
                                         const Shape shape = broadcast_shapes(
                                             broadcast_shapes(c.shape(), a.shape(), ctx.node),
                                             b.shape(), ctx.node);
                                         Tensor y(a.dtype(), shape);
                                         const auto oc = broadcast_offsets(c.shape(), shape);
                                         const auto oa = broadcast_offsets(a.shape(), shape);
                                         const auto ob = broadcast_offsets(b.shape(), shape);
                                         const std::size_t es = sim::dtype_size(a.dtype());
                                         const bool* pc = c.data<bool>();
                                         const auto* pa = static_cast<const uint8_t*>(a.raw());
                                         const auto* pb = static_cast<const uint8_t*>(b.raw());
                                         auto* out = static_cast<uint8_t*>(y.raw());
                                         for (int64_t i = 0; i < y.numel(); ++i) {
                                             const uint8_t* src =
                                                 pc[oc[i]] ? pa + oa[i] * es : pb + ob[i] * es;
                                             std::memcpy(out + i * es, src, es);
                                         }
                                         return std::vector<Tensor>{y};
                                     },
                                     /*widen_half=*/false});

}  // namespace
}  // namespace xpusim::frontend::ops
