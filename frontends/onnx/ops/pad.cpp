// Pad: pads from the 'paddings' (opset 1) or 'pads' (opset 2-10) attribute with the 'value'
// attribute, or from the pads / constant_value / axes (opset 18) inputs (opset 11+). Modes
// constant, reflect, edge and wrap (opset 19). Negative pads crop: the input is cropped first and
// reflect/edge/wrap then read the cropped extent (as ONNX Runtime does). Data only moves, so any
// element type works on raw bytes.
#include <algorithm>
#include <cstring>

#include "frontends/onnx/ops/op_utils.h"

namespace xpusim::frontend::ops {
namespace {

enum class PadMode { Constant, Reflect, Edge, Wrap };

struct PadSpec {
    PadMode mode = PadMode::Constant;
    std::vector<int64_t> begin, end;  // per axis, may be negative
    Shape out_shape;
};

PadMode parse_mode(const Node& node) {
    const std::string m = node.attr_string("mode", "constant");
    if (m == "constant") return PadMode::Constant;
    if (m == "reflect") return PadMode::Reflect;
    if (m == "edge") return PadMode::Edge;
    if (m == "wrap") return PadMode::Wrap;
    throw sim::ModelError(node.describe() + ": unknown mode '" + m + "'");
}

// pads: as given (attribute or input); axes: the opset-18 'axes' input, or nullptr.
PadSpec make_spec(const Node& node, const Shape& shape, const std::vector<int64_t>& pads,
                  const Tensor* axes_tensor) {
    const int64_t rank = static_cast<int64_t>(shape.size());
    std::vector<int64_t> axes;
    if (axes_tensor) {
        axes = normalize_axes(axes_tensor->to_int64_vector(), rank, node);
    } else {
        for (int64_t d = 0; d < rank; ++d) axes.push_back(d);
    }
    const std::size_t na = axes.size();
    if (pads.size() != 2 * na)
        throw sim::ModelError(node.describe() + ": 'pads' has " + std::to_string(pads.size()) +
                              " values, expected " + std::to_string(2 * na));
    PadSpec spec;
    spec.mode = parse_mode(node);
    spec.begin.assign(shape.size(), 0);
    spec.end.assign(shape.size(), 0);
    // pads = [x1_begin, x2_begin, ..., x1_end, x2_end, ...] for axes x1, x2, ...
    for (std::size_t i = 0; i < na; ++i) {
        spec.begin[axes[i]] = pads[i];
        spec.end[axes[i]] = pads[na + i];
    }
    for (int64_t d = 0; d < rank; ++d) {
        const int64_t cropped =
            shape[d] + std::min<int64_t>(spec.begin[d], 0) + std::min<int64_t>(spec.end[d], 0);
        if (cropped < 0)
            throw sim::ModelError(node.describe() + ": negative pads crop more than axis " +
                                  std::to_string(d) + " of size " + std::to_string(shape[d]));
        const int64_t out =
            cropped + std::max<int64_t>(spec.begin[d], 0) + std::max<int64_t>(spec.end[d], 0);
        if (cropped == 0 && out > 0 && spec.mode != PadMode::Constant)
            throw sim::ModelError(node.describe() + ": cannot pad an empty axis " +
                                  std::to_string(d) + " in mode " +
                                  node.attr_string("mode", "constant"));
        spec.out_shape.push_back(out);
    }
    return spec;
}

// The pads list: attributes before opset 11, input 1 from then on.
std::vector<int64_t> pads_attr(const Node& node, int64_t opset) {
    const char* name = opset < 2 ? "paddings" : "pads";
    if (!node.has_attr(name))
        throw sim::ModelError(node.describe() + ": attribute '" + name + "' is required");
    return node.attr_ints(name);
}

void infer_pad(InferContext& ctx) {
    const InferInput& x = ctx.in(0);
    PadSpec spec;
    if (ctx.opset < 11) {
        spec = make_spec(ctx.node, x.shape, pads_attr(ctx.node, ctx.opset), nullptr);
    } else {
        const bool has_axes = ctx.opset >= 18 && ctx.node.has_input(3);
        spec = make_spec(ctx.node, x.shape, ctx.constant_input(1).to_int64_vector(),
                         has_axes ? &ctx.constant_input(3) : nullptr);
    }
    ctx.set_output(0, x.dtype, spec.out_shape);
}

// Source index in the cropped extent [0, n) for output index p (relative to the cropped
// start), or -1 for the constant value.
int64_t source_index(PadMode mode, int64_t p, int64_t n) {
    if (p >= 0 && p < n) return p;
    switch (mode) {
        case PadMode::Constant:
            return -1;
        case PadMode::Edge:
            return p < 0 ? 0 : n - 1;
        case PadMode::Wrap:
            return ((p % n) + n) % n;
        case PadMode::Reflect: {
            // Mirror without repeating the edge; period 2(n-1), as numpy's 'reflect'.
            if (n == 1) return 0;
            const int64_t period = 2 * (n - 1);
            const int64_t m = ((p % period) + period) % period;
            return m < n ? m : period - m;
        }
    }
    return -1;
}

std::vector<Tensor> compute_pad(const KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    const Node& node = ctx.node;
    PadSpec spec;
    // The padding value as one element of x's type; zero bytes by default.
    Tensor value(x.dtype(), {});
    if (ctx.opset < 11) {
        spec = make_spec(node, x.shape(), pads_attr(node, ctx.opset), nullptr);
        value = Tensor::scalar<double>(node.attr_float("value", 0.0)).cast(x.dtype());
    } else {
        spec = make_spec(node, x.shape(), ctx.in(1).to_int64_vector(),
                         ctx.opset >= 18 && ctx.has(3) ? &ctx.in(3) : nullptr);
        if (ctx.has(2) && ctx.in(2).numel() > 0) {
            if (ctx.in(2).dtype() != x.dtype())
                ctx.fail("constant_value " + describe_tensor(ctx.in(2)) +
                         " does not have the type of the data " + describe_tensor(x));
            std::memcpy(value.raw(), ctx.in(2).raw(), sim::dtype_size(x.dtype()));
        }
    }
    // The output first (its size is checked against the tensor limit); an empty one needs no
    // tables, however large the pads that emptied it.
    Tensor y(x.dtype(), spec.out_shape);
    if (y.numel() == 0) return {y};
    // table[d][j]: the input index along axis d for output index j, or -1 for the value.
    const std::size_t rank = x.shape().size();
    std::vector<std::vector<int64_t>> table(rank);
    for (std::size_t d = 0; d < rank; ++d) {
        const int64_t crop_begin = std::max<int64_t>(-spec.begin[d], 0);
        const int64_t pad_begin = std::max<int64_t>(spec.begin[d], 0);
        const int64_t n =
            x.shape()[d] + std::min<int64_t>(spec.begin[d], 0) + std::min<int64_t>(spec.end[d], 0);
        table[d].resize(static_cast<std::size_t>(spec.out_shape[d]));
        for (int64_t j = 0; j < spec.out_shape[d]; ++j) {
            const int64_t s = source_index(spec.mode, j - pad_begin, n);
            table[d][j] = s < 0 ? -1 : s + crop_begin;
        }
    }
    dispatch_element_size(sim::dtype_size(x.dtype()), node, [&](auto es) {
        gather_by_axis_tables<decltype(es)::value>(bytes(x), bytes(y), x.shape(), spec.out_shape,
                                                   table, bytes(value));
    });
    return {y};
}

XPUSIM_REGISTER_OP("Pad", OpKernel{infer_pad, compute_pad, /*widen_half=*/false});

}  // namespace
}  // namespace xpusim::frontend::ops
