// Operators that move or generate data without arithmetic on it: Reshape, Flatten, Squeeze,
// Unsqueeze, Transpose, Expand, Tile, Shape, Size, ConstantOfShape, Range, Constant, Dropout
// (inference), Cast, CastLike, EyeLike, Trilu, DepthToSpace, SpaceToDepth and OneHot. Kernels
// work on raw bytes (dtype_size), so every element type is handled alike, and each op's output
// shape comes from one rule shared by infer() and compute().
#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <optional>

#include "frontends/onnx/ops/op_utils.h"
#include "sim/tensor/numeric_formats.h"

namespace xpusim::frontend::ops {
namespace {

[[noreturn]] void fail(const Node& node, const std::string& why) {
    throw sim::ModelError(node.describe() + ": " + why);
}

// What a shape rule may read: every input's type and shape, and the values of shape-like
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
    DType dtype(std::size_t i) const {
        shape(i);
        return dtypes[i];
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

using ShapeRule = std::function<Shape(const Args&)>;

// infer(): one output of input 0's type and the shape the rule gives.
std::function<void(InferContext&)> infer_by(ShapeRule rule) {
    return [rule](InferContext& ctx) { ctx.set_output(0, ctx.in(0).dtype, rule(args_of(ctx))); };
}

const uint8_t* bytes(const Tensor& t) {
    return static_cast<const uint8_t*>(t.raw());
}
uint8_t* bytes(Tensor& t) {
    return static_cast<uint8_t*>(t.raw());
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

Tensor permute(const Tensor& x, const std::vector<int64_t>& perm) {
    const auto in_strides = sim::shape_strides(x.shape());
    Shape out_shape(perm.size());
    std::vector<int64_t> strides(perm.size());
    for (std::size_t i = 0; i < perm.size(); ++i) {
        out_shape[i] = x.shape()[perm[i]];
        strides[i] = in_strides[perm[i]];
    }
    Tensor y(x.dtype(), out_shape);
    strided_copy(bytes(x), bytes(y), out_shape, strides, 0, sim::dtype_size(x.dtype()));
    return y;
}

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

// ONNX TensorProto.DataType codes, and the names Cast-1 used for its 'to' string.
DType dtype_from_onnx(int64_t code, const Node& node) {
    switch (code) {
        case 1:
            return DType::Float32;
        case 2:
            return DType::UInt8;
        case 3:
            return DType::Int8;
        case 4:
            return DType::UInt16;
        case 5:
            return DType::Int16;
        case 6:
            return DType::Int32;
        case 7:
            return DType::Int64;
        case 9:
            return DType::Bool;
        case 10:
            return DType::Float16;
        case 11:
            return DType::Float64;
        case 12:
            return DType::UInt32;
        case 13:
            return DType::UInt64;
        case 16:
            return DType::BFloat16;
        case 17:
            return DType::Float8E4M3;
        case 19:
            return DType::Float8E5M2;
        default:
            break;
    }
    static const char* const names[] = {
        "UNDEFINED",      "FLOAT",      "UINT8",          "INT8",       "UINT16",   "INT16",
        "INT32",          "INT64",      "STRING",         "BOOL",       "FLOAT16",  "DOUBLE",
        "UINT32",         "UINT64",     "COMPLEX64",      "COMPLEX128", "BFLOAT16", "FLOAT8E4M3FN",
        "FLOAT8E4M3FNUZ", "FLOAT8E5M2", "FLOAT8E5M2FNUZ", "UINT4",      "INT4"};
    const std::string name = code >= 0 && code < 23 ? names[code] : std::to_string(code);
    throw sim::UnsupportedError(node.describe() + ": element type " + name + " is not supported");
}

DType cast_target(const Node& node) {
    auto it = node.attrs.find("to");
    if (it == node.attrs.end()) fail(node, "attribute 'to' is required");
    if (it->second.kind != Attribute::Kind::String) return dtype_from_onnx(it->second.i, node);
    // Cast-1 names the type: "FLOAT", "INT64", ...
    static const char* const names[] = {"",        "FLOAT",  "UINT8",  "INT8",   "UINT16",
                                        "INT16",   "INT32",  "INT64",  "STRING", "BOOL",
                                        "FLOAT16", "DOUBLE", "UINT32", "UINT64"};
    for (int64_t c = 1; c < 14; ++c)
        if (it->second.s == names[c]) return dtype_from_onnx(c, node);
    if (it->second.s == "BFLOAT16") return DType::BFloat16;
    throw sim::UnsupportedError(node.describe() + ": element type " + it->second.s +
                                " is not supported");
}

// ---- Reshape, Flatten, Squeeze, Unsqueeze ------------------------------------------------------

// Reshape: 0 copies the input's dimension at that index (unless allowzero), one -1 is inferred.
Shape reshape_shape(const Args& a) {
    const Shape& in = a.shape(0);
    const std::vector<int64_t> spec = a.opset < 5 ? a.node.attr_ints("shape") : a.ints(1);
    const bool allowzero = a.node.attr_int("allowzero", 0) != 0;
    Shape out(spec.size());
    int64_t infer_at = -1;
    int64_t known = 1;
    for (std::size_t i = 0; i < spec.size(); ++i) {
        int64_t d = spec[i];
        if (d == 0 && !allowzero) {
            if (i >= in.size())
                fail(a.node,
                     "shape has 0 at index " + std::to_string(i) + " beyond the input's rank");
            d = in[i];
        }
        if (d == -1) {
            if (infer_at >= 0) fail(a.node, "shape has more than one -1");
            infer_at = static_cast<int64_t>(i);
            continue;
        }
        if (d < 0) fail(a.node, "shape has invalid dimension " + std::to_string(d));
        out[i] = d;
        known *= d;
    }
    const int64_t n = sim::shape_numel(in);
    if (infer_at >= 0) {
        if (known == 0 || n % known != 0)
            fail(a.node, "cannot infer the -1 dimension reshaping " + sim::shape_str(in));
        out[infer_at] = n / known;
    } else if (known != n) {
        fail(a.node, "cannot reshape " + sim::shape_str(in) + " to " + sim::shape_str(out));
    }
    return out;
}

Shape flatten_shape(const Args& a) {
    const Shape& in = a.shape(0);
    const int64_t r = static_cast<int64_t>(in.size());
    int64_t axis = a.node.attr_int("axis", 1);
    if (axis < 0) axis += r;
    if (axis < 0 || axis > r) fail(a.node, "axis out of range for rank " + std::to_string(r));
    int64_t outer = 1, inner = 1;
    for (int64_t i = 0; i < r; ++i) (i < axis ? outer : inner) *= in[i];
    return {outer, inner};
}

// Squeeze/Unsqueeze axes: attribute before opset 13, input 1 from 13 (optional for Squeeze).
std::optional<std::vector<int64_t>> axes_arg(const Args& a) {
    if (a.opset < 13) {
        if (!a.node.has_attr("axes")) return std::nullopt;
        return a.node.attr_ints("axes");
    }
    if (!a.has(1)) return std::nullopt;
    return a.ints(1);
}

Shape squeeze_shape(const Args& a) {
    const Shape& in = a.shape(0);
    const auto axes_opt = axes_arg(a);
    Shape out;
    if (!axes_opt) {
        for (int64_t d : in)
            if (d != 1) out.push_back(d);
        return out;
    }
    const auto axes = normalize_axes(*axes_opt, static_cast<int64_t>(in.size()), a.node);
    for (int64_t i = 0; i < static_cast<int64_t>(in.size()); ++i) {
        if (std::find(axes.begin(), axes.end(), i) == axes.end()) {
            out.push_back(in[i]);
        } else if (in[i] != 1) {
            fail(a.node,
                 "cannot squeeze axis " + std::to_string(i) + " of size " + std::to_string(in[i]));
        }
    }
    return out;
}

Shape unsqueeze_shape(const Args& a) {
    const Shape& in = a.shape(0);
    const auto axes_opt = axes_arg(a);
    if (!axes_opt) fail(a.node, "axes are required");
    const int64_t out_rank = static_cast<int64_t>(in.size() + axes_opt->size());
    const auto axes = normalize_axes(*axes_opt, out_rank, a.node);
    Shape out;
    std::size_t next = 0;
    for (int64_t i = 0; i < out_rank; ++i) {
        if (std::find(axes.begin(), axes.end(), i) != axes.end())
            out.push_back(1);
        else
            out.push_back(in[next++]);
    }
    return out;
}

OpKernel reshape_like(ShapeRule rule) {
    return OpKernel{infer_by(rule),
                    [rule](const KernelContext& ctx) {
                        return std::vector<Tensor>{ctx.in(0).reshaped(rule(args_of(ctx)))};
                    },
                    /*widen_half=*/false};
}

XPUSIM_REGISTER_OP("Reshape", reshape_like(reshape_shape));
XPUSIM_REGISTER_OP("Flatten", reshape_like(flatten_shape));
XPUSIM_REGISTER_OP("Squeeze", reshape_like(squeeze_shape));
XPUSIM_REGISTER_OP("Unsqueeze", reshape_like(unsqueeze_shape));

// ---- Transpose, Expand, Tile ------------------------------------------------------------------

std::vector<int64_t> transpose_perm(const Args& a) {
    const int64_t r = static_cast<int64_t>(a.shape(0).size());
    std::vector<int64_t> perm = a.node.attr_ints("perm");
    if (!a.node.has_attr("perm")) {
        for (int64_t i = r - 1; i >= 0; --i) perm.push_back(i);
    }
    if (static_cast<int64_t>(perm.size()) != r)
        fail(a.node,
             "perm has " + std::to_string(perm.size()) + " entries for rank " + std::to_string(r));
    std::vector<bool> seen(static_cast<std::size_t>(r), false);
    for (int64_t p : perm) {
        if (p < 0 || p >= r || seen[p]) fail(a.node, "perm is not a permutation");
        seen[p] = true;
    }
    return perm;
}

Shape transpose_shape(const Args& a) {
    Shape out;
    for (int64_t p : transpose_perm(a)) out.push_back(a.shape(0)[p]);
    return out;
}

XPUSIM_REGISTER_OP("Transpose", OpKernel{infer_by(transpose_shape),
                                         [](const KernelContext& ctx) {
                                             return std::vector<Tensor>{
                                                 permute(ctx.in(0), transpose_perm(args_of(ctx)))};
                                         },
                                         /*widen_half=*/false});

// Expand: bidirectional (numpy) broadcast of the input with the given shape.
Shape expand_shape(const Args& a) {
    return broadcast_shapes(a.shape(0), a.ints(1), a.node);
}

XPUSIM_REGISTER_OP("Expand",
                   OpKernel{infer_by(expand_shape),
                            [](const KernelContext& ctx) {
                                const Tensor& x = ctx.in(0);
                                const Shape out_shape = expand_shape(args_of(ctx));
                                // Broadcast axes read with stride 0.
                                const std::size_t lead = out_shape.size() - x.shape().size();
                                const auto in_strides = sim::shape_strides(x.shape());
                                std::vector<int64_t> strides(out_shape.size(), 0);
                                for (std::size_t i = 0; i < x.shape().size(); ++i)
                                    strides[lead + i] = x.shape()[i] == 1 ? 0 : in_strides[i];
                                Tensor y(x.dtype(), out_shape);
                                strided_copy(bytes(x), bytes(y), out_shape, strides, 0,
                                             sim::dtype_size(x.dtype()));
                                return std::vector<Tensor>{y};
                            },
                            /*widen_half=*/false});

// Tile-6+: repeats per axis (input 1). Tile-1: one repeat count (input 1) along one axis (input 2).
std::vector<int64_t> tile_repeats(const Args& a) {
    const std::size_t r = a.shape(0).size();
    if (a.opset < 6) {
        std::vector<int64_t> reps(r, 1);
        const int64_t axis = normalize_axis(a.ints(2).at(0), static_cast<int64_t>(r), a.node);
        reps[axis] = a.ints(1).at(0);
        return reps;
    }
    std::vector<int64_t> reps = a.ints(1);
    if (reps.size() != r)
        fail(a.node, "repeats has " + std::to_string(reps.size()) + " entries for rank " +
                         std::to_string(r));
    for (int64_t v : reps)
        if (v < 0) fail(a.node, "repeats must not be negative");
    return reps;
}

Shape tile_shape(const Args& a) {
    Shape out = a.shape(0);
    const auto reps = tile_repeats(a);
    for (std::size_t i = 0; i < out.size(); ++i) out[i] *= reps[i];
    return out;
}

Tensor tile(const Tensor& x, const std::vector<int64_t>& reps) {
    // One axis at a time: each block of the axis and everything inside it is written reps times.
    Tensor cur = x;
    const std::size_t es = sim::dtype_size(x.dtype());
    for (std::size_t d = 0; d < reps.size(); ++d) {
        if (reps[d] == 1) continue;
        Shape s = cur.shape();
        int64_t outer = 1;
        for (std::size_t i = 0; i < d; ++i) outer *= s[i];
        const std::size_t block =
            static_cast<std::size_t>(cur.numel() / std::max<int64_t>(outer, 1)) * es;
        s[d] *= reps[d];
        Tensor next(x.dtype(), s);
        if (next.numel() != 0)
            for (int64_t o = 0; o < outer; ++o)
                for (int64_t k = 0; k < reps[d]; ++k)
                    std::memcpy(bytes(next) + (o * reps[d] + k) * block, bytes(cur) + o * block,
                                block);
        cur = next;
    }
    return cur;
}

XPUSIM_REGISTER_OP("Tile", OpKernel{infer_by(tile_shape),
                                    [](const KernelContext& ctx) {
                                        return std::vector<Tensor>{
                                            tile(ctx.in(0), tile_repeats(args_of(ctx)))};
                                    },
                                    /*widen_half=*/false});

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

Shape constant_of_shape_shape(const Args& a) {
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
int64_t range_count(const Args& a) {
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

// ---- Dropout (inference), Cast, CastLike -------------------------------------------------------

// The mask is bool from opset 10, the input's type before.
DType dropout_mask_type(int64_t opset, DType in) {
    return opset >= 10 ? DType::Bool : in;
}

// Dropout only runs in inference mode: output = input, mask all true. Training mode (opset < 7:
// is_test = 0; opset 12+: training_mode input true) is accepted only with ratio 0.
void check_dropout_mode(const Args& a) {
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

// ---- EyeLike, Trilu ---------------------------------------------------------------------------

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

// ---- DepthToSpace, SpaceToDepth, OneHot -------------------------------------------------------

struct BlockPlan {
    Shape split;                // the 6-D view of the input
    std::vector<int64_t> perm;  // applied to that view
    Shape out;                  // the 4-D output
};

BlockPlan depth_to_space_plan(const Args& a) {
    const Shape& s = a.shape(0);
    if (s.size() != 4) fail(a.node, "input must be 4-D (NCHW)");
    const int64_t b = a.node.attr_int("blocksize", 0);
    if (b <= 0) fail(a.node, "blocksize must be positive");
    const int64_t n = s[0], c = s[1], h = s[2], w = s[3];
    if (c % (b * b) != 0) fail(a.node, "channels are not divisible by blocksize^2");
    const std::string mode = a.node.attr_string("mode", "DCR");
    const Shape out{n, c / (b * b), h * b, w * b};
    if (mode == "DCR") return {{n, b, b, c / (b * b), h, w}, {0, 3, 4, 1, 5, 2}, out};
    if (mode == "CRD") return {{n, c / (b * b), b, b, h, w}, {0, 1, 4, 2, 5, 3}, out};
    fail(a.node, "unknown mode '" + mode + "'");
}

BlockPlan space_to_depth_plan(const Args& a) {
    const Shape& s = a.shape(0);
    if (s.size() != 4) fail(a.node, "input must be 4-D (NCHW)");
    const int64_t b = a.node.attr_int("blocksize", 0);
    if (b <= 0) fail(a.node, "blocksize must be positive");
    const int64_t n = s[0], c = s[1], h = s[2], w = s[3];
    if (h % b != 0 || w % b != 0) fail(a.node, "height and width must be divisible by blocksize");
    return {{n, c, h / b, b, w / b, b}, {0, 3, 5, 1, 2, 4}, {n, c * b * b, h / b, w / b}};
}

OpKernel block_rearrange(BlockPlan (*plan)(const Args&)) {
    return OpKernel{infer_by([plan](const Args& a) { return plan(a).out; }),
                    [plan](const KernelContext& ctx) {
                        const BlockPlan p = plan(args_of(ctx));
                        return std::vector<Tensor>{
                            permute(ctx.in(0).reshaped(p.split), p.perm).reshaped(p.out)};
                    },
                    /*widen_half=*/false};
}

XPUSIM_REGISTER_OP("DepthToSpace", block_rearrange(depth_to_space_plan));
XPUSIM_REGISTER_OP("SpaceToDepth", block_rearrange(space_to_depth_plan));

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

int64_t onehot_depth(const Args& a) {
    const Tensor& d = a.value(1);
    if (d.numel() != 1) fail(a.node, "depth must hold one element");
    const int64_t depth = static_cast<int64_t>(d.get_as_double(0));  // non-integer: truncated
    if (depth <= 0) fail(a.node, "depth must be positive");
    return depth;
}

int64_t onehot_axis(const Args& a) {
    const int64_t r = static_cast<int64_t>(a.shape(0).size());
    return normalize_axis(a.node.attr_int("axis", -1), r + 1, a.node);
}

Shape onehot_shape(const Args& a) {
    Shape out = a.shape(0);
    out.insert(out.begin() + onehot_axis(a), onehot_depth(a));
    return out;
}

XPUSIM_REGISTER_OP("OneHot",
                   OpKernel{[](InferContext& ctx) {
                                ctx.set_output(0, ctx.in(2).dtype, onehot_shape(args_of(ctx)));
                            },
                            [](const KernelContext& ctx) {
                                const Args a = args_of(ctx);
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
