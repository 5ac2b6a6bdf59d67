// Operators that select, combine or scatter elements by position: Concat, Split, Slice, Gather,
// GatherElements, GatherND, ScatterElements (and the older Scatter), ScatterND, Compress,
// CumSum, ArgMax/ArgMin, TopK and NonZero. Pure data movement works on raw bytes
// (dtype_size), so every element type is handled alike; each op's output shape comes from one
// rule shared by infer() and compute().
#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <numeric>

#include "frontends/onnx/ops/op_utils.h"

namespace xpusim::frontend::ops {
namespace {

[[noreturn]] void fail(const Node& node, const std::string& why) {
    throw sim::ModelError(node.describe() + ": " + why);
}

// What a shape rule may read: every input's type and shape, and the values of index-like
// inputs (load-time constants in infer(), the actual tensors in compute()).
struct Args {
    const Node& node;
    int64_t opset;
    std::vector<const Shape*> shapes;  // nullptr for omitted inputs
    std::vector<DType> dtypes;
    std::function<const Tensor&(std::size_t)> value_of;

    bool has(std::size_t i) const { return i < shapes.size() && shapes[i] != nullptr; }
    const Shape& shape(std::size_t i) const {
        if (!has(i)) fail(node, "input " + std::to_string(i) + " is missing");
        return *shapes[i];
    }
    const Tensor& value(std::size_t i) const {
        shape(i);
        return value_of(i);
    }
    std::vector<int64_t> ints(std::size_t i) const { return value(i).to_int64_vector(); }
};

Args args_of(const InferContext& ctx) {
    Args a{ctx.node, ctx.opset, {}, {}, [&ctx](std::size_t i) -> const Tensor& {
               return ctx.constant_input(i);
           }};
    for (const InferInput& in : ctx.inputs) {
        a.shapes.push_back(in.present ? &in.shape : nullptr);
        a.dtypes.push_back(in.dtype);
    }
    return a;
}

Args args_of(const KernelContext& ctx) {
    Args a{
        ctx.node, ctx.opset, {}, {}, [&ctx](std::size_t i) -> const Tensor& { return ctx.in(i); }};
    for (std::size_t i = 0; i < ctx.inputs.size(); ++i) {
        a.shapes.push_back(ctx.has(i) ? &ctx.inputs[i]->shape() : nullptr);
        a.dtypes.push_back(ctx.has(i) ? ctx.inputs[i]->dtype() : DType::Float32);
    }
    return a;
}

const uint8_t* bytes(const Tensor& t) {
    return static_cast<const uint8_t*>(t.raw());
}
uint8_t* bytes(Tensor& t) {
    return static_cast<uint8_t*>(t.raw());
}

int64_t product(const Shape& s, std::size_t from, std::size_t to) {
    int64_t p = 1;
    for (std::size_t i = from; i < to && i < s.size(); ++i) p *= s[i];
    return p;
}

// An index along an axis of size dim: negative counts from the back; out of range fails.
int64_t checked_index(int64_t k, int64_t dim, const Node& node) {
    if (k < -dim || k >= dim)
        fail(node, "index " + std::to_string(k) + " is out of range for dimension " +
                       std::to_string(dim));
    return k < 0 ? k + dim : k;
}

// ---- Concat, Split ----------------------------------------------------------------------------

struct ConcatPlan {
    int64_t axis = 0;
    Shape out;
    std::vector<std::size_t> parts;  // the inputs that contribute elements
};

// Inputs with no elements are skipped (as ONNX Runtime does), unless all are empty.
ConcatPlan concat_plan(const Args& a) {
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
                                          const int64_t outer = product(p.out, 0, p.axis);
                                          const int64_t inner =
                                              product(p.out, p.axis + 1, p.out.size());
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
SplitPlan split_plan(const Args& a) {
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
                                         const int64_t outer = product(x.shape(), 0, p.axis);
                                         const int64_t inner =
                                             product(x.shape(), p.axis + 1, x.shape().size());
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

// ---- Slice ------------------------------------------------------------------------------------

struct SlicePlan {
    Shape out;
    std::vector<int64_t> start, step;  // per input axis
};

// Starts/ends/axes are attributes before opset 10, inputs (with steps) from 10. Per the spec:
// negative starts/ends add the dimension, then clamp to [0, dim] for positive steps and to
// [0, dim-1] (start) / [-1, dim-1] (end) for negative ones; INT64_MAX/MIN act as "to the end".
SlicePlan slice_plan(const Args& a) {
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

// dst[i0..ik] = src[base + sum_d i_d * strides[d]] over out_shape, in elements of es bytes.
// Trailing axes that are contiguous in both are copied as one block.
void strided_copy(const uint8_t* src, uint8_t* dst, const Shape& out_shape,
                  const std::vector<int64_t>& strides, int64_t base, std::size_t es) {
    const int64_t n = sim::shape_numel(out_shape);
    if (n == 0) return;
    int64_t keep = static_cast<int64_t>(out_shape.size());
    int64_t block = 1;
    while (keep > 0 && (out_shape[keep - 1] == 1 || strides[keep - 1] == block)) {
        block *= out_shape[keep - 1];
        --keep;
    }
    const std::size_t block_bytes = static_cast<std::size_t>(block) * es;
    std::vector<int64_t> idx(static_cast<std::size_t>(keep), 0);
    int64_t off = base;
    for (int64_t b = 0; b < n / block; ++b) {
        std::memcpy(dst + b * block_bytes, src + off * static_cast<int64_t>(es), block_bytes);
        for (int64_t d = keep - 1; d >= 0; --d) {
            if (++idx[d] < out_shape[d]) {
                off += strides[d];
                break;
            }
            off -= strides[d] * (out_shape[d] - 1);
            idx[d] = 0;
        }
    }
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

// ---- Gather, GatherElements, GatherND ---------------------------------------------------------

// Gather: out = data.shape[:axis] + indices.shape + data.shape[axis+1:].
Shape gather_shape(const Args& a, int64_t* axis_out) {
    const Shape& data = a.shape(0);
    const Shape& ind = a.shape(1);
    const int64_t axis =
        normalize_axis(a.node.attr_int("axis", 0), static_cast<int64_t>(data.size()), a.node);
    if (axis_out) *axis_out = axis;
    Shape out(data.begin(), data.begin() + axis);
    out.insert(out.end(), ind.begin(), ind.end());
    out.insert(out.end(), data.begin() + axis + 1, data.end());
    return out;
}

XPUSIM_REGISTER_OP("Gather",
                   OpKernel{
                       [](InferContext& ctx) {
                           ctx.set_output(0, ctx.in(0).dtype, gather_shape(args_of(ctx), nullptr));
                       },
                       [](const KernelContext& ctx) {
                           int64_t axis = 0;
                           const Shape out = gather_shape(args_of(ctx), &axis);
                           const Tensor& x = ctx.in(0);
                           const auto ind = ctx.in(1).to_int64_vector();
                           const std::size_t es = sim::dtype_size(x.dtype());
                           const int64_t outer = product(x.shape(), 0, axis);
                           const int64_t dim = x.dim(axis);
                           const std::size_t inner =
                               static_cast<std::size_t>(product(x.shape(), axis + 1, x.rank())) *
                               es;
                           const int64_t n = static_cast<int64_t>(ind.size());
                           Tensor y(x.dtype(), out);
                           for (int64_t o = 0; o < outer; ++o)
                               for (int64_t j = 0; j < n; ++j) {
                                   const int64_t k = checked_index(ind[j], dim, ctx.node);
                                   std::memcpy(bytes(y) + (o * n + j) * inner,
                                               bytes(x) + (o * dim + k) * inner, inner);
                               }
                           return std::vector<Tensor>{y};
                       },
                       /*widen_half=*/false});

// For each element of an index tensor of `ind_shape` (same rank as data), the data offset with
// the `axis` coordinate replaced by the index value. Shared by GatherElements and
// ScatterElements.
std::vector<int64_t> element_offsets(const Shape& data, const Shape& ind_shape,
                                     const std::vector<int64_t>& ind, int64_t axis,
                                     const Node& node) {
    if (ind_shape.size() != data.size()) fail(node, "indices must have the data's rank");
    for (std::size_t d = 0; d < data.size(); ++d)
        if (static_cast<int64_t>(d) != axis && ind_shape[d] > data[d])
            fail(node, "indices shape " + sim::shape_str(ind_shape) + " exceeds data shape " +
                           sim::shape_str(data));
    const auto ds = sim::shape_strides(data);
    const auto is = sim::shape_strides(ind_shape);
    std::vector<int64_t> offs(ind.size());
    for (std::size_t i = 0; i < ind.size(); ++i) {
        int64_t rem = static_cast<int64_t>(i), off = 0;
        for (std::size_t d = 0; d < data.size(); ++d) {
            const int64_t c = rem / is[d];
            rem %= is[d];
            off += (static_cast<int64_t>(d) == axis ? checked_index(ind[i], data[d], node) : c) *
                   ds[d];
        }
        offs[i] = off;
    }
    return offs;
}

XPUSIM_REGISTER_OP("GatherElements",
                   OpKernel{[](InferContext& ctx) {
                                ctx.set_output(0, ctx.in(0).dtype, ctx.in(1).shape);
                            },
                            [](const KernelContext& ctx) {
                                const Tensor& x = ctx.in(0);
                                const Tensor& ind = ctx.in(1);
                                const int64_t axis = normalize_axis(ctx.node.attr_int("axis", 0),
                                                                    x.rank(), ctx.node);
                                const auto offs = element_offsets(
                                    x.shape(), ind.shape(), ind.to_int64_vector(), axis, ctx.node);
                                const std::size_t es = sim::dtype_size(x.dtype());
                                Tensor y(x.dtype(), ind.shape());
                                for (std::size_t i = 0; i < offs.size(); ++i)
                                    std::memcpy(bytes(y) + i * es, bytes(x) + offs[i] * es, es);
                                return std::vector<Tensor>{y};
                            },
                            /*widen_half=*/false});

// GatherND with b batch dims and m = indices.shape[-1]:
// out = indices.shape[:-1] + data.shape[b+m:].
struct GatherNDPlan {
    int64_t b = 0, m = 0;
    Shape out;
};

GatherNDPlan gathernd_plan(const Args& a) {
    const Shape& data = a.shape(0);
    const Shape& ind = a.shape(1);
    GatherNDPlan p;
    p.b = a.node.attr_int("batch_dims", 0);
    const int64_t r = static_cast<int64_t>(data.size()), q = static_cast<int64_t>(ind.size());
    if (q < 1 || p.b < 0 || p.b >= std::min(r, q)) fail(a.node, "invalid batch_dims or ranks");
    p.m = ind.back();
    if (p.m < 1 || p.m > r - p.b)
        fail(a.node, "indices' last dimension " + std::to_string(p.m) + " is out of range");
    for (int64_t d = 0; d < p.b; ++d)
        if (data[d] != ind[d]) fail(a.node, "batch dimensions of data and indices differ");
    p.out.assign(ind.begin(), ind.end() - 1);
    p.out.insert(p.out.end(), data.begin() + p.b + p.m, data.end());
    return p;
}

XPUSIM_REGISTER_OP("GatherND",
                   OpKernel{[](InferContext& ctx) {
                                ctx.set_output(0, ctx.in(0).dtype, gathernd_plan(args_of(ctx)).out);
                            },
                            [](const KernelContext& ctx) {
                                const GatherNDPlan p = gathernd_plan(args_of(ctx));
                                const Tensor& x = ctx.in(0);
                                const auto ind = ctx.in(1).to_int64_vector();
                                const Shape& ds = x.shape();
                                const std::size_t es = sim::dtype_size(x.dtype());
                                const int64_t batches = product(ds, 0, p.b);
                                const int64_t batch_size = product(ds, p.b, ds.size());
                                const int64_t slice = product(ds, p.b + p.m, ds.size());
                                const int64_t tuples =
                                    batches == 0 ? 0
                                                 : static_cast<int64_t>(ind.size()) / p.m / batches;
                                std::vector<int64_t> strides(static_cast<std::size_t>(p.m));
                                for (int64_t j = 0; j < p.m; ++j)
                                    strides[j] = product(ds, p.b + j + 1, ds.size());
                                Tensor y(x.dtype(), p.out);
                                for (int64_t bi = 0; bi < batches; ++bi)
                                    for (int64_t t = 0; t < tuples; ++t) {
                                        const int64_t* tuple = ind.data() + (bi * tuples + t) * p.m;
                                        int64_t off = bi * batch_size;
                                        for (int64_t j = 0; j < p.m; ++j)
                                            off += checked_index(tuple[j], ds[p.b + j], ctx.node) *
                                                   strides[j];
                                        std::memcpy(bytes(y) + (bi * tuples + t) * slice * es,
                                                    bytes(x) + off * es, slice * es);
                                    }
                                return std::vector<Tensor>{y};
                            },
                            /*widen_half=*/false});

// ---- ScatterElements, Scatter, ScatterND ------------------------------------------------------

enum class Reduction { None, Add, Mul, Max, Min };

Reduction reduction_of(const Node& node) {
    const std::string r = node.attr_string("reduction", "none");
    if (r == "none") return Reduction::None;
    if (r == "add") return Reduction::Add;
    if (r == "mul") return Reduction::Mul;
    if (r == "max") return Reduction::Max;
    if (r == "min") return Reduction::Min;
    fail(node, "unknown reduction '" + r + "'");
}

// out = copy of data; then, in index order, out[offs[i]] = reduce(out[offs[i]], updates[i]) for
// each update slice of `slice` elements.
Tensor scatter(const Tensor& data, const Tensor& updates, const std::vector<int64_t>& offs,
               int64_t slice, Reduction red, const Node& node) {
    if (updates.dtype() != data.dtype()) fail(node, "updates must have the data's type");
    Tensor y = data.clone();
    const std::size_t es = sim::dtype_size(data.dtype());
    if (red == Reduction::None) {
        for (std::size_t i = 0; i < offs.size(); ++i)
            std::memcpy(bytes(y) + offs[i] * es, bytes(updates) + i * slice * es, slice * es);
        return y;
    }
    dispatch_numeric(data.dtype(), node, [&](auto tag) {
        using T = decltype(tag);
        if constexpr (std::is_same_v<T, bool>) {
            fail(node, "reductions are not defined for bool");
        } else {
            T* out = y.data<T>();
            const T* up = updates.data<T>();
            for (std::size_t i = 0; i < offs.size(); ++i)
                for (int64_t k = 0; k < slice; ++k) {
                    T& o = out[offs[i] + k];
                    const T u = up[i * slice + k];
                    switch (red) {
                        case Reduction::Add:
                            o = static_cast<T>(o + u);
                            break;
                        case Reduction::Mul:
                            o = static_cast<T>(o * u);
                            break;
                        case Reduction::Max:
                            o = std::max(o, u);
                            break;
                        case Reduction::Min:
                            o = std::min(o, u);
                            break;
                        case Reduction::None:
                            break;
                    }
                }
        }
    });
    return y;
}

std::vector<Tensor> compute_scatter_elements(const KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    const Tensor& ind = ctx.in(1);
    const Tensor& up = ctx.in(2);
    if (up.shape() != ind.shape()) ctx.fail("updates must have the indices' shape");
    const int64_t axis = normalize_axis(ctx.node.attr_int("axis", 0), x.rank(), ctx.node);
    const auto offs =
        element_offsets(x.shape(), ind.shape(), ind.to_int64_vector(), axis, ctx.node);
    return {scatter(x, up, offs, 1, reduction_of(ctx.node), ctx.node)};
}

XPUSIM_REGISTER_OP("ScatterElements", OpKernel{infer_same_as_input0, compute_scatter_elements});
// Scatter (opsets 9-10) is ScatterElements without reduction.
XPUSIM_REGISTER_OP("Scatter", OpKernel{infer_same_as_input0, compute_scatter_elements});

// ScatterND: indices [..., k] address slices data[i0..ik-1, ...]; updates has shape
// indices.shape[:-1] + data.shape[k:].
XPUSIM_REGISTER_OP("ScatterND",
                   OpKernel{infer_same_as_input0, [](const KernelContext& ctx) {
                                const Tensor& x = ctx.in(0);
                                const Tensor& ind = ctx.in(1);
                                const Tensor& up = ctx.in(2);
                                const Shape& ds = x.shape();
                                if (ind.rank() < 1) ctx.fail("indices must have rank >= 1");
                                const int64_t k = ind.dim(-1);
                                if (k > x.rank()) ctx.fail("indices' last dimension exceeds rank");
                                Shape want(ind.shape().begin(), ind.shape().end() - 1);
                                want.insert(want.end(), ds.begin() + k, ds.end());
                                if (up.shape() != want)
                                    ctx.fail("updates must have shape " + sim::shape_str(want));
                                const auto iv = ind.to_int64_vector();
                                const int64_t slice = product(ds, k, ds.size());
                                const auto strides = sim::shape_strides(ds);
                                std::vector<int64_t> offs(k == 0 ? 0 : iv.size() / k);
                                for (std::size_t t = 0; t < offs.size(); ++t) {
                                    int64_t off = 0;
                                    for (int64_t j = 0; j < k; ++j)
                                        off += checked_index(iv[t * k + j], ds[j], ctx.node) *
                                               strides[j];
                                    offs[t] = off;
                                }
                                if (k == 0)
                                    offs.assign(
                                        sim::shape_numel(want) / std::max<int64_t>(slice, 1), 0);
                                return std::vector<Tensor>{
                                    scatter(x, up, offs, slice, reduction_of(ctx.node), ctx.node)};
                            }});

// ---- Compress, NonZero ------------------------------------------------------------------------

// Compress keeps the positions along `axis` (or of the flattened input) whose condition is true;
// a shorter condition drops the rest. The output shape depends on the condition's values.
struct CompressPlan {
    bool flat = true;
    int64_t axis = 0;
    std::vector<int64_t> keep;
    Shape out;
};

CompressPlan compress_plan(const Args& a) {
    const Shape& in = a.shape(0);
    const Tensor& cond = a.value(1);
    if (cond.dtype() != DType::Bool || cond.rank() != 1) fail(a.node, "condition must be 1-D bool");
    CompressPlan p;
    p.flat = !a.node.has_attr("axis");
    if (!p.flat)
        p.axis =
            normalize_axis(a.node.attr_int("axis", 0), static_cast<int64_t>(in.size()), a.node);
    const int64_t dim = p.flat ? sim::shape_numel(in) : in[p.axis];
    const bool* c = cond.data<bool>();
    for (int64_t i = 0; i < cond.numel(); ++i) {
        if (!c[i]) continue;
        if (i >= dim)
            fail(a.node,
                 "condition selects index " + std::to_string(i) + " of " + std::to_string(dim));
        p.keep.push_back(i);
    }
    p.out = p.flat ? Shape{} : in;
    if (p.flat)
        p.out.push_back(static_cast<int64_t>(p.keep.size()));
    else
        p.out[p.axis] = static_cast<int64_t>(p.keep.size());
    return p;
}

XPUSIM_REGISTER_OP("Compress",
                   OpKernel{[](InferContext& ctx) {
                                ctx.set_output(0, ctx.in(0).dtype, compress_plan(args_of(ctx)).out);
                            },
                            [](const KernelContext& ctx) {
                                const CompressPlan p = compress_plan(args_of(ctx));
                                const Tensor& x = ctx.in(0);
                                const std::size_t es = sim::dtype_size(x.dtype());
                                const int64_t outer = p.flat ? 1 : product(x.shape(), 0, p.axis);
                                const int64_t dim = p.flat ? x.numel() : x.dim(p.axis);
                                const std::size_t inner =
                                    (p.flat ? 1 : product(x.shape(), p.axis + 1, x.rank())) * es;
                                const int64_t n = static_cast<int64_t>(p.keep.size());
                                Tensor y(x.dtype(), p.out);
                                for (int64_t o = 0; o < outer; ++o)
                                    for (int64_t j = 0; j < n; ++j)
                                        std::memcpy(bytes(y) + (o * n + j) * inner,
                                                    bytes(x) + (o * dim + p.keep[j]) * inner,
                                                    inner);
                                return std::vector<Tensor>{y};
                            },
                            /*widen_half=*/false});

// NonZero: [rank, count] int64 coordinates of the non-zero elements in row-major order (a scalar
// counts as rank 1). Its output shape depends on the data, so shapes can only be inferred for a
// load-time constant input.
Tensor nonzero(const Tensor& x) {
    std::vector<int64_t> hits;
    for (int64_t i = 0; i < x.numel(); ++i)
        if (x.get_as_double(i) != 0.0) hits.push_back(i);
    const Shape s = x.rank() == 0 ? Shape{1} : x.shape();
    const auto strides = sim::shape_strides(s);
    const int64_t r = static_cast<int64_t>(s.size()), n = static_cast<int64_t>(hits.size());
    Tensor y(DType::Int64, {r, n});
    int64_t* out = y.data<int64_t>();
    for (int64_t j = 0; j < n; ++j)
        for (int64_t d = 0; d < r; ++d) out[d * n + j] = hits[j] / strides[d] % s[d];
    return y;
}

XPUSIM_REGISTER_OP("NonZero",
                   OpKernel{[](InferContext& ctx) {
                                const InferInput& x = ctx.in(0);
                                if (!x.constant)
                                    throw sim::UnsupportedError(ctx.node.describe() +
                                                                ": data-dependent output shape");
                                ctx.set_output(0, DType::Int64, nonzero(*x.constant).shape());
                            },
                            [](const KernelContext& ctx) {
                                return std::vector<Tensor>{nonzero(ctx.in(0))};
                            },
                            /*widen_half=*/false});

// ---- CumSum, ArgMax/ArgMin, TopK ---------------------------------------------------------------

// Splits a shape around `axis` into [outer, dim, inner].
struct AxisView {
    int64_t outer, dim, inner;
};
AxisView axis_view(const Shape& s, int64_t axis) {
    return {product(s, 0, axis), s[axis], product(s, axis + 1, s.size())};
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

TopKPlan topk_plan(const Args& a) {
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
