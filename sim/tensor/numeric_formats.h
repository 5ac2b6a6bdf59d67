// Conversions between fp32 and the narrow formats the targets compute in. Every float
// conversion rounds to nearest, ties to even (IEEE 754 roundTiesToEven); integer quantization
// rounds the same way and saturates to the type's range.
//
//   format      exp  man  bias  largest finite   inf?  NaN
//   fp16         5    10   15   65504            yes   exp=31, man!=0
//   bf16         8     7  127   3.3895e38        yes   exp=255, man!=0
//   fp8 e4m3fn   4     3    7   448              no    S.1111.111 only
//   fp8 e5m2     5     2   15   57344            yes   exp=31, man!=0
#pragma once

#include <cstdint>
#include <string>

namespace xpusim::sim {

uint16_t float_to_half_bits(float x);
float half_bits_to_float(uint16_t bits);

uint16_t float_to_bf16_bits(float x);
float bf16_bits_to_float(uint16_t bits);

/// @brief fp8 e4m3fn (OCP / ONNX FLOAT8E4M3FN). With saturate (ONNX's default), values beyond
/// 448 and infinities become +-448; without it they become NaN.
uint8_t float_to_e4m3_bits(float x, bool saturate = true);
float e4m3_bits_to_float(uint8_t bits);

/// @brief fp8 e5m2. With saturate, values beyond 57344 and infinities become +-57344; without
/// it they become +-inf.
uint8_t float_to_e5m2_bits(float x, bool saturate = true);
float e5m2_bits_to_float(uint8_t bits);

/// The formats a datapath may round its values through.
enum class NumericFormat { Float32, Float16, BFloat16, Float8E4M3, Float8E5M2 };
NumericFormat numeric_format_from_name(const std::string& name);
const char* numeric_format_name(NumericFormat f);

/// @brief x rounded to the nearest value the format can hold (fp32 in, fp32 out).
float round_to_format(float x, NumericFormat f);
/// @brief Rounds n values in place; the bulk path the datapaths use.
void round_to_format(float* values, long n, NumericFormat f);

/// Affine integer quantization: real = scale * (q - zero_point).
struct QuantParams {
    float scale = 1.0f;
    int32_t zero_point = 0;
};

/// @brief round(x / scale) + zero_point, ties to even, saturated to [-128, 127].
int8_t quantize_int8(float x, QuantParams q);
/// @brief As quantize_int8, saturated to [0, 255].
uint8_t quantize_uint8(float x, QuantParams q);
/// @brief As quantize_int8, saturated to the int32 range.
int32_t quantize_int32(float x, QuantParams q);
/// @brief scale * (q - zero_point).
float dequantize(int32_t q, QuantParams p);

}  // namespace xpusim::sim
