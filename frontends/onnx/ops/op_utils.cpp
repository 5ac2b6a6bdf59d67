#include "frontends/onnx/ops/op_utils.h"

#include <algorithm>

namespace xpusim::frontend::ops {

int64_t normalize_axis(int64_t axis, int64_t rank, const Node& node) {
    const int64_t a = axis < 0 ? axis + rank : axis;
    if (a < 0 || a >= std::max<int64_t>(rank, 1))
        throw sim::ModelError(node.describe() + ": axis " + std::to_string(axis) +
                              " is out of range for rank " + std::to_string(rank));
    return a;
}

std::vector<int64_t> normalize_axes(const std::vector<int64_t>& axes, int64_t rank,
                                    const Node& node) {
    std::vector<int64_t> out;
    for (int64_t a : axes) {
        const int64_t n = normalize_axis(a, rank, node);
        if (std::find(out.begin(), out.end(), n) != out.end())
            throw sim::ModelError(node.describe() + ": axis " + std::to_string(a) + " repeated");
        out.push_back(n);
    }
    return out;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const Node& node) {
    const std::size_t rank = std::max(a.size(), b.size());
    Shape out(rank);
    for (std::size_t i = 0; i < rank; ++i) {
        const int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
        const int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
        if (da == db || db == 1) {
            out[i] = da;
        } else if (da == 1) {
            out[i] = db;
        } else {
            throw sim::ModelError(node.describe() + ": shapes " + sim::shape_str(a) + " and " +
                                  sim::shape_str(b) + " cannot be broadcast");
        }
    }
    return out;
}

std::vector<int64_t> broadcast_offsets(const Shape& in_shape, const Shape& out_shape) {
    const std::size_t rank = out_shape.size();
    const int64_t n = sim::shape_numel(out_shape);
    std::vector<int64_t> offsets(static_cast<std::size_t>(n));
    // Stride of each output axis in the input (0 where the input broadcasts along it).
    std::vector<int64_t> in_strides(rank, 0);
    const auto strides = sim::shape_strides(in_shape);
    for (std::size_t i = 0; i < in_shape.size(); ++i) {
        const std::size_t o = i + (rank - in_shape.size());
        in_strides[o] = in_shape[i] == 1 ? 0 : strides[i];
    }
    std::vector<int64_t> idx(rank, 0);
    int64_t off = 0;
    for (int64_t k = 0; k < n; ++k) {
        offsets[k] = off;
        for (int64_t d = static_cast<int64_t>(rank) - 1; d >= 0; --d) {
            if (++idx[d] < out_shape[d]) {
                off += in_strides[d];
                break;
            }
            off -= in_strides[d] * (out_shape[d] - 1);
            idx[d] = 0;
        }
    }
    return offsets;
}

void infer_same_as_input0(InferContext& ctx) {
    const InferInput& x = ctx.in(0);
    ctx.set_output(0, x.dtype, x.shape);
}

void infer_broadcast(InferContext& ctx) {
    Shape s = ctx.in(0).shape;
    for (std::size_t i = 1; i < ctx.inputs.size(); ++i)
        if (ctx.inputs[i].present) s = broadcast_shapes(s, ctx.inputs[i].shape, ctx.node);
    ctx.set_output(0, ctx.in(0).dtype, s);
}

void infer_broadcast_bool_out(InferContext& ctx) {
    infer_broadcast(ctx);
    ctx.output_dtypes[0] = DType::Bool;
}

std::string describe_tensor(const Tensor& t) {
    return std::string(sim::dtype_name(t.dtype())) + "[" + sim::shape_str(t.shape()) + "]";
}

}  // namespace xpusim::frontend::ops
