// ONNX linear quantization of one element, as QuantizeLinear and DequantizeLinear define it:
//   q = saturate(round(x / scale) + zero_point)      round: to nearest, ties to even
//   x = (q - zero_point) * scale
// The kernels (quantize.cpp, qlinear.cpp) and graph passes that fold Q/DQ pairs share these, so
// that a folded constant and the executed node cannot round differently.
#pragma once

#include <cstdint>

#include "sim/tensor/tensor.h"

namespace xpusim::frontend::ops {

using sim::DType;
using sim::Tensor;

/// @brief True for the types a quantized value is stored in here: int8, uint8, int16, uint16,
/// int32 (QLinearConv's bias), fp8 e4m3fn and fp8 e5m2.
bool is_quantized_type(DType t);

/// How the quotient x / scale is computed, and how fp8 handles overflow.
struct QuantizeOptions {
    /// The type x / scale is rounded to before it is rounded to `t`: ONNX divides in y_scale's
    /// type (opset 23 states it; ONNX Runtime and the ONNX reference do so at every opset), so
    /// float32 for float32 scales. Float64 gives the exact quotient.
    DType precision = DType::Float32;
    /// fp8 only: overflow and infinities go to the largest finite value (ONNX's saturate = 1),
    /// else to infinity (e5m2) or NaN (e4m3fn), as Cast with saturate = 0.
    bool saturate = true;
};

/// @brief x quantized to `t`, as stored: for the integer types round(x / scale) + zero_point
/// (ties to even), saturated to t's range, NaN giving zero_point; for fp8 the bit pattern of
/// x / scale + zero_point rounded to t (ties to even).
int64_t quantize_value(double x, double scale, int64_t zero_point, DType t,
                       QuantizeOptions options = {});

/// @brief The inverse: (q - zero_point) * scale, with q the stored value (an fp8 bit pattern for
/// the fp8 types), in double.
double dequantize_value(int64_t q, double scale, int64_t zero_point, DType t);

/// @brief Stores v, a value quantize_value returned for y's type, as element i of y.
void set_quantized(Tensor& y, int64_t i, int64_t v);

}  // namespace xpusim::frontend::ops
