#include "frontends/onnx/ops/op_utils.h"

#include <algorithm>

namespace xpusim::frontend::ops {

void fail(const Node& node, const std::string& why) {
    throw sim::ModelError(node.describe() + ": " + why);
}

int64_t normalize_axis(int64_t axis, int64_t rank, const Node& node) {
    const int64_t a = axis < 0 ? axis + rank : axis;
    if (a < 0 || a >= rank)
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

OpArgs args_of(const InferContext& ctx) {
    OpArgs a{ctx.node, ctx.opset, {}, {}, [&ctx](std::size_t i) -> const Tensor& {
                 return ctx.constant_input(i);
             }};
    for (const InferInput& in : ctx.inputs) {
        a.shapes.push_back(in.present ? &in.shape : nullptr);
        a.dtypes.push_back(in.dtype);
    }
    return a;
}

OpArgs args_of(const KernelContext& ctx) {
    OpArgs a{
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

int64_t dims_product(const Shape& s, std::size_t from, std::size_t to) {
    int64_t p = 1;
    for (std::size_t i = from; i < to && i < s.size(); ++i) p *= s[i];
    return p;
}

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

std::vector<int64_t> spatial_attr(const Node& node, const char* name, std::size_t count,
                                  int64_t def, int64_t lo) {
    std::vector<int64_t> v = node.attr_ints(name, {});
    if (v.empty()) return std::vector<int64_t>(count, def);
    if (v.size() != count)
        fail(node, std::string("attribute '") + name + "' has " + std::to_string(v.size()) +
                       " values, expected " + std::to_string(count));
    for (int64_t x : v)
        if (x < lo || x > kMaxWindowAttr)
            fail(node, std::string("attribute '") + name + "' value " + std::to_string(x) +
                           " is outside [" + std::to_string(lo) + ", " +
                           std::to_string(kMaxWindowAttr) + "]");
    return v;
}

AutoPad auto_pad_of(const Node& node) {
    const std::string s = node.attr_string("auto_pad", "NOTSET");
    if (s == "NOTSET" || s.empty()) return AutoPad::NotSet;
    if (s == "SAME_UPPER") return AutoPad::SameUpper;
    if (s == "SAME_LOWER") return AutoPad::SameLower;
    if (s == "VALID") return AutoPad::Valid;
    fail(node, "unknown auto_pad '" + s + "'");
}

SamePadding same_padding(int64_t in, int64_t stride, int64_t dk, AutoPad ap) {
    const int64_t out = (in + stride - 1) / stride;
    const int64_t total = std::max<int64_t>(0, (out - 1) * stride + dk - in);
    const int64_t begin = ap == AutoPad::SameUpper ? total / 2 : total - total / 2;
    return {out, begin, total - begin};
}

}  // namespace xpusim::frontend::ops
