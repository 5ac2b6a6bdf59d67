// Operators that make a tensor from shapes, attributes or another tensor: Shape, Size,
// ConstantOfShape, Range, Constant, Dropout (inference), Cast, CastLike, EyeLike, Trilu and
// OneHot. Kernels work on raw bytes (dtype_size) where they only place elements, so every element
// type is handled alike, and each op's output shape comes from one rule shared by infer() and
// compute().
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "frontends/onnx/loader.h"
#include "frontends/onnx/ops/op_utils.h"
#include "sim/tensor/numeric_formats.h"

namespace xpusim::frontend::ops {
namespace {

// A tensor of the given type and shape with every element equal to element 0 of `value`.
Tensor filled_with(const Tensor& value, const Shape& shape) {
    Tensor y(value.dtype(), shape);
    const std::size_t es = sim::dtype_size(value.dtype());
    uint8_t* out = bytes(y);
    for (int64_t i = 0; i < y.numel(); ++i) std::memcpy(out + i * es, bytes(value), es);
    return y;
}

Tensor scalar_of_type(DType t, double v) {
    return Tensor::scalar<double>(v).cast(t);
}

// An element type given as an ONNX TensorProto.DataType code.
DType dtype_from_onnx(int64_t code, const Node& node) {
    return frontend::dtype_from_onnx(static_cast<int>(code), node.describe());
}

DType cast_target(const Node& node) {
    auto it = node.attrs.find("to");
    if (it == node.attrs.end()) fail(node, "attribute 'to' is required");
    if (it->second.kind != Attribute::Kind::String) return dtype_from_onnx(it->second.i, node);
    // Cast-1 names the type: "FLOAT", "INT64", ...
    for (int c = 1; !frontend::onnx_type_name(c).empty(); ++c)
        if (it->second.s == frontend::onnx_type_name(c)) return dtype_from_onnx(c, node);
    throw sim::UnsupportedError(node.describe() + ": element type " + it->second.s +
                                " is not supported");
}

// ---- Shape, Size, ConstantOfShape, Range, Constant ----------------------------------------------

// Shape-15: [start, end) of the dimensions; negative values count from the back, then clamp.
std::vector<int64_t> shape_values(const Node& node, const Shape& in) {
    const int64_t r = static_cast<int64_t>(in.size());
    auto clamp = [r](int64_t v) { return std::min(r, std::max<int64_t>(0, v < 0 ? v + r : v)); };
    const int64_t start = clamp(node.attr_int("start", 0));
    const int64_t end = clamp(node.attr_int("end", r));
    return end > start ? std::vector<int64_t>(in.begin() + start, in.begin() + end)
                       : std::vector<int64_t>{};
}

XPUSIM_REGISTER_OP("Shape", OpKernel{[](InferContext& ctx) {
                                         const auto v = shape_values(ctx.node, ctx.in(0).shape);
                                         ctx.set_output(0, DType::Int64,
                                                        {static_cast<int64_t>(v.size())});
                                     },
                                     [](const KernelContext& ctx) {
                                         const auto v = shape_values(ctx.node, ctx.in(0).shape());
                                         return std::vector<Tensor>{Tensor::from_vector<int64_t>(
                                             {static_cast<int64_t>(v.size())}, v)};
                                     },
                                     /*widen_half=*/false});

XPUSIM_REGISTER_OP("Size", OpKernel{[](InferContext& ctx) { ctx.set_output(0, DType::Int64, {}); },
                                    [](const KernelContext& ctx) {
                                        return std::vector<Tensor>{
                                            Tensor::scalar<int64_t>(ctx.in(0).numel())};
                                    },
                                    /*widen_half=*/false});

// ConstantOfShape: 'value' is a one-element tensor; default float32 0.
Tensor constant_of_shape_value(const Node& node) {
    const Tensor* v = node.attr_tensor("value");
    if (!v) return Tensor::scalar<float>(0.0f);
    if (v->numel() != 1) fail(node, "'value' must hold exactly one element");
    return *v;
}

Shape constant_of_shape_shape(const OpArgs& a) {
    Shape s = a.ints(0);
    for (int64_t d : s)
        if (d < 0) fail(a.node, "shape has negative dimension " + std::to_string(d));
    return s;
}

XPUSIM_REGISTER_OP("ConstantOfShape",
                   OpKernel{[](InferContext& ctx) {
                                ctx.set_output(0, constant_of_shape_value(ctx.node).dtype(),
                                               constant_of_shape_shape(args_of(ctx)));
                            },
                            [](const KernelContext& ctx) {
                                return std::vector<Tensor>{
                                    filled_with(constant_of_shape_value(ctx.node),
                                                constant_of_shape_shape(args_of(ctx)))};
                            },
                            /*widen_half=*/false});

// Range: n = max(ceil((limit - start) / delta), 0) elements.
// As ONNX Runtime, limit - start is taken in the inputs' float type (in double for integers).
int64_t range_count(const OpArgs& a) {
    const Tensor& start = a.value(0);
    const Tensor& limit = a.value(1);
    const Tensor& delta_t = a.value(2);
    if (start.dtype() != limit.dtype() || start.dtype() != delta_t.dtype())
        fail(a.node, "start, limit and delta must have the same type");
    if (start.numel() != 1 || limit.numel() != 1 || delta_t.numel() != 1)
        fail(a.node, "start, limit and delta must be scalars");
    const double delta = delta_t.get_as_double(0);
    if (delta == 0) fail(a.node, "delta must not be zero");
    double diff = limit.get_as_double(0) - start.get_as_double(0);
    if (start.dtype() == DType::Float32 && limit.dtype() == DType::Float32)
        diff = limit.data<float>()[0] - start.data<float>()[0];
    const double n = std::ceil(diff / delta);
    if (!(n > 0)) return 0;
    if (n > 1e15) fail(a.node, "range is too long");
    return static_cast<int64_t>(n);
}

XPUSIM_REGISTER_OP("Range", OpKernel{[](InferContext& ctx) {
                                         ctx.set_output(0, ctx.in(0).dtype,
                                                        {range_count(args_of(ctx))});
                                     },
                                     [](const KernelContext& ctx) {
                                         const int64_t n = range_count(args_of(ctx));
                                         Tensor y(ctx.in(0).dtype(), {n});
                                         dispatch_numeric(y.dtype(), ctx.node, [&](auto tag) {
                                             using T = decltype(tag);
                                             if constexpr (std::is_same_v<T, bool>) {
                                                 ctx.fail("boolean inputs are not allowed");
                                             } else {
                                                 // Accumulated as ONNX Runtime and the spec's
                                                 // function body do (value += delta), not start + i
                                                 // * delta.
                                                 T v = ctx.in(0).data<T>()[0];
                                                 const T delta = ctx.in(2).data<T>()[0];
                                                 T* out = y.data<T>();
                                                 for (int64_t i = 0; i < n;
                                                      ++i, v = static_cast<T>(v + delta))
                                                     out[i] = v;
                                             }
                                         });
                                         return std::vector<Tensor>{y};
                                     }});

Tensor constant_value(const Node& node) {
    if (const Tensor* t = node.attr_tensor("value")) return *t;
    if (node.has_attr("value_float"))
        return Tensor::scalar<float>(static_cast<float>(node.attr_float("value_float", 0)));
    if (node.has_attr("value_int")) return Tensor::scalar<int64_t>(node.attr_int("value_int", 0));
    if (node.has_attr("value_floats")) {
        std::vector<float> v;
        for (double f : node.attr_floats("value_floats")) v.push_back(static_cast<float>(f));
        return Tensor::from_vector<float>({static_cast<int64_t>(v.size())}, v);
    }
    if (node.has_attr("value_ints")) {
        const auto v = node.attr_ints("value_ints");
        return Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v);
    }
    for (const char* a : {"sparse_value", "value_string", "value_strings"})
        if (node.has_attr(a))
            throw sim::UnsupportedError(node.describe() + ": attribute '" + a +
                                        "' is not supported");
    fail(node, "no value attribute");
}

XPUSIM_REGISTER_OP("Constant", OpKernel{[](InferContext& ctx) {
                                            const Tensor t = constant_value(ctx.node);
                                            ctx.set_output(0, t.dtype(), t.shape());
                                        },
                                        [](const KernelContext& ctx) {
                                            return std::vector<Tensor>{constant_value(ctx.node)};
                                        },
                                        /*widen_half=*/false});

// ---- Dropout (inference), Cast, CastLike --------------------------------------------------------

// The mask is bool from opset 10, the input's type before.
DType dropout_mask_type(int64_t opset, DType in) {
    return opset >= 10 ? DType::Bool : in;
}

// Dropout only runs in inference mode: output = input, mask all true. Training mode (opset < 7:
// is_test = 0; opset 12+: training_mode input true) is accepted only with ratio 0.
void check_dropout_mode(const OpArgs& a) {
    double ratio = 0.5;
    if (a.opset < 7) {
        if (a.node.attr_int("is_test", 0) != 0) return;
        ratio = a.node.attr_float("ratio", 0.5);
    } else if (a.opset >= 12) {
        if (!a.has(2) || a.value(2).get_as_double(0) == 0) return;
        if (a.has(1)) ratio = a.value(1).get_as_double(0);
        if (ratio < 0 || ratio >= 1) fail(a.node, "ratio must be in [0, 1)");
    } else {
        return;  // opsets 7-11 have no training mode
    }
    if (ratio != 0)
        throw sim::UnsupportedError(a.node.describe() +
                                    ": training-mode Dropout (random masks) is not supported");
}

XPUSIM_REGISTER_OP("Dropout",
                   OpKernel{[](InferContext& ctx) {
                                check_dropout_mode(args_of(ctx));
                                const InferInput& x = ctx.in(0);
                                ctx.set_output(0, x.dtype, x.shape);
                                if (ctx.node.outputs.size() > 1)
                                    ctx.set_output(1, dropout_mask_type(ctx.opset, x.dtype),
                                                   x.shape);
                            },
                            [](const KernelContext& ctx) {
                                check_dropout_mode(args_of(ctx));
                                const Tensor& x = ctx.in(0);
                                std::vector<Tensor> out{x};
                                if (ctx.node.outputs.size() > 1) {
                                    const DType t = dropout_mask_type(ctx.opset, x.dtype());
                                    out.push_back(filled_with(scalar_of_type(t, 1.0), x.shape()));
                                }
                                return out;
                            },
                            /*widen_half=*/false});

// Float-to-fp8 with saturate = 0 (opset 19) sends out-of-range values to NaN (e4m3fn) or
// infinity (e5m2) instead of the largest finite value; Tensor::cast saturates.
Tensor cast_to(const Tensor& x, DType to, const Node& node) {
    const bool fp8 = to == DType::Float8E4M3 || to == DType::Float8E5M2;
    if (!fp8 || node.attr_int("saturate", 1) != 0) return x.cast(to);
    Tensor y(to, x.shape());
    uint8_t* out = bytes(y);
    for (int64_t i = 0; i < x.numel(); ++i) {
        const float f = static_cast<float>(x.get_as_double(i));
        out[i] = to == DType::Float8E4M3 ? sim::float_to_e4m3_bits(f, false)
                                         : sim::float_to_e5m2_bits(f, false);
    }
    return y;
}

XPUSIM_REGISTER_OP("Cast", OpKernel{[](InferContext& ctx) {
                                        ctx.set_output(0, cast_target(ctx.node), ctx.in(0).shape);
                                    },
                                    [](const KernelContext& ctx) {
                                        return std::vector<Tensor>{
                                            cast_to(ctx.in(0), cast_target(ctx.node), ctx.node)};
                                    },
                                    /*widen_half=*/false});

XPUSIM_REGISTER_OP("CastLike", OpKernel{[](InferContext& ctx) {
                                            ctx.set_output(0, ctx.in(1).dtype, ctx.in(0).shape);
                                        },
                                        [](const KernelContext& ctx) {
                                            return std::vector<Tensor>{
                                                cast_to(ctx.in(0), ctx.in(1).dtype(), ctx.node)};
                                        },
                                        /*widen_half=*/false});

// ---- EyeLike, Trilu -----------------------------------------------------------------------------

DType eyelike_type(const Node& node, DType in) {
    return node.has_attr("dtype") ? dtype_from_onnx(node.attr_int("dtype", 1), node) : in;
}

XPUSIM_REGISTER_OP("EyeLike", OpKernel{[](InferContext& ctx) {
                                           const InferInput& x = ctx.in(0);
                                           if (x.shape.size() != 2) ctx.fail("input must be 2-D");
                                           ctx.set_output(0, eyelike_type(ctx.node, x.dtype),
                                                          x.shape);
                                       },
                                       [](const KernelContext& ctx) {
                                           const Tensor& x = ctx.in(0);
                                           if (x.rank() != 2) ctx.fail("input must be 2-D");
                                           const DType t = eyelike_type(ctx.node, x.dtype());
                                           const Tensor one = scalar_of_type(t, 1.0);
                                           const std::size_t es = sim::dtype_size(t);
                                           Tensor y(t, x.shape());
                                           const int64_t rows = x.dim(0), cols = x.dim(1);
                                           const int64_t k = ctx.node.attr_int("k", 0);
                                           // Ones at (i, i + k).
                                           for (int64_t i = 0; i < rows; ++i)
                                               if (i + k >= 0 && i + k < cols)
                                                   std::memcpy(bytes(y) + (i * cols + i + k) * es,
                                                               bytes(one), es);
                                           return std::vector<Tensor>{y};
                                       },
                                       /*widen_half=*/false});

// Trilu over the last two axes: upper keeps j - i >= k, lower keeps j - i <= k; the rest is 0.
XPUSIM_REGISTER_OP("Trilu",
                   OpKernel{infer_same_as_input0,
                            [](const KernelContext& ctx) {
                                const Tensor& x = ctx.in(0);
                                if (x.rank() < 2) ctx.fail("input must have rank >= 2");
                                const int64_t k = ctx.has(1) ? ctx.in(1).get_as_int64(0) : 0;
                                const bool upper = ctx.node.attr_int("upper", 1) != 0;
                                const int64_t rows = x.dim(-2), cols = x.dim(-1);
                                const std::size_t es = sim::dtype_size(x.dtype());
                                Tensor y(x.dtype(), x.shape());
                                const int64_t mats =
                                    rows * cols == 0 ? 0 : x.numel() / (rows * cols);
                                for (int64_t m = 0; m < mats; ++m) {
                                    for (int64_t i = 0; i < rows; ++i) {
                                        const int64_t lo = upper ? std::max<int64_t>(0, i + k) : 0;
                                        const int64_t hi = upper ? cols : std::min(cols, i + k + 1);
                                        if (hi <= lo) continue;
                                        const int64_t off = (m * rows + i) * cols + lo;
                                        std::memcpy(bytes(y) + off * es, bytes(x) + off * es,
                                                    static_cast<std::size_t>(hi - lo) * es);
                                    }
                                }
                                return std::vector<Tensor>{y};
                            },
                            /*widen_half=*/false});

// ---- OneHot -------------------------------------------------------------------------------------

// OneHot(indices, depth, values=[off, on]): a new axis of size depth; negative indices count
// from depth, out-of-range ones give an all-off row.

// The position element i of the indices marks, or -1. As ONNX Runtime does, a float index marks
// position k only if it equals k (after adding depth to a negative one): 0.7 marks nothing.
int64_t onehot_position(const Tensor& ind, int64_t i, int64_t depth) {
    double v = sim::is_float(ind.dtype()) ? ind.get_as_double(i)
                                          : static_cast<double>(ind.get_as_int64(i));
    if (v < 0) v += static_cast<double>(depth);
    if (!(v >= 0 && v < static_cast<double>(depth)) || v != std::floor(v)) return -1;
    return static_cast<int64_t>(v);
}

std::string format_number(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return buf;
}

int64_t onehot_depth(const OpArgs& a) {
    const Tensor& d = a.value(1);
    if (d.numel() != 1) fail(a.node, "depth must hold one element");
    const double value = d.get_as_double(0);
    if (!(value >= 1)) fail(a.node, "depth " + format_number(value) + " is not positive");
    if (value >= 9.2e18) fail(a.node, "depth " + format_number(value) + " is too large");
    const int64_t depth = static_cast<int64_t>(value);  // non-integer: truncated
    return depth;
}

int64_t onehot_axis(const OpArgs& a) {
    const int64_t r = static_cast<int64_t>(a.shape(0).size());
    return normalize_axis(a.node.attr_int("axis", -1), r + 1, a.node);
}

Shape onehot_shape(const OpArgs& a) {
    Shape out = a.shape(0);
    out.insert(out.begin() + onehot_axis(a), onehot_depth(a));
    return out;
}

XPUSIM_REGISTER_OP("OneHot",
                   OpKernel{[](InferContext& ctx) {
                                ctx.set_output(0, ctx.in(2).dtype, onehot_shape(args_of(ctx)));
                            },
                            [](const KernelContext& ctx) {
                                const OpArgs a = args_of(ctx);
                                const Tensor& ind = ctx.in(0);
                                const Tensor& values = ctx.in(2);
                                if (values.numel() != 2)
                                    ctx.fail("values must hold [off_value, on_value]");
                                const int64_t depth = onehot_depth(a);
                                const int64_t axis = onehot_axis(a);
                                const std::size_t es = sim::dtype_size(values.dtype());
                                Tensor y = filled_with(values, onehot_shape(a));
                                // y viewed as [outer, depth, inner].
                                int64_t outer = 1;
                                for (int64_t i = 0; i < axis; ++i) outer *= ind.shape()[i];
                                const int64_t inner = outer == 0 ? 0 : ind.numel() / outer;
                                for (int64_t o = 0; o < outer; ++o) {
                                    for (int64_t i = 0; i < inner; ++i) {
                                        const int64_t k =
                                            onehot_position(ind, o * inner + i, depth);
                                        if (k < 0) continue;
                                        std::memcpy(bytes(y) + ((o * depth + k) * inner + i) * es,
                                                    bytes(values) + es, es);
                                    }
                                }
                                return std::vector<Tensor>{y};
                            },
                            /*widen_half=*/false});

}  // namespace
}  // namespace xpusim::frontend::ops
