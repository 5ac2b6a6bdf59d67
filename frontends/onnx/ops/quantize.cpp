// Linear quantization: QuantizeLinear and DequantizeLinear (per tensor, per axis from opset 13,
// blocked from opset 21; int8/uint8/int16/uint16, int32 for DequantizeLinear, fp8 e4m3fn and
// e5m2 from opset 19) and DynamicQuantizeLinear (uint8). The element arithmetic is quantize.h's.
#include "frontends/onnx/ops/quantize.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include "frontends/onnx/loader.h"
#include "frontends/onnx/ops/op_utils.h"
#include "sim/tensor/numeric_formats.h"

namespace xpusim::frontend::ops {
namespace {

bool is_fp8(DType t) {
    return t == DType::Float8E4M3 || t == DType::Float8E5M2;
}

// The saturation range of an integer quantized type.
bool integer_range(DType t, double& lo, double& hi) {
    switch (t) {
        case DType::Int8:
            lo = -128, hi = 127;
            return true;
        case DType::UInt8:
            lo = 0, hi = 255;
            return true;
        case DType::Int16:
            lo = -32768, hi = 32767;
            return true;
        case DType::UInt16:
            lo = 0, hi = 65535;
            return true;
        case DType::Int32:
            lo = std::numeric_limits<int32_t>::min(), hi = std::numeric_limits<int32_t>::max();
            return true;
        default:
            return false;
    }
}

// x / scale rounded to the type the division is done in.
double divide_in(double x, double scale, DType precision) {
    const double q = x / scale;
    switch (precision) {
        case DType::Float32:
            return static_cast<float>(q);
        case DType::Float16:
            return sim::round_to_format(static_cast<float>(q), sim::NumericFormat::Float16);
        case DType::BFloat16:
            return sim::round_to_format(static_cast<float>(q), sim::NumericFormat::BFloat16);
        default:
            return q;
    }
}

}  // namespace

bool is_quantized_type(DType t) {
    double lo, hi;
    return integer_range(t, lo, hi) || is_fp8(t);
}

int64_t quantize_value(double x, double scale, int64_t zero_point, DType t,
                       QuantizeOptions options) {
    const double q = divide_in(x, scale, options.precision);
    double lo, hi;
    if (integer_range(t, lo, hi)) {
        if (std::isnan(q))
            return static_cast<int64_t>(std::clamp(static_cast<double>(zero_point), lo, hi));
        // nearbyint rounds ties to even in the default rounding mode.
        return static_cast<int64_t>(
            std::clamp(std::nearbyint(q) + static_cast<double>(zero_point), lo, hi));
    }
    const float f = static_cast<float>(q + static_cast<double>(zero_point));
    if (t == DType::Float8E4M3) return sim::float_to_e4m3_bits(f, options.saturate);
    if (t == DType::Float8E5M2) return sim::float_to_e5m2_bits(f, options.saturate);
    throw sim::UnsupportedError(std::string("quantize_value: ") + sim::dtype_name(t) +
                                " is not a quantized type");
}

double dequantize_value(int64_t q, double scale, int64_t zero_point, DType t) {
    if (t == DType::Float8E4M3 || t == DType::Float8E5M2) {
        const auto bits = static_cast<uint8_t>(q);
        const double v =
            t == DType::Float8E4M3 ? sim::e4m3_bits_to_float(bits) : sim::e5m2_bits_to_float(bits);
        return (v - static_cast<double>(zero_point)) * scale;
    }
    return static_cast<double>(q - zero_point) * scale;
}

void set_quantized(Tensor& y, int64_t i, int64_t v) {
    switch (y.dtype()) {
        case DType::Int8:
            y.data<int8_t>()[i] = static_cast<int8_t>(v);
            return;
        case DType::UInt8:
            y.data<uint8_t>()[i] = static_cast<uint8_t>(v);
            return;
        case DType::Int16:
            y.data<int16_t>()[i] = static_cast<int16_t>(v);
            return;
        case DType::UInt16:
            y.data<uint16_t>()[i] = static_cast<uint16_t>(v);
            return;
        case DType::Int32:
            y.data<int32_t>()[i] = static_cast<int32_t>(v);
            return;
        case DType::Float8E4M3:
        case DType::Float8E5M2:
            bytes(y)[i] = static_cast<uint8_t>(v);
            return;
        default:
            throw sim::UnsupportedError(std::string("set_quantized: ") +
                                        sim::dtype_name(y.dtype()) + " is not a quantized type");
    }
}

namespace {

// The stored value of element i of a quantized tensor: the integer, or the fp8 bit pattern.
int64_t stored_value(const Tensor& t, int64_t i) {
    return is_fp8(t.dtype()) ? bytes(t)[i] : t.get_as_int64(i);
}

// An element type named by a TensorProto code in output_dtype or precision: the quantized
// types and the float types a scale or precision may take.
DType dtype_attr(const Node& node, const char* attr, int64_t code) {
    const DType t =
        frontend::dtype_from_onnx(static_cast<int>(code), node.describe() + ": " + attr);
    switch (t) {
        case DType::Float64:
        case DType::Int64:
        case DType::UInt32:
        case DType::UInt64:
        case DType::Bool:
            throw sim::UnsupportedError(node.describe() + ": " + attr + " " +
                                        frontend::onnx_type_name(static_cast<int>(code)) +
                                        " is not supported");
        default:
            return t;
    }
}

bool is_float_type(DType t) {
    return t == DType::Float32 || t == DType::Float16 || t == DType::BFloat16;
}

// Which scale and zero point apply to each element of x:
//   per tensor: a scalar scale (or any one-element tensor, as the ONNX reference reads it)
//   per axis:   a 1-D scale of x.shape[axis] elements
//   blocked:    block_size > 0; the scale has x's shape except ceil(D / block_size) along axis,
//               each scale serving block_size consecutive elements there
struct QuantLayout {
    enum class Kind { PerTensor, PerAxis, Blocked };
    Kind kind = Kind::PerTensor;
    int64_t axis = 0;
    int64_t block = 1;
};

QuantLayout quant_layout(const Node& node, const Shape& x, const Shape& scale, const Shape* zp) {
    const auto text = [](const Shape& s) { return "[" + sim::shape_str(s) + "]"; };
    if (zp && *zp != scale && !(sim::shape_numel(*zp) == 1 && sim::shape_numel(scale) == 1))
        fail(node, "zero point of shape " + text(*zp) + " differs from the scale's " + text(scale));
    const int64_t block = node.attr_int("block_size", 0);
    if (block < 0) fail(node, "block_size " + std::to_string(block) + " must not be negative");
    QuantLayout l;
    if (sim::shape_numel(scale) == 1) return l;
    const int64_t rank = static_cast<int64_t>(x.size());
    l.axis = normalize_axis(node.attr_int("axis", 1), rank, node);
    if (block == 0) {
        if (scale.size() != 1 || scale[0] != x[l.axis])
            fail(node, "scale of shape " + text(scale) + " is neither a scalar nor 1-D with the " +
                           std::to_string(x[l.axis]) + " elements of axis " +
                           std::to_string(l.axis) + " (blocked scales need block_size)");
        l.kind = QuantLayout::Kind::PerAxis;
        return l;
    }
    l.kind = QuantLayout::Kind::Blocked;
    l.block = block;
    bool ok = static_cast<int64_t>(scale.size()) == rank;
    for (int64_t d = 0; ok && d < rank; ++d)
        ok = scale[d] == (d == l.axis ? (x[d] + block - 1) / block : x[d]);
    if (!ok)
        fail(node, "blocked scale of shape " + text(scale) + " does not match input " + text(x) +
                       " with block_size " + std::to_string(block) + " along axis " +
                       std::to_string(l.axis));
    return l;
}

// Calls f(i, p) for every element i of x (row-major) with p the index of its scale.
template <class F>
void for_each_element(const QuantLayout& l, const Shape& x, F&& f) {
    const int64_t n = sim::shape_numel(x);
    if (l.kind == QuantLayout::Kind::PerTensor) {
        for (int64_t i = 0; i < n; ++i) f(i, 0);
        return;
    }
    const auto axis = static_cast<std::size_t>(l.axis);
    const int64_t outer = dims_product(x, 0, axis);
    const int64_t d = x[axis];
    const int64_t inner = dims_product(x, axis + 1, x.size());
    const int64_t blocks = (d + l.block - 1) / l.block;
    const bool per_axis = l.kind == QuantLayout::Kind::PerAxis;
    for (int64_t o = 0; o < outer; ++o)
        for (int64_t a = 0; a < d; ++a)
            for (int64_t j = 0; j < inner; ++j)
                f((o * d + a) * inner + j, per_axis ? a : (o * blocks + a / l.block) * inner + j);
}

// fp8 zero points must be zero, as the ONNX reference requires (they are "usually not used").
void check_fp8_zero_point(const Node& node, const Tensor* zp) {
    if (!zp || !is_fp8(zp->dtype())) return;
    for (int64_t i = 0; i < zp->numel(); ++i)
        if (zp->get_as_double(i) != 0.0)
            fail(node, "a " + std::string(sim::dtype_name(zp->dtype())) +
                           " zero point must be 0, got " + std::to_string(zp->get_as_double(i)));
}

// The type of input 2, the zero point, if given.
std::optional<DType> zp_type_of(const InferContext& ctx) {
    if (ctx.inputs.size() > 2 && ctx.inputs[2].present) return ctx.inputs[2].dtype;
    return std::nullopt;
}
std::optional<DType> zp_type_of(const Tensor* zp) {
    if (zp) return zp->dtype();
    return std::nullopt;
}

// ---- QuantizeLinear
// ------------------------------------------------------------------------------

// y's type: y_zero_point's, else output_dtype (opset 21), else uint8; both given must agree.
DType quantize_output_type(const Node& node, std::optional<DType> zp_type) {
    const int64_t code = node.attr_int("output_dtype", 0);
    DType t = code != 0 ? dtype_attr(node, "output_dtype", code) : DType::UInt8;
    if (zp_type) {
        if (code != 0 && *zp_type != t)
            fail(node, std::string("output_dtype ") + sim::dtype_name(t) +
                           " differs from y_zero_point's type " + sim::dtype_name(*zp_type));
        t = *zp_type;
    }
    if (!is_quantized_type(t) || t == DType::Int32)
        fail(node, std::string("cannot quantize to ") + sim::dtype_name(t) +
                       " (int8, uint8, int16, uint16, float8e4m3 or float8e5m2)");
    return t;
}

void check_quantize_inputs(const Node& node, DType x, DType scale) {
    if (!is_float_type(x) && x != DType::Int32)
        fail(node,
             std::string("x must be float, float16, bfloat16 or int32, got ") + sim::dtype_name(x));
    if (!is_float_type(scale) && scale != DType::Int32)
        fail(node, std::string("y_scale must be float, float16, bfloat16 or int32, got ") +
                       sim::dtype_name(scale));
}

// The division runs in y_scale's type unless 'precision' (opset 23) names another; an int32
// scale divides exactly.
QuantizeOptions quantize_options(const Node& node, DType scale) {
    QuantizeOptions o;
    const int64_t code = node.attr_int("precision", 0);
    o.precision = code != 0 ? dtype_attr(node, "precision", code) : scale;
    if (o.precision == DType::Int32) o.precision = DType::Float64;
    if (!is_float_type(o.precision) && o.precision != DType::Float64)
        fail(node,
             std::string("precision ") + sim::dtype_name(o.precision) + " is not a float type");
    o.saturate = node.attr_int("saturate", 1) != 0;
    return o;
}

void infer_quantize_linear(InferContext& ctx) {
    const bool has_zp = ctx.inputs.size() > 2 && ctx.inputs[2].present;
    check_quantize_inputs(ctx.node, ctx.in(0).dtype, ctx.in(1).dtype);
    quant_layout(ctx.node, ctx.in(0).shape, ctx.in(1).shape, has_zp ? &ctx.in(2).shape : nullptr);
    quantize_options(ctx.node, ctx.in(1).dtype);
    ctx.set_output(0, quantize_output_type(ctx.node, zp_type_of(ctx)), ctx.in(0).shape);
}

std::vector<Tensor> compute_quantize_linear(const KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    const Tensor& scale = ctx.in(1);
    const Tensor* zp = ctx.has(2) ? &ctx.in(2) : nullptr;
    check_quantize_inputs(ctx.node, x.dtype(), scale.dtype());
    const QuantLayout l =
        quant_layout(ctx.node, x.shape(), scale.shape(), zp ? &zp->shape() : nullptr);
    const QuantizeOptions options = quantize_options(ctx.node, scale.dtype());
    const DType t = quantize_output_type(ctx.node, zp_type_of(zp));
    check_fp8_zero_point(ctx.node, zp);
    const Tensor xd = x.cast(DType::Float64);
    const Tensor sd = scale.cast(DType::Float64);
    const double* px = xd.data<double>();
    const double* ps = sd.data<double>();
    Tensor y(t, x.shape());
    for_each_element(l, x.shape(), [&](int64_t i, int64_t p) {
        const int64_t z = zp && !is_fp8(t) ? zp->get_as_int64(p) : 0;
        set_quantized(y, i, quantize_value(px[i], ps[p], z, t, options));
    });
    return {y};
}

XPUSIM_REGISTER_OP("QuantizeLinear",
                   OpKernel{infer_quantize_linear, compute_quantize_linear, /*widen_half=*/false});

// ---- DequantizeLinear
// ----------------------------------------------------------------------------

// y's type: output_dtype (opset 23) if given, else x_scale's (float32 before opset 19).
DType dequantize_output_type(const Node& node, DType x, DType scale, std::optional<DType> zp) {
    if (!is_quantized_type(x))
        fail(node, std::string("x must be int8, uint8, int16, uint16, int32 or float8, got ") +
                       sim::dtype_name(x));
    if (zp && *zp != x)
        fail(node, std::string("x_zero_point's type ") + sim::dtype_name(*zp) +
                       " differs from x's " + sim::dtype_name(x));
    if (!is_float_type(scale))
        fail(node, std::string("x_scale must be float, float16 or bfloat16, got ") +
                       sim::dtype_name(scale));
    const int64_t code = node.attr_int("output_dtype", 0);
    const DType t = code != 0 ? dtype_attr(node, "output_dtype", code) : scale;
    if (!is_float_type(t))
        fail(node, std::string("output_dtype ") + sim::dtype_name(t) + " is not a float type");
    return t;
}

void infer_dequantize_linear(InferContext& ctx) {
    const bool has_zp = ctx.inputs.size() > 2 && ctx.inputs[2].present;
    quant_layout(ctx.node, ctx.in(0).shape, ctx.in(1).shape, has_zp ? &ctx.in(2).shape : nullptr);
    ctx.set_output(
        0, dequantize_output_type(ctx.node, ctx.in(0).dtype, ctx.in(1).dtype, zp_type_of(ctx)),
        ctx.in(0).shape);
}

// y = (x - x_zero_point) * x_scale in double, rounded once to y's type.
std::vector<Tensor> compute_dequantize_linear(const KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    const Tensor& scale = ctx.in(1);
    const Tensor* zp = ctx.has(2) ? &ctx.in(2) : nullptr;
    const DType t = dequantize_output_type(ctx.node, x.dtype(), scale.dtype(), zp_type_of(zp));
    const QuantLayout l =
        quant_layout(ctx.node, x.shape(), scale.shape(), zp ? &zp->shape() : nullptr);
    check_fp8_zero_point(ctx.node, zp);
    const Tensor sd = scale.cast(DType::Float64);
    const double* ps = sd.data<double>();
    Tensor y(DType::Float64, x.shape());
    double* py = y.data<double>();
    for_each_element(l, x.shape(), [&](int64_t i, int64_t p) {
        const int64_t z = zp && !is_fp8(x.dtype()) ? zp->get_as_int64(p) : 0;
        py[i] = dequantize_value(stored_value(x, i), ps[p], z, x.dtype());
    });
    return {y.cast(t)};
}

XPUSIM_REGISTER_OP("DequantizeLinear", OpKernel{infer_dequantize_linear, compute_dequantize_linear,
                                                /*widen_half=*/false});

// ---- DynamicQuantizeLinear
// -----------------------------------------------------------------------

// uint8 only (the spec's one type), in float32 as the spec's function body computes:
//   y_scale = (max(x, 0) - min(x, 0)) / 255
//   y_zero_point = round(saturate(0 - min(x, 0) / y_scale))
//   y = saturate(round(x / y_scale) + y_zero_point)
// An all-zero (or empty) x has an empty range; its scale is 1 / 255, as in the ONNX reference.
std::vector<Tensor> compute_dynamic_quantize_linear(const KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    if (x.dtype() != DType::Float32) ctx.fail("x must be float32, got " + describe_tensor(x));
    const float* px = x.data<float>();
    float lo = 0.0f, hi = 0.0f;
    for (int64_t i = 0; i < x.numel(); ++i) {
        lo = std::min(lo, px[i]);
        hi = std::max(hi, px[i]);
    }
    const float scale = (hi == lo ? 1.0f : hi - lo) / 255.0f;
    const float zp_real = std::clamp(0.0f - lo / scale, 0.0f, 255.0f);
    const auto zp = static_cast<int64_t>(std::nearbyint(zp_real));
    Tensor y(DType::UInt8, x.shape());
    for (int64_t i = 0; i < x.numel(); ++i)
        set_quantized(y, i, quantize_value(px[i], scale, zp, DType::UInt8));
    return {y, Tensor::scalar<float>(scale), Tensor::scalar<uint8_t>(static_cast<uint8_t>(zp))};
}

void infer_dynamic_quantize_linear(InferContext& ctx) {
    if (ctx.in(0).dtype != DType::Float32)
        ctx.fail(std::string("x must be float32, got ") + sim::dtype_name(ctx.in(0).dtype));
    ctx.set_output(0, DType::UInt8, ctx.in(0).shape);
    ctx.set_output(1, DType::Float32, {});
    ctx.set_output(2, DType::UInt8, {});
}

XPUSIM_REGISTER_OP("DynamicQuantizeLinear",
                   OpKernel{infer_dynamic_quantize_linear, compute_dynamic_quantize_linear,
                            /*widen_half=*/false});

}  // namespace
}  // namespace xpusim::frontend::ops
