// Operators that work along axes: Concat, Split and Slice cut or join a tensor, CumSum scans it,
// ArgMax/ArgMin and TopK rank it. Concat, Split and Slice move raw bytes (dtype_size), so every
// element type is handled alike; each op's output shape comes from one rule shared by infer() and
// compute().
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "frontends/onnx/ops/op_utils.h"

namespace xpusim::frontend::ops {
namespace {

// ---- Concat, Split ------------------------------------------------------------------------------

struct ConcatPlan {
    int64_t axis = 0;
    Shape out;
    std::vector<std::size_t> parts;  // the inputs that contribute elements
};

// Inputs with no elements are skipped (as ONNX Runtime does), unless all are empty.
ConcatPlan concat_plan(const OpArgs& a) {
    ConcatPlan p;
    std::vector<std::size_t> all;
    for (std::size_t i = 0; i < a.shapes.size(); ++i)
        if (a.has(i)) all.push_back(i);
    if (all.empty()) fail(a.node, "no inputs");
    for (std::size_t i : all)
        if (sim::shape_numel(a.shape(i)) != 0) p.parts.push_back(i);
    if (p.parts.empty()) p.parts = all;
    if (a.opset >= 4 && !a.node.has_attr("axis")) fail(a.node, "attribute 'axis' is required");
    p.out = a.shape(p.parts[0]);
    const int64_t r = static_cast<int64_t>(p.out.size());
    p.axis = normalize_axis(a.node.attr_int("axis", 1), r, a.node);
    p.out[p.axis] = 0;
    for (std::size_t i : p.parts) {
        const Shape& s = a.shape(i);
        bool same = static_cast<int64_t>(s.size()) == r;
        for (int64_t d = 0; same && d < r; ++d) same = d == p.axis || s[d] == p.out[d];
        if (!same)
            fail(a.node, "input " + std::to_string(i) + " of shape " + sim::shape_str(s) +
                             " does not match " + sim::shape_str(a.shape(p.parts[0])));
        p.out[p.axis] += s[p.axis];
    }
    return p;
}

XPUSIM_REGISTER_OP("Concat", OpKernel{[](InferContext& ctx) {
                                          const ConcatPlan p = concat_plan(args_of(ctx));
                                          ctx.set_output(0, ctx.in(p.parts[0]).dtype, p.out);
                                      },
                                      [](const KernelContext& ctx) {
                                          const ConcatPlan p = concat_plan(args_of(ctx));
                                          const DType t = ctx.in(p.parts[0]).dtype();
                                          Tensor y(t, p.out);
                                          const std::size_t es = sim::dtype_size(t);
                                          const int64_t outer = dims_product(p.out, 0, p.axis);
                                          const int64_t inner =
                                              dims_product(p.out, p.axis + 1, p.out.size());
                                          const int64_t row =
                                              p.out[p.axis] * inner;  // output elements per outer
                                          int64_t pos = 0;
                                          for (std::size_t i : p.parts) {
                                              const Tensor& x = ctx.in(i);
                                              if (x.dtype() != t)
                                                  ctx.fail("inputs have different element types");
                                              const int64_t n = x.dim(p.axis) * inner;
                                              for (int64_t o = 0; o < outer; ++o)
                                                  std::memcpy(bytes(y) + (o * row + pos) * es,
                                                              bytes(x) + o * n * es, n * es);
                                              pos += n;
                                          }
                                          return std::vector<Tensor>{y};
                                      },
                                      /*widen_half=*/false});

struct SplitPlan {
    int64_t axis = 0;
    std::vector<int64_t> sizes;
};

// Sizes from the 'split' attribute (before opset 13; Split-1 also took it as input 1), the
// 'split' input (opset 13+) or num_outputs (opset 18: chunks of ceil(dim / n), the last
// smaller); otherwise equal parts, one per output.
SplitPlan split_plan(const OpArgs& a) {
    const Shape& in = a.shape(0);
    SplitPlan p;
    p.axis = normalize_axis(a.node.attr_int("axis", 0), static_cast<int64_t>(in.size()), a.node);
    const int64_t dim = in[p.axis];
    const int64_t n_out = static_cast<int64_t>(a.node.outputs.size());
    if (a.opset >= 13 || (a.opset < 2 && a.has(1))) {
        if (a.has(1)) p.sizes = a.ints(1);
    } else {
        p.sizes = a.node.attr_ints("split");
    }
    if (!p.sizes.empty()) {
        if (a.opset >= 18 && a.node.has_attr("num_outputs"))
            fail(a.node, "give either 'split' or 'num_outputs', not both");
        if (static_cast<int64_t>(p.sizes.size()) != n_out)
            fail(a.node, "split has " + std::to_string(p.sizes.size()) + " entries for " +
                             std::to_string(n_out) + " outputs");
        int64_t sum = 0;
        for (int64_t s : p.sizes) {
            if (s < 0) fail(a.node, "split sizes must not be negative");
            sum += s;
        }
        if (sum != dim)
            fail(a.node,
                 "split sizes sum to " + std::to_string(sum) + ", not " + std::to_string(dim));
        return p;
    }
    if (a.opset >= 18 && a.node.has_attr("num_outputs")) {
        const int64_t n = a.node.attr_int("num_outputs", 0);
        if (n < 1) fail(a.node, "num_outputs " + std::to_string(n) + " must be at least 1");
        if (n != n_out) fail(a.node, "num_outputs does not match the number of outputs");
        const int64_t chunk = (dim + n - 1) / n;
        const int64_t last = dim - chunk * (n - 1);
        if (last < 0)
            fail(a.node, "cannot split dimension " + std::to_string(dim) + " into " +
                             std::to_string(n) + " chunks of " + std::to_string(chunk));
        p.sizes.assign(static_cast<std::size_t>(n), chunk);
        p.sizes.back() = last;
        return p;
    }
    if (n_out == 0 || dim % n_out != 0)
        fail(a.node, "dimension " + std::to_string(dim) + " cannot be split evenly into " +
                         std::to_string(n_out) + " outputs");
    p.sizes.assign(static_cast<std::size_t>(n_out), dim / n_out);
    return p;
}

XPUSIM_REGISTER_OP("Split", OpKernel{[](InferContext& ctx) {
                                         const SplitPlan p = split_plan(args_of(ctx));
                                         for (std::size_t j = 0; j < p.sizes.size(); ++j) {
                                             Shape s = ctx.in(0).shape;
                                             s[p.axis] = p.sizes[j];
                                             ctx.set_output(j, ctx.in(0).dtype, s);
                                         }
                                     },
                                     [](const KernelContext& ctx) {
                                         const SplitPlan p = split_plan(args_of(ctx));
                                         const Tensor& x = ctx.in(0);
                                         const std::size_t es = sim::dtype_size(x.dtype());
                                         const int64_t outer = dims_product(x.shape(), 0, p.axis);
                                         const int64_t inner =
                                             dims_product(x.shape(), p.axis + 1, x.shape().size());
                                         const int64_t row = x.dim(p.axis) * inner;
                                         std::vector<Tensor> out;
                                         int64_t pos = 0;
                                         for (int64_t size : p.sizes) {
                                             Shape s = x.shape();
                                             s[p.axis] = size;
                                             Tensor y(x.dtype(), s);
                                             const int64_t n = size * inner;
                                             for (int64_t o = 0; o < outer; ++o)
                                                 std::memcpy(bytes(y) + o * n * es,
                                                             bytes(x) + (o * row + pos) * es,
                                                             n * es);
                                             pos += n;
                                             out.push_back(y);
                                         }
                                         return out;
                                     },
                                     /*widen_half=*/false});

// ---- Slice --------------------------------------------------------------------------------------

struct SlicePlan {
    Shape out;
    std::vector<int64_t> start, step;  // per input axis
};

// Starts/ends/axes are attributes before opset 10, inputs (with steps) from 10. Per the spec:
// negative starts/ends add the dimension, then clamp to [0, dim] for positive steps and to
// [0, dim-1] (start) / [-1, dim-1] (end) for negative ones; INT64_MAX/MIN act as "to the end".
SlicePlan slice_plan(const OpArgs& a) {
    const Shape& in = a.shape(0);
    const int64_t r = static_cast<int64_t>(in.size());
    std::vector<int64_t> starts, ends, axes, steps;
    const bool axes_given = a.opset < 10 ? a.node.has_attr("axes") : a.has(3);
    if (a.opset < 10) {
        starts = a.node.attr_ints("starts");
        ends = a.node.attr_ints("ends");
        axes = a.node.attr_ints("axes");
    } else {
        starts = a.ints(1);
        ends = a.ints(2);
        if (a.has(3)) axes = a.ints(3);
        if (a.has(4)) steps = a.ints(4);
    }
    if (!axes_given) {
        axes.resize(starts.size());
        std::iota(axes.begin(), axes.end(), 0);
    }
    if (steps.empty()) steps.assign(starts.size(), 1);
    if (ends.size() != starts.size() || axes.size() != starts.size() ||
        steps.size() != starts.size())
        fail(a.node, "starts, ends, axes and steps must have the same length");
    axes = normalize_axes(axes, r, a.node);

    SlicePlan p{in, std::vector<int64_t>(r, 0), std::vector<int64_t>(r, 1)};
    for (std::size_t i = 0; i < axes.size(); ++i) {
        const int64_t dim = in[axes[i]];
        const int64_t step = steps[i];
        if (step == 0) fail(a.node, "steps must not be zero");
        int64_t s = starts[i] < 0 ? starts[i] + dim : starts[i];
        int64_t e = ends[i] < 0 ? ends[i] + dim : ends[i];
        int64_t count = 0;
        if (step > 0) {
            s = std::clamp<int64_t>(s, 0, dim);
            e = std::clamp<int64_t>(e, 0, dim);
            if (e > s)
                count = static_cast<int64_t>((static_cast<uint64_t>(e - s) - 1) /
                                             static_cast<uint64_t>(step)) +
                        1;
        } else {
            s = std::clamp<int64_t>(s, 0, dim - 1);
            e = std::clamp<int64_t>(e, -1, dim - 1);
            // -step without overflow for INT64_MIN
            const uint64_t mag = uint64_t{0} - static_cast<uint64_t>(step);
            if (s > e) count = static_cast<int64_t>((static_cast<uint64_t>(s - e) - 1) / mag) + 1;
        }
        p.out[axes[i]] = count;
        p.start[axes[i]] = count > 0 ? s : 0;
        p.step[axes[i]] = count > 1 ? step : 1;
    }
    return p;
}

XPUSIM_REGISTER_OP("Slice", OpKernel{[](InferContext& ctx) {
                                         ctx.set_output(0, ctx.in(0).dtype,
                                                        slice_plan(args_of(ctx)).out);
                                     },
                                     [](const KernelContext& ctx) {
                                         const SlicePlan p = slice_plan(args_of(ctx));
                                         const Tensor& x = ctx.in(0);
                                         const auto in_strides = sim::shape_strides(x.shape());
                                         std::vector<int64_t> strides(in_strides.size());
                                         int64_t base = 0;
                                         for (std::size_t d = 0; d < strides.size(); ++d) {
                                             strides[d] = in_strides[d] * p.step[d];
                                             base += in_strides[d] * p.start[d];
                                         }
                                         Tensor y(x.dtype(), p.out);
                                         strided_copy(bytes(x), bytes(y), p.out, strides, base,
                                                      sim::dtype_size(x.dtype()));
                                         return std::vector<Tensor>{y};
                                     },
                                     /*widen_half=*/false});

// ---- CumSum, ArgMax/ArgMin, TopK ----------------------------------------------------------------

// Splits a shape around `axis` into [outer, dim, inner].
struct AxisView {
    int64_t outer, dim, inner;
};
AxisView axis_view(const Shape& s, int64_t axis) {
    return {dims_product(s, 0, axis), s[axis], dims_product(s, axis + 1, s.size())};
}

// CumSum along the axis given as input 1; exclusive shifts by one, reverse runs from the end.
XPUSIM_REGISTER_OP("CumSum",
                   OpKernel{infer_same_as_input0, [](const KernelContext& ctx) {
                                const Tensor& x = ctx.in(0);
                                const Tensor& axis_t = ctx.in(1);
                                if (axis_t.numel() != 1) ctx.fail("axis must hold one element");
                                const int64_t axis =
                                    normalize_axis(axis_t.get_as_int64(0), x.rank(), ctx.node);
                                const bool exclusive = ctx.node.attr_int("exclusive", 0) != 0;
                                const bool reverse = ctx.node.attr_int("reverse", 0) != 0;
                                const AxisView v = axis_view(x.shape(), axis);
                                Tensor y(x.dtype(), x.shape());
                                dispatch_numeric(x.dtype(), ctx.node, [&](auto tag) {
                                    using T = decltype(tag);
                                    if constexpr (std::is_same_v<T, bool>) {
                                        ctx.fail("boolean input is not allowed");
                                    } else {
                                        const T* in = x.data<T>();
                                        T* out = y.data<T>();
                                        for (int64_t o = 0; o < v.outer; ++o)
                                            for (int64_t i = 0; i < v.inner; ++i) {
                                                T acc = T(0);
                                                for (int64_t j = 0; j < v.dim; ++j) {
                                                    const int64_t jj = reverse ? v.dim - 1 - j : j;
                                                    const int64_t at =
                                                        (o * v.dim + jj) * v.inner + i;
                                                    if (exclusive) {
                                                        out[at] = acc;
                                                        acc = static_cast<T>(acc + in[at]);
                                                    } else {
                                                        acc = static_cast<T>(acc + in[at]);
                                                        out[at] = acc;
                                                    }
                                                }
                                            }
                                    }
                                });
                                return std::vector<Tensor>{y};
                            }});

Shape reduced_shape(const Shape& in, int64_t axis, bool keepdims) {
    Shape out = in;
    if (keepdims)
        out[axis] = 1;
    else
        out.erase(out.begin() + axis);
    return out;
}

int64_t arg_axis(const Node& node, std::size_t rank) {
    return normalize_axis(node.attr_int("axis", 0), static_cast<int64_t>(rank), node);
}

// ArgMax/ArgMin: first index of the extreme value, or the last with select_last_index.
OpKernel arg_extreme(bool is_max) {
    return OpKernel{[](InferContext& ctx) {
                        const Shape& s = ctx.in(0).shape;
                        ctx.set_output(0, DType::Int64,
                                       reduced_shape(s, arg_axis(ctx.node, s.size()),
                                                     ctx.node.attr_int("keepdims", 1) != 0));
                    },
                    [is_max](const KernelContext& ctx) {
                        const Tensor& x = ctx.in(0);
                        const int64_t axis = arg_axis(ctx.node, x.shape().size());
                        const bool last = ctx.node.attr_int("select_last_index", 0) != 0;
                        const AxisView v = axis_view(x.shape(), axis);
                        if (v.dim == 0) ctx.fail("cannot reduce an empty axis");
                        Tensor y(
                            DType::Int64,
                            reduced_shape(x.shape(), axis, ctx.node.attr_int("keepdims", 1) != 0));
                        int64_t* out = y.data<int64_t>();
                        dispatch_numeric(x.dtype(), ctx.node, [&](auto tag) {
                            using T = decltype(tag);
                            const T* in = x.data<T>();
                            for (int64_t o = 0; o < v.outer; ++o)
                                for (int64_t i = 0; i < v.inner; ++i) {
                                    const T* p = in + o * v.dim * v.inner + i;
                                    int64_t best = 0;
                                    for (int64_t j = 1; j < v.dim; ++j) {
                                        const T a = p[j * v.inner], b = p[best * v.inner];
                                        const bool better = is_max ? a > b : a < b;
                                        if (better || (last && a == b)) best = j;
                                    }
                                    out[o * v.inner + i] = best;
                                }
                        });
                        return std::vector<Tensor>{y};
                    }};
}

XPUSIM_REGISTER_OP("ArgMax", arg_extreme(true));
XPUSIM_REGISTER_OP("ArgMin", arg_extreme(false));

// TopK: k from the attribute (opset < 10) or input 1; largest/sorted from opset 11. As in ONNX
// Runtime, ties keep the lower index first and NaN comes before every number, for largest and
// smallest alike. With sorted = 0 the order is unspecified; the sorted order is returned.
struct TopKPlan {
    int64_t axis = 0, k = 0;
    Shape out;
};

TopKPlan topk_plan(const OpArgs& a) {
    const Shape& in = a.shape(0);
    TopKPlan p;
    p.axis = normalize_axis(a.node.attr_int("axis", -1), static_cast<int64_t>(in.size()), a.node);
    if (a.opset < 10) {
        p.k = a.node.attr_int("k", -1);
    } else {
        const Tensor& kt = a.value(1);
        if (kt.numel() != 1) fail(a.node, "K must hold one element");
        p.k = kt.get_as_int64(0);
    }
    if (p.k < 0 || p.k > in[p.axis])
        fail(a.node, "k = " + std::to_string(p.k) + " is out of range for dimension " +
                         std::to_string(in[p.axis]));
    p.out = in;
    p.out[p.axis] = p.k;
    return p;
}

XPUSIM_REGISTER_OP("TopK",
                   OpKernel{[](InferContext& ctx) {
                                const TopKPlan p = topk_plan(args_of(ctx));
                                ctx.set_output(0, ctx.in(0).dtype, p.out);
                                ctx.set_output(1, DType::Int64, p.out);
                            },
                            [](const KernelContext& ctx) {
                                const TopKPlan p = topk_plan(args_of(ctx));
                                const Tensor& x = ctx.in(0);
                                const bool largest =
                                    ctx.opset < 11 || ctx.node.attr_int("largest", 1) != 0;
                                const AxisView v = axis_view(x.shape(), p.axis);
                                Tensor values(x.dtype(), p.out);
                                Tensor indices(DType::Int64, p.out);
                                int64_t* oi = indices.data<int64_t>();
                                dispatch_numeric(x.dtype(), ctx.node, [&](auto tag) {
                                    using T = decltype(tag);
                                    const T* in = x.data<T>();
                                    T* ov = values.data<T>();
                                    // a before b in the output order.
                                    auto before = [largest](T a, int64_t ia, T b, int64_t ib) {
                                        if constexpr (std::is_floating_point_v<T>) {
                                            if (std::isnan(a) || std::isnan(b)) {
                                                if (std::isnan(a) && std::isnan(b)) return ia < ib;
                                                return std::isnan(a);
                                            }
                                        }
                                        if (a != b) return largest ? a > b : a < b;
                                        return ia < ib;
                                    };
                                    std::vector<int64_t> order(static_cast<std::size_t>(v.dim));
                                    for (int64_t o = 0; o < v.outer; ++o)
                                        for (int64_t i = 0; i < v.inner; ++i) {
                                            const T* src = in + o * v.dim * v.inner + i;
                                            std::iota(order.begin(), order.end(), 0);
                                            std::partial_sort(
                                                order.begin(), order.begin() + p.k, order.end(),
                                                [&](int64_t a, int64_t b) {
                                                    return before(src[a * v.inner], a,
                                                                  src[b * v.inner], b);
                                                });
                                            for (int64_t j = 0; j < p.k; ++j) {
                                                const int64_t at = (o * p.k + j) * v.inner + i;
                                                ov[at] = src[order[j] * v.inner];
                                                oi[at] = order[j];
                                            }
                                        }
                                });
                                return std::vector<Tensor>{values, indices};
                            }});

}  // namespace
}  // namespace xpusim::frontend::ops
