// Reductions: ReduceSum/Mean/Prod/Max/Min/L1/L2/LogSum/LogSumExp/SumSquare. Axes come from the
// 'axes' attribute (ReduceSum before opset 13, the others before 18) or the optional second input
// (from then on); empty axes mean all axes unless noop_with_empty_axes=1, which returns the input.
// Float sums accumulate in double, so long sums (global average pooling) stay within float
// rounding of the exact value; integer Sum/Prod/SumSquare/L1 are exact (wrapping like the type).
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <type_traits>

#include "frontends/onnx/ops/op_utils.h"

namespace xpusim::frontend::ops {
namespace {

enum class ReduceKind { Sum, Mean, Prod, Max, Min, L1, L2, LogSum, LogSumExp, SumSquare };

struct ReduceSpec {
    bool noop = false;          // noop_with_empty_axes with empty axes: output = input
    std::vector<bool> reduced;  // per input axis
    Shape out_shape;
};

// The opset from which 'axes' is an input instead of an attribute.
int64_t axes_input_opset(const Node& node) {
    return node.op_type == "ReduceSum" ? 13 : 18;
}

// axes_tensor: the 'axes' input when given (nullptr otherwise).
ReduceSpec make_spec(const Node& node, int64_t opset, const Shape& shape,
                     const Tensor* axes_tensor) {
    const int64_t rank = static_cast<int64_t>(shape.size());
    std::vector<int64_t> axes;
    bool noop_allowed = false;
    if (opset >= axes_input_opset(node)) {
        if (node.has_attr("axes"))
            throw sim::ModelError(node.describe() +
                                  ": 'axes' is an input, not an attribute, from opset " +
                                  std::to_string(axes_input_opset(node)));
        if (axes_tensor) axes = axes_tensor->to_int64_vector();
        noop_allowed = true;
    } else {
        axes = node.attr_ints("axes");
    }
    ReduceSpec spec;
    if (axes.empty() && noop_allowed && node.attr_int("noop_with_empty_axes", 0) != 0) {
        spec.noop = true;
        spec.out_shape = shape;
        return spec;
    }
    spec.reduced.assign(shape.size(), axes.empty());
    for (int64_t a : normalize_axes(axes, rank, node)) spec.reduced[a] = true;
    const bool keepdims = node.attr_int("keepdims", 1) != 0;
    for (int64_t d = 0; d < rank; ++d) {
        if (!spec.reduced[d])
            spec.out_shape.push_back(shape[d]);
        else if (keepdims)
            spec.out_shape.push_back(1);
    }
    return spec;
}

void infer_reduce(InferContext& ctx) {
    const InferInput& x = ctx.in(0);
    const bool axes_input = ctx.opset >= axes_input_opset(ctx.node) && ctx.node.has_input(1);
    const ReduceSpec spec =
        make_spec(ctx.node, ctx.opset, x.shape, axes_input ? &ctx.constant_input(1) : nullptr);
    ctx.set_output(0, x.dtype, spec.out_shape);
}

// The input viewed as nested loops: for each kept base offset, for each reduced offset, a run
// of `lanes` contiguous elements (the trailing kept axes, when the last axis is kept). Output
// element i*lanes+l accumulates input[kept[i] + reduced[r] + l] over r.
struct ReduceLoops {
    std::vector<int64_t> kept;
    std::vector<int64_t> reduced;
    int64_t lanes = 1;
};

// Offsets of every index of the given (size, stride) axes, row-major.
std::vector<int64_t> axis_offsets(const std::vector<std::pair<int64_t, int64_t>>& axes) {
    std::vector<int64_t> offs{0};
    for (const auto& [size, stride] : axes) {
        std::vector<int64_t> next;
        next.reserve(offs.size() * static_cast<std::size_t>(size));
        for (int64_t o : offs)
            for (int64_t k = 0; k < size; ++k) next.push_back(o + k * stride);
        offs = std::move(next);
    }
    return offs;
}

ReduceLoops make_loops(const Shape& shape, const std::vector<bool>& reduced) {
    // Merge neighbouring axes of the same kind (size-1 axes are dropped) into (size, stride).
    const auto strides = sim::shape_strides(shape);
    std::vector<std::pair<int64_t, int64_t>> kept_axes;
    std::vector<std::pair<int64_t, int64_t>> red_axes;
    int last_kind = -1;  // 0 kept, 1 reduced
    for (std::size_t d = 0; d < shape.size(); ++d) {
        if (shape[d] == 1) continue;
        const int kind = reduced[d] ? 1 : 0;
        auto& list = kind ? red_axes : kept_axes;
        if (kind == last_kind) {
            // Contiguous with the previous axis of the same group: fold into it.
            list.back().first *= shape[d];
            list.back().second = strides[d];
        } else {
            list.emplace_back(shape[d], strides[d]);
        }
        last_kind = kind;
    }
    ReduceLoops loops;
    if (last_kind == 0 && kept_axes.back().second == 1) {
        loops.lanes = kept_axes.back().first;
        kept_axes.pop_back();
    }
    loops.kept = axis_offsets(kept_axes);
    loops.reduced = axis_offsets(red_axes);
    return loops;
}

// acc[o] = step(acc[o], x, o) over the reduced elements of output o; then out[o] = finish(acc[o]).
template <class T, class Acc, class Step, class Finish>
void reduce_with(const T* x, T* out, const ReduceLoops& loops, int64_t out_numel, Acc init,
                 Step step, Finish finish) {
    // Not std::vector: vector<bool> has no data().
    std::unique_ptr<Acc[]> acc(new Acc[static_cast<std::size_t>(out_numel)]);
    std::fill(acc.get(), acc.get() + out_numel, init);
    if (!loops.reduced.empty() && !loops.kept.empty()) {
        const int64_t lanes = loops.lanes;
        for (std::size_t i = 0; i < loops.kept.size(); ++i) {
            Acc* a = acc.get() + static_cast<int64_t>(i) * lanes;
            const int64_t o0 = static_cast<int64_t>(i) * lanes;
            for (int64_t r : loops.reduced) {
                const T* src = x + loops.kept[i] + r;
                for (int64_t l = 0; l < lanes; ++l) a[l] = step(a[l], src[l], o0 + l);
            }
        }
    }
    for (int64_t o = 0; o < out_numel; ++o) out[o] = finish(acc[o], o);
}

template <class T>
bool nan_aware_greater(T v, T acc) {
    if constexpr (std::is_floating_point_v<T>) {
        if (std::isnan(acc)) return false;
        if (std::isnan(v)) return true;
    }
    return v > acc;
}
template <class T>
bool nan_aware_less(T v, T acc) {
    if constexpr (std::is_floating_point_v<T>) {
        if (std::isnan(acc)) return false;
        if (std::isnan(v)) return true;
    }
    return v < acc;
}

template <class T>
void reduce_typed(ReduceKind kind, const T* x, T* out, const ReduceLoops& loops, int64_t out_numel,
                  int64_t count) {
    using Lim = std::numeric_limits<T>;
    const double n = static_cast<double>(count);
    const auto to_t = [](double v, int64_t) { return from_double<T>(v); };
    const auto same = [](T v, int64_t) { return v; };
    // Integer Sum/Prod/SumSquare/L1 wrap modulo 2^64 and then to T, which equals wrapping in T.
    const auto wrapped = [](uint64_t v, int64_t) { return static_cast<T>(v); };
    constexpr bool is_int = std::is_integral_v<T>;
    switch (kind) {
        case ReduceKind::Max: {
            // The identity of an empty max: -inf, or the lowest value of types without one.
            T init = Lim::lowest();
            if constexpr (Lim::has_infinity) init = -Lim::infinity();
            reduce_with(
                x, out, loops, out_numel, init,
                [](T a, T v, int64_t) { return nan_aware_greater(v, a) ? v : a; }, same);
            return;
        }
        case ReduceKind::Min: {
            T init = Lim::max();
            if constexpr (Lim::has_infinity) init = Lim::infinity();
            reduce_with(
                x, out, loops, out_numel, init,
                [](T a, T v, int64_t) { return nan_aware_less(v, a) ? v : a; }, same);
            return;
        }
        default:
            break;
    }
    if constexpr (std::is_same_v<T, bool>) {
        throw sim::UnsupportedError("boolean input is only allowed for ReduceMax and ReduceMin");
    } else {
        switch (kind) {
            case ReduceKind::Sum:
                if constexpr (is_int)
                    reduce_with(
                        x, out, loops, out_numel, uint64_t{0},
                        [](uint64_t a, T v, int64_t) { return a + static_cast<uint64_t>(v); },
                        wrapped);
                else
                    reduce_with(
                        x, out, loops, out_numel, 0.0, [](double a, T v, int64_t) { return a + v; },
                        to_t);
                return;
            case ReduceKind::Prod:
                if constexpr (is_int)
                    reduce_with(
                        x, out, loops, out_numel, uint64_t{1},
                        [](uint64_t a, T v, int64_t) { return a * static_cast<uint64_t>(v); },
                        wrapped);
                else
                    reduce_with(
                        x, out, loops, out_numel, 1.0, [](double a, T v, int64_t) { return a * v; },
                        to_t);
                return;
            case ReduceKind::SumSquare:
                if constexpr (is_int)
                    reduce_with(
                        x, out, loops, out_numel, uint64_t{0},
                        [](uint64_t a, T v, int64_t) {
                            return a + static_cast<uint64_t>(v) * static_cast<uint64_t>(v);
                        },
                        wrapped);
                else
                    reduce_with(
                        x, out, loops, out_numel, 0.0,
                        [](double a, T v, int64_t) { return a + double(v) * double(v); }, to_t);
                return;
            case ReduceKind::L1:
                if constexpr (is_int)
                    reduce_with(
                        x, out, loops, out_numel, uint64_t{0},
                        [](uint64_t a, T v, int64_t) {
                            const uint64_t u = static_cast<uint64_t>(v);
                            if constexpr (std::is_signed_v<T>)
                                if (v < T(0)) return a - u;
                            return a + u;
                        },
                        wrapped);
                else
                    reduce_with(
                        x, out, loops, out_numel, 0.0,
                        [](double a, T v, int64_t) { return a + std::abs(double(v)); }, to_t);
                return;
            case ReduceKind::Mean:
                // An empty mean is 0/0: NaN for floats, 0 for integers.
                reduce_with(
                    x, out, loops, out_numel, 0.0,
                    [](double a, T v, int64_t) { return a + double(v); },
                    [n](double a, int64_t) { return from_double<T>(a / n); });
                return;
            case ReduceKind::L2:
                reduce_with(
                    x, out, loops, out_numel, 0.0,
                    [](double a, T v, int64_t) { return a + double(v) * double(v); },
                    [](double a, int64_t) { return from_double<T>(std::sqrt(a)); });
                return;
            case ReduceKind::LogSum:
                reduce_with(
                    x, out, loops, out_numel, 0.0,
                    [](double a, T v, int64_t) { return a + double(v); },
                    [](double a, int64_t) { return from_double<T>(std::log(a)); });
                return;
            case ReduceKind::LogSumExp: {
                // log(sum(exp(x))) = m + log(sum(exp(x - m))) with m the maximum, so exp never
                // overflows. An infinite (or empty, -inf) maximum is the result itself.
                std::vector<double> m(static_cast<std::size_t>(out_numel));
                {
                    std::vector<T> mt(static_cast<std::size_t>(out_numel));
                    reduce_typed<T>(ReduceKind::Max, x, mt.data(), loops, out_numel, count);
                    for (int64_t o = 0; o < out_numel; ++o) m[o] = static_cast<double>(mt[o]);
                }
                reduce_with(
                    x, out, loops, out_numel, 0.0,
                    [&m](double a, T v, int64_t o) {
                        return std::isinf(m[o]) ? a : a + std::exp(double(v) - m[o]);
                    },
                    [&m](double a, int64_t o) {
                        return from_double<T>(std::isinf(m[o]) ? m[o] : m[o] + std::log(a));
                    });
                return;
            }
            default:
                return;
        }
    }
}

OpKernel reduce_kernel(ReduceKind kind) {
    return OpKernel{
        infer_reduce, [kind](const KernelContext& ctx) {
            const Tensor& x = ctx.in(0);
            const bool axes_input = ctx.opset >= axes_input_opset(ctx.node);
            const ReduceSpec spec = make_spec(ctx.node, ctx.opset, x.shape(),
                                              axes_input && ctx.has(1) ? &ctx.in(1) : nullptr);
            if (spec.noop) return std::vector<Tensor>{x};
            Tensor y(x.dtype(), spec.out_shape);
            int64_t count = 1;
            for (std::size_t d = 0; d < spec.reduced.size(); ++d)
                if (spec.reduced[d]) count *= x.shape()[d];
            if (y.numel() == 0) return std::vector<Tensor>{y};
            const ReduceLoops loops =
                x.numel() == 0 ? ReduceLoops{} : make_loops(x.shape(), spec.reduced);
            dispatch_numeric(x.dtype(), ctx.node, [&](auto tag) {
                using T = decltype(tag);
                if (std::is_same_v<T, bool> && kind != ReduceKind::Max && kind != ReduceKind::Min)
                    ctx.fail("boolean input is only allowed for ReduceMax and ReduceMin");
                reduce_typed<T>(kind, x.data<T>(), y.data<T>(), loops, y.numel(), count);
            });
            return std::vector<Tensor>{y};
        }};
}

XPUSIM_REGISTER_OP("ReduceSum", reduce_kernel(ReduceKind::Sum));
XPUSIM_REGISTER_OP("ReduceMean", reduce_kernel(ReduceKind::Mean));
XPUSIM_REGISTER_OP("ReduceProd", reduce_kernel(ReduceKind::Prod));
XPUSIM_REGISTER_OP("ReduceMax", reduce_kernel(ReduceKind::Max));
XPUSIM_REGISTER_OP("ReduceMin", reduce_kernel(ReduceKind::Min));
XPUSIM_REGISTER_OP("ReduceL1", reduce_kernel(ReduceKind::L1));
XPUSIM_REGISTER_OP("ReduceL2", reduce_kernel(ReduceKind::L2));
XPUSIM_REGISTER_OP("ReduceLogSum", reduce_kernel(ReduceKind::LogSum));
XPUSIM_REGISTER_OP("ReduceLogSumExp", reduce_kernel(ReduceKind::LogSumExp));
XPUSIM_REGISTER_OP("ReduceSumSquare", reduce_kernel(ReduceKind::SumSquare));

}  // namespace
}  // namespace xpusim::frontend::ops
