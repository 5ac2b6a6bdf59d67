// Integer and quantized products: MatMulInteger, ConvInteger, QLinearMatMul and QLinearConv.
// Each subtracts the zero points and runs the registered MatMul or Conv kernel in double, which
// is exact for 8-bit operands: every product is below 2^16 in magnitude and every partial sum
// an integer far below 2^53. MatMulInteger and ConvInteger return the accumulator as int32
// (wrapping, as a 32-bit accumulator may); the QLinear ops requantize it to y's type.
#include <optional>
#include <string>
#include <utility>

#include "frontends/onnx/ops/op_utils.h"
#include "frontends/onnx/ops/quantize.h"

namespace xpusim::frontend::ops {
namespace {

const OpKernel& kernel_of(const char* op_type) {
    const OpKernel* k = operators().find(op_type);
    if (!k) throw sim::Error(std::string("the ") + op_type + " kernel is not registered");
    return *k;
}

std::string text(const Shape& s) {
    return "[" + sim::shape_str(s) + "]";
}

bool is_8bit_integer(DType t) {
    return t == DType::Int8 || t == DType::UInt8;
}

bool is_fp8(DType t) {
    return t == DType::Float8E4M3 || t == DType::Float8E5M2;
}

// Operand `name` must be int8 or uint8 (or fp8 where `fp8_allowed`, QLinearMatMul-21) and its
// zero point, if given, of the same type.
void check_operand(const Node& node, const char* name, DType t, std::optional<DType> zp,
                   bool fp8_allowed = false) {
    if (!is_8bit_integer(t) && !(fp8_allowed && is_fp8(t)))
        fail(node, std::string(name) + " must be int8 or uint8" +
                       (fp8_allowed ? " (or float8)" : "") + ", got " + sim::dtype_name(t));
    if (zp && *zp != t)
        fail(node, std::string(name) + "'s zero point is " + sim::dtype_name(*zp) + ", not " +
                       sim::dtype_name(t));
}

// Scales are float32 (float16 and bfloat16 from QLinearMatMul-21).
void check_scale(const Node& node, const char* name, DType t) {
    if (t != DType::Float32 && t != DType::Float16 && t != DType::BFloat16)
        fail(node,
             std::string(name) + " must be float, float16 or bfloat16, got " + sim::dtype_name(t));
}

void check_one_value(const Node& node, const char* name, const Shape& s) {
    if (sim::shape_numel(s) != 1)
        fail(node, std::string(name) + " of shape " + text(s) + " must hold one value");
}

// A scale and its zero point describe the same granularity.
void check_pair(const Node& node, const char* name, const Shape& scale, const Shape& zp) {
    if (scale != zp && !(sim::shape_numel(scale) == 1 && sim::shape_numel(zp) == 1))
        fail(node, std::string(name) + " scale " + text(scale) + " and zero point " + text(zp) +
                       " differ in shape");
}

// q - zero_point in double, the zero point broadcast from `zp_shape` (already checked).
Tensor centered(const Tensor& q, const Tensor* zp, const Shape& zp_shape) {
    Tensor out = q.cast(DType::Float64);
    if (!zp) return out;
    const Tensor z = zp->cast(DType::Float64);
    const double* pz = z.data<double>();
    double* po = out.data<double>();
    const auto off = broadcast_offsets(zp_shape, q.shape());
    for (int64_t i = 0; i < out.numel(); ++i) po[i] -= pz[off[i]];
    return out;
}

// An exact integer accumulator as int32, wrapping modulo 2^32.
Tensor to_int32(const Tensor& acc) {
    Tensor y(DType::Int32, acc.shape());
    const double* pa = acc.data<double>();
    int32_t* py = y.data<int32_t>();
    for (int64_t i = 0; i < y.numel(); ++i)
        py[i] = static_cast<int32_t>(static_cast<uint32_t>(static_cast<int64_t>(pa[i])));
    return y;
}

// The requantization multiplier x_scale * w_scale / y_scale and the rounding of accumulator
// times multiplier, in float32 as ONNX Runtime and the ONNX reference compute them.
float requant_multiplier(double a_scale, double b_scale, double y_scale) {
    return static_cast<float>(static_cast<float>(a_scale * b_scale) / static_cast<float>(y_scale));
}

int64_t requantize(double acc, float multiplier, int64_t zero_point, DType t) {
    return quantize_value(acc * multiplier, 1.0, zero_point, t);
}

// A y zero point: its integer value (an fp8 one must be 0).
int64_t output_zero_point(const Node& node, const Tensor& zp) {
    if (is_fp8(zp.dtype())) {
        if (zp.get_as_double(0) != 0.0) fail(node, "a float8 y_zero_point must be 0");
        return 0;
    }
    return zp.get_as_int64(0);
}

// ---- matrix products
// -----------------------------------------------------------------------------

enum class Side { Row, Column };

// The shape a scale or zero point broadcasts from over its operand:
//   one value:           per tensor
//   a, per row of M:     [M] (read as [M, 1]) or the operand's rank with the last dim 1
//                        ([D1, D2, M, 1])
//   b, per column of N:  [N] or the operand's rank with dim -2 equal to 1 ([D1, D2, 1, N])
Shape matmul_param_shape(const Node& node, const char* name, const Shape& operand,
                         const Shape& param, Side side) {
    if (sim::shape_numel(param) == 1) return {};
    const std::size_t r = operand.size();
    if (r >= 2) {
        const bool row = side == Side::Row;
        if (param.size() == 1 && param[0] == operand[row ? r - 2 : r - 1])
            return row ? Shape{param[0], 1} : param;
        bool ok = param.size() == r && param[row ? r - 1 : r - 2] == 1;
        for (std::size_t d = 0; ok && d < r; ++d) ok = param[d] == operand[d] || param[d] == 1;
        if (ok) return param;
    }
    fail(node, std::string(name) + " of shape " + text(param) + " is neither one value nor per " +
                   (side == Side::Row ? "row" : "column") + " of " + text(operand));
}

// The MatMul kernel's output shape for a and b.
Shape matmul_shape(const InferContext& ctx, std::size_t a, std::size_t b) {
    InferContext inner{ctx.node, ctx.opset, {ctx.in(a), ctx.in(b)}, {}, {}};
    kernel_of("MatMul").infer(inner);
    return inner.output_shapes.at(0);
}

Tensor matmul(const KernelContext& ctx, const Tensor& a, const Tensor& b) {
    return kernel_of("MatMul").compute(KernelContext{ctx.node, ctx.opset, {&a, &b}}).at(0);
}

const Shape* shape_if(const InferContext& ctx, std::size_t i) {
    return ctx.inputs.size() > i && ctx.inputs[i].present ? &ctx.inputs[i].shape : nullptr;
}

std::optional<DType> dtype_if(const InferContext& ctx, std::size_t i) {
    if (ctx.inputs.size() > i && ctx.inputs[i].present) return ctx.inputs[i].dtype;
    return std::nullopt;
}

std::optional<DType> dtype_if(const Tensor* t) {
    if (t) return t->dtype();
    return std::nullopt;
}

// MatMulInteger: Y = (A - a_zero_point) * (B - b_zero_point), int32.
void check_matmul_integer(const Node& node, DType a, DType b, std::optional<DType> azp,
                          std::optional<DType> bzp) {
    check_operand(node, "A", a, azp);
    check_operand(node, "B", b, bzp);
}

void infer_matmul_integer(InferContext& ctx) {
    check_matmul_integer(ctx.node, ctx.in(0).dtype, ctx.in(1).dtype, dtype_if(ctx, 2),
                         dtype_if(ctx, 3));
    if (const Shape* s = shape_if(ctx, 2))
        matmul_param_shape(ctx.node, "a_zero_point", ctx.in(0).shape, *s, Side::Row);
    if (const Shape* s = shape_if(ctx, 3))
        matmul_param_shape(ctx.node, "b_zero_point", ctx.in(1).shape, *s, Side::Column);
    ctx.set_output(0, DType::Int32, matmul_shape(ctx, 0, 1));
}

std::vector<Tensor> compute_matmul_integer(const KernelContext& ctx) {
    const Tensor& a = ctx.in(0);
    const Tensor& b = ctx.in(1);
    const Tensor* azp = ctx.has(2) ? &ctx.in(2) : nullptr;
    const Tensor* bzp = ctx.has(3) ? &ctx.in(3) : nullptr;
    check_matmul_integer(ctx.node, a.dtype(), b.dtype(), dtype_if(azp), dtype_if(bzp));
    const Shape za =
        azp ? matmul_param_shape(ctx.node, "a_zero_point", a.shape(), azp->shape(), Side::Row)
            : Shape{};
    const Shape zb =
        bzp ? matmul_param_shape(ctx.node, "b_zero_point", b.shape(), bzp->shape(), Side::Column)
            : Shape{};
    return {to_int32(matmul(ctx, centered(a, azp, za), centered(b, bzp, zb)))};
}

XPUSIM_REGISTER_OP("MatMulInteger",
                   OpKernel{infer_matmul_integer, compute_matmul_integer, /*widen_half=*/false});

// QLinearMatMul: inputs a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale,
// y_zero_point; y = saturate(round(acc * a_scale * b_scale / y_scale) + y_zero_point) with
// acc = (a - a_zero_point) * (b - b_zero_point), a's parameters per tensor or per row, b's per
// tensor or per column, y's per tensor.
struct QLinearMatMulParams {
    Shape a, b;  // broadcast shapes of a's and b's scale and zero point
};

QLinearMatMulParams check_qlinear_matmul(const Node& node, const std::vector<DType>& t,
                                         const std::vector<const Shape*>& s) {
    check_operand(node, "a", t[0], t[2], /*fp8_allowed=*/true);
    check_operand(node, "b", t[3], t[5], /*fp8_allowed=*/true);
    if (!is_8bit_integer(t[7]) && !is_fp8(t[7]))
        fail(node, std::string("y_zero_point must be int8, uint8 or float8, got ") +
                       sim::dtype_name(t[7]));
    check_scale(node, "a_scale", t[1]);
    check_scale(node, "b_scale", t[4]);
    check_scale(node, "y_scale", t[6]);
    check_pair(node, "a's", *s[1], *s[2]);
    check_pair(node, "b's", *s[4], *s[5]);
    check_one_value(node, "y_scale", *s[6]);
    check_one_value(node, "y_zero_point", *s[7]);
    return {matmul_param_shape(node, "a_scale", *s[0], *s[1], Side::Row),
            matmul_param_shape(node, "b_scale", *s[3], *s[4], Side::Column)};
}

void infer_qlinear_matmul(InferContext& ctx) {
    std::vector<DType> t;
    std::vector<const Shape*> s;
    for (std::size_t i = 0; i < 8; ++i) {
        t.push_back(ctx.in(i).dtype);
        s.push_back(&ctx.in(i).shape);
    }
    check_qlinear_matmul(ctx.node, t, s);
    ctx.set_output(0, t[7], matmul_shape(ctx, 0, 3));
}

std::vector<Tensor> compute_qlinear_matmul(const KernelContext& ctx) {
    std::vector<DType> t;
    std::vector<const Shape*> s;
    for (std::size_t i = 0; i < 8; ++i) {
        t.push_back(ctx.in(i).dtype());
        s.push_back(&ctx.in(i).shape());
    }
    const QLinearMatMulParams p = check_qlinear_matmul(ctx.node, t, s);
    const Tensor acc =
        matmul(ctx, centered(ctx.in(0), &ctx.in(2), p.a), centered(ctx.in(3), &ctx.in(5), p.b));
    const Tensor as = ctx.in(1).cast(DType::Float64);
    const Tensor bs = ctx.in(4).cast(DType::Float64);
    const double ys = ctx.in(6).get_as_double(0);
    const int64_t yzp = output_zero_point(ctx.node, ctx.in(7));
    const auto off_a = broadcast_offsets(p.a, acc.shape());
    const auto off_b = broadcast_offsets(p.b, acc.shape());
    const double* pacc = acc.data<double>();
    const double* pas = as.data<double>();
    const double* pbs = bs.data<double>();
    Tensor y(t[7], acc.shape());
    for (int64_t i = 0; i < y.numel(); ++i)
        set_quantized(
            y, i,
            requantize(pacc[i], requant_multiplier(pas[off_a[i]], pbs[off_b[i]], ys), yzp, t[7]));
    return {y};
}

XPUSIM_REGISTER_OP("QLinearMatMul",
                   OpKernel{infer_qlinear_matmul, compute_qlinear_matmul, /*widen_half=*/false});

// ---- convolutions
// --------------------------------------------------------------------------------

// The Conv kernel's output shape for x and w (auto_pad, dilations, group, kernel_shape, pads and
// strides read as Conv reads them).
Shape conv_shape(const InferContext& ctx, std::size_t x, std::size_t w) {
    InferContext inner{ctx.node, ctx.opset, {ctx.in(x), ctx.in(w)}, {}, {}};
    kernel_of("Conv").infer(inner);
    return inner.output_shapes.at(0);
}

Tensor conv(const KernelContext& ctx, const Tensor& x, const Tensor& w, const Tensor* bias) {
    return kernel_of("Conv").compute(KernelContext{ctx.node, ctx.opset, {&x, &w, bias}}).at(0);
}

// A weight scale or zero point: one value, or 1-D with one per output channel (M = w's dim 0),
// which broadcasts over w as [M, 1, ..., 1].
Shape channel_param_shape(const Node& node, const char* name, const Shape& w, const Shape& param) {
    if (sim::shape_numel(param) == 1) return {};
    if (param.size() == 1 && !w.empty() && param[0] == w[0]) {
        Shape s(w.size(), 1);
        s[0] = w[0];
        return s;
    }
    fail(node, std::string(name) + " of shape " + text(param) +
                   " is neither one value nor one per output channel of w " + text(w));
}

// ConvInteger: inputs x, w, x_zero_point (one value), w_zero_point (one value or per output
// channel); y = conv(x - x_zero_point, w - w_zero_point), int32. Padding reads as the zero
// point (0 after the subtraction), as in the spec's test data and ONNX Runtime.
void check_conv_integer(const Node& node, DType x, DType w, std::optional<DType> xzp,
                        std::optional<DType> wzp) {
    check_operand(node, "x", x, xzp);
    check_operand(node, "w", w, wzp);
}

void infer_conv_integer(InferContext& ctx) {
    check_conv_integer(ctx.node, ctx.in(0).dtype, ctx.in(1).dtype, dtype_if(ctx, 2),
                       dtype_if(ctx, 3));
    if (const Shape* s = shape_if(ctx, 2)) check_one_value(ctx.node, "x_zero_point", *s);
    if (const Shape* s = shape_if(ctx, 3))
        channel_param_shape(ctx.node, "w_zero_point", ctx.in(1).shape, *s);
    ctx.set_output(0, DType::Int32, conv_shape(ctx, 0, 1));
}

std::vector<Tensor> compute_conv_integer(const KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    const Tensor& w = ctx.in(1);
    const Tensor* xzp = ctx.has(2) ? &ctx.in(2) : nullptr;
    const Tensor* wzp = ctx.has(3) ? &ctx.in(3) : nullptr;
    check_conv_integer(ctx.node, x.dtype(), w.dtype(), dtype_if(xzp), dtype_if(wzp));
    if (xzp) check_one_value(ctx.node, "x_zero_point", xzp->shape());
    const Shape zw =
        wzp ? channel_param_shape(ctx.node, "w_zero_point", w.shape(), wzp->shape()) : Shape{};
    return {to_int32(conv(ctx, centered(x, xzp, {}), centered(w, wzp, zw), nullptr))};
}

XPUSIM_REGISTER_OP("ConvInteger",
                   OpKernel{infer_conv_integer, compute_conv_integer, /*widen_half=*/false});

// QLinearConv: inputs x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale,
// y_zero_point, B; acc = conv(x - x_zero_point, w - w_zero_point) + B (int32, quantized with
// scale x_scale * w_scale and zero point 0), y = saturate(round(acc * x_scale * w_scale /
// y_scale) + y_zero_point). w's parameters are per tensor or per output channel, the others
// per tensor.
Shape check_qlinear_conv(const Node& node, const std::vector<DType>& t,
                         const std::vector<const Shape*>& s) {
    check_operand(node, "x", t[0], t[2]);
    check_operand(node, "w", t[3], t[5]);
    if (!is_8bit_integer(t[7]))
        fail(node, std::string("y_zero_point must be int8 or uint8, got ") + sim::dtype_name(t[7]));
    check_scale(node, "x_scale", t[1]);
    check_scale(node, "w_scale", t[4]);
    check_scale(node, "y_scale", t[6]);
    const std::pair<std::size_t, const char*> per_tensor[] = {
        {1, "x_scale"}, {2, "x_zero_point"}, {6, "y_scale"}, {7, "y_zero_point"}};
    for (const auto& [i, name] : per_tensor) check_one_value(node, name, *s[i]);
    check_pair(node, "w's", *s[4], *s[5]);
    if (s.size() > 8 && s[8]) {
        if (t[8] != DType::Int32)
            fail(node, std::string("B must be int32, got ") + sim::dtype_name(t[8]));
        if (s[8]->size() != 1 || (*s[8])[0] != (*s[3])[0])
            fail(node, "B of shape " + text(*s[8]) + " must hold one value per output channel");
    }
    return channel_param_shape(node, "w_scale", *s[3], *s[4]);
}

void infer_qlinear_conv(InferContext& ctx) {
    std::vector<DType> t;
    std::vector<const Shape*> s;
    for (std::size_t i = 0; i < 9; ++i) {
        const bool given = i < 8 || (i < ctx.inputs.size() && ctx.inputs[i].present);
        t.push_back(given ? ctx.in(i).dtype : DType::Int32);
        s.push_back(given ? &ctx.in(i).shape : nullptr);
    }
    check_qlinear_conv(ctx.node, t, s);
    ctx.set_output(0, t[7], conv_shape(ctx, 0, 3));
}

std::vector<Tensor> compute_qlinear_conv(const KernelContext& ctx) {
    std::vector<DType> t;
    std::vector<const Shape*> s;
    for (std::size_t i = 0; i < 9; ++i) {
        const bool given = i < 8 || ctx.has(i);
        t.push_back(given ? ctx.in(i).dtype() : DType::Int32);
        s.push_back(given ? &ctx.in(i).shape() : nullptr);
    }
    const Shape zw = check_qlinear_conv(ctx.node, t, s);
    const Tensor bias = ctx.has(8) ? ctx.in(8).cast(DType::Float64) : Tensor();
    const Tensor acc = conv(ctx, centered(ctx.in(0), &ctx.in(2), {}),
                            centered(ctx.in(3), &ctx.in(5), zw), ctx.has(8) ? &bias : nullptr);
    const double xs = ctx.in(1).get_as_double(0);
    const Tensor ws = ctx.in(4).cast(DType::Float64);
    const double ys = ctx.in(6).get_as_double(0);
    const int64_t yzp = output_zero_point(ctx.node, ctx.in(7));
    // One multiplier per output channel m; acc is [N, M, spatial...].
    const int64_t channels = acc.dim(1);
    const int64_t plane = dims_product(acc.shape(), 2, acc.shape().size());
    std::vector<float> multiplier(static_cast<std::size_t>(channels));
    for (int64_t m = 0; m < channels; ++m)
        multiplier[m] = requant_multiplier(xs, ws.data<double>()[ws.numel() == 1 ? 0 : m], ys);
    const double* pacc = acc.data<double>();
    Tensor y(t[7], acc.shape());
    for (int64_t i = 0; i < y.numel(); ++i)
        set_quantized(y, i, requantize(pacc[i], multiplier[(i / plane) % channels], yzp, t[7]));
    return {y};
}

XPUSIM_REGISTER_OP("QLinearConv",
                   OpKernel{infer_qlinear_conv, compute_qlinear_conv, /*widen_half=*/false});

}  // namespace
}  // namespace xpusim::frontend::ops
