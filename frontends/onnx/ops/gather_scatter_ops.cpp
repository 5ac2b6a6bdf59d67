// Operators that read or write elements at positions given by an index or mask tensor: Gather,
// GatherElements, GatherND, ScatterElements (and the older Scatter), ScatterND, Compress and
// NonZero. Pure data movement works on raw bytes (dtype_size), so every element type is handled
// alike; each op's output shape comes from one rule shared by infer() and compute().
#include <algorithm>
#include <cstring>

#include "frontends/onnx/ops/op_utils.h"

namespace xpusim::frontend::ops {
namespace {

// An index along an axis of size dim: negative counts from the back; out of range fails.
int64_t checked_index(int64_t k, int64_t dim, const Node& node) {
    if (k < -dim || k >= dim)
        fail(node, "index " + std::to_string(k) + " is out of range for dimension " +
                       std::to_string(dim));
    return k < 0 ? k + dim : k;
}

// ---- Gather, GatherElements, GatherND -----------------------------------------------------------

// Gather: out = data.shape[:axis] + indices.shape + data.shape[axis+1:].
Shape gather_shape(const OpArgs& a, int64_t* axis_out) {
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
                   OpKernel{[](InferContext& ctx) {
                                ctx.set_output(0, ctx.in(0).dtype,
                                               gather_shape(args_of(ctx), nullptr));
                            },
                            [](const KernelContext& ctx) {
                                int64_t axis = 0;
                                const Shape out = gather_shape(args_of(ctx), &axis);
                                const Tensor& x = ctx.in(0);
                                const auto ind = ctx.in(1).to_int64_vector();
                                const std::size_t es = sim::dtype_size(x.dtype());
                                const int64_t outer = dims_product(x.shape(), 0, axis);
                                const int64_t dim = x.dim(axis);
                                const std::size_t inner = static_cast<std::size_t>(dims_product(
                                                              x.shape(), axis + 1, x.rank())) *
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

GatherNDPlan gathernd_plan(const OpArgs& a) {
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
                                const int64_t batches = dims_product(ds, 0, p.b);
                                const int64_t batch_size = dims_product(ds, p.b, ds.size());
                                const int64_t slice = dims_product(ds, p.b + p.m, ds.size());
                                const int64_t tuples =
                                    batches == 0 ? 0
                                                 : static_cast<int64_t>(ind.size()) / p.m / batches;
                                std::vector<int64_t> strides(static_cast<std::size_t>(p.m));
                                for (int64_t j = 0; j < p.m; ++j)
                                    strides[j] = dims_product(ds, p.b + j + 1, ds.size());
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

// ---- ScatterElements, Scatter, ScatterND --------------------------------------------------------

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
                                const int64_t slice = dims_product(ds, k, ds.size());
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

// ---- Compress, NonZero --------------------------------------------------------------------------

// Compress keeps the positions along `axis` (or of the flattened input) whose condition is true;
// a shorter condition drops the rest. The output shape depends on the condition's values.
struct CompressPlan {
    bool flat = true;
    int64_t axis = 0;
    std::vector<int64_t> keep;
    Shape out;
};

CompressPlan compress_plan(const OpArgs& a) {
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
                   OpKernel{
                       [](InferContext& ctx) {
                           ctx.set_output(0, ctx.in(0).dtype, compress_plan(args_of(ctx)).out);
                       },
                       [](const KernelContext& ctx) {
                           const CompressPlan p = compress_plan(args_of(ctx));
                           const Tensor& x = ctx.in(0);
                           const std::size_t es = sim::dtype_size(x.dtype());
                           const int64_t outer = p.flat ? 1 : dims_product(x.shape(), 0, p.axis);
                           const int64_t dim = p.flat ? x.numel() : x.dim(p.axis);
                           const std::size_t inner =
                               (p.flat ? 1 : dims_product(x.shape(), p.axis + 1, x.rank())) * es;
                           const int64_t n = static_cast<int64_t>(p.keep.size());
                           Tensor y(x.dtype(), p.out);
                           for (int64_t o = 0; o < outer; ++o)
                               for (int64_t j = 0; j < n; ++j)
                                   std::memcpy(bytes(y) + (o * n + j) * inner,
                                               bytes(x) + (o * dim + p.keep[j]) * inner, inner);
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

}  // namespace
}  // namespace xpusim::frontend::ops
