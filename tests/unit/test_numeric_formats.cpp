// Numeric formats against bit patterns worked out by hand from the IEEE 754 / OCP FP8 encodings.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "sim/error.h"
#include "sim/tensor/numeric_formats.h"

using namespace xpusim::sim;

namespace {
float from_bits(uint32_t b) {
    float f;
    std::memcpy(&f, &b, 4);
    return f;
}
}  // namespace

TEST_CASE("fp16 encodes exact values and rounds ties to even", "[formats]") {
    // 1.0 = 0 01111 0000000000
    CHECK(float_to_half_bits(1.0f) == 0x3C00);
    // -2.0 = 1 10000 0000000000
    CHECK(float_to_half_bits(-2.0f) == 0xC000);
    // 65504 = largest finite: 0 11110 1111111111
    CHECK(float_to_half_bits(65504.0f) == 0x7BFF);
    // 65520 is the midpoint between 65504 and 65536 (=inf after rounding): ties-to-even picks
    // the even mantissa, which overflows to infinity: 0 11111 0000000000.
    CHECK(float_to_half_bits(65520.0f) == 0x7C00);
    // 65519 rounds down to 65504.
    CHECK(float_to_half_bits(65519.0f) == 0x7BFF);
    // Smallest subnormal 2^-24 = 0x0001; half of it (2^-25) is a tie between 0 and 0x0001:
    // even is 0.
    CHECK(float_to_half_bits(std::ldexp(1.0f, -24)) == 0x0001);
    CHECK(float_to_half_bits(std::ldexp(1.0f, -25)) == 0x0000);
    // 3 * 2^-25 lies halfway between 0x0001 and 0x0002: even is 0x0002.
    CHECK(float_to_half_bits(3.0f * std::ldexp(1.0f, -25)) == 0x0002);
    // 1 + 2^-11 is halfway between 1.0 (mantissa 0, even) and 1 + 2^-10: rounds to 1.0.
    CHECK(float_to_half_bits(1.0f + std::ldexp(1.0f, -11)) == 0x3C00);
    // 1 + 3*2^-11 is halfway between 1+2^-10 (odd) and 1+2^-9 (even): rounds up to 0x3C02.
    CHECK(float_to_half_bits(1.0f + 3.0f * std::ldexp(1.0f, -11)) == 0x3C02);
    CHECK(float_to_half_bits(std::numeric_limits<float>::infinity()) == 0x7C00);
    CHECK((float_to_half_bits(std::nanf("")) & 0x7C00) == 0x7C00);
    CHECK((float_to_half_bits(std::nanf("")) & 0x03FF) != 0);
    CHECK(half_bits_to_float(0x3555) == Approx(0.333251953125f).epsilon(0));
    CHECK(half_bits_to_float(0x0001) == std::ldexp(1.0f, -24));
}

TEST_CASE("bf16 keeps the top 16 bits, rounding ties to even", "[formats]") {
    // 1.0f = 0x3F800000 -> 0x3F80
    CHECK(float_to_bf16_bits(1.0f) == 0x3F80);
    // 0x3F808000 is exactly halfway between 0x3F80 and 0x3F81: even 0x3F80.
    CHECK(float_to_bf16_bits(from_bits(0x3F808000)) == 0x3F80);
    // 0x3F818000 is halfway between 0x3F81 (odd) and 0x3F82: rounds up.
    CHECK(float_to_bf16_bits(from_bits(0x3F818000)) == 0x3F82);
    // Just above the midpoint rounds up.
    CHECK(float_to_bf16_bits(from_bits(0x3F808001)) == 0x3F81);
    // 0x3EF5EEB0 (0.48033667): low half 0xEEB0 > 0x8000 -> 0x3EF6 (0.48046875).
    CHECK(float_to_bf16_bits(from_bits(0x3EF5EEB0)) == 0x3EF6);
    // The largest finite float rounds up past bf16's largest finite value to infinity.
    CHECK(float_to_bf16_bits(std::numeric_limits<float>::max()) == 0x7F80);
    CHECK(bf16_bits_to_float(0xC040) == -3.0f);
    const uint16_t nan = float_to_bf16_bits(std::nanf(""));
    CHECK(std::isnan(bf16_bits_to_float(nan)));
}

TEST_CASE("fp8 e4m3fn: bias 7, no infinity, max 448, saturating", "[formats]") {
    // 1.0 = 0 0111 000
    CHECK(float_to_e4m3_bits(1.0f) == 0x38);
    // 448 = 1.75 * 2^8 = 0 1111 110
    CHECK(float_to_e4m3_bits(448.0f) == 0x7E);
    CHECK(e4m3_bits_to_float(0x7E) == 448.0f);
    // 0x7F is NaN (S.1111.111).
    CHECK(std::isnan(e4m3_bits_to_float(0x7F)));
    // 464 is the tie between 448 (mantissa 110, even) and 480 (would be the NaN code): 448.
    CHECK(float_to_e4m3_bits(464.0f) == 0x7E);
    // 500 overflows: saturates to 448, or becomes NaN without saturation.
    CHECK(float_to_e4m3_bits(500.0f) == 0x7E);
    CHECK(float_to_e4m3_bits(-500.0f) == 0xFE);
    CHECK(float_to_e4m3_bits(500.0f, false) == 0x7F);
    CHECK(float_to_e4m3_bits(std::numeric_limits<float>::infinity()) == 0x7E);
    // Smallest subnormal: 2^-6 * 2^-3 = 2^-9 -> 0x01; 2^-10 is a tie between 0 and 0x01 -> 0.
    CHECK(float_to_e4m3_bits(std::ldexp(1.0f, -9)) == 0x01);
    CHECK(float_to_e4m3_bits(std::ldexp(1.0f, -10)) == 0x00);
    // 0.3 = 1.2 * 2^-2: mantissa 0.2*8 = 1.6 -> 2 -> 0 0101 010 = 0x2A (0.3125).
    CHECK(float_to_e4m3_bits(0.3f) == 0x2A);
    CHECK(e4m3_bits_to_float(0x2A) == 0.3125f);
}

TEST_CASE("fp8 e5m2: bias 15, with infinity, max 57344", "[formats]") {
    // 1.0 = 0 01111 00
    CHECK(float_to_e5m2_bits(1.0f) == 0x3C);
    // 57344 = 1.75 * 2^15 = 0 11110 11
    CHECK(float_to_e5m2_bits(57344.0f) == 0x7B);
    // 61440 is the tie between 57344 and 65536 (infinity): saturate -> 57344; without it the
    // even choice 65536 overflows to infinity 0x7C.
    CHECK(float_to_e5m2_bits(61440.0f) == 0x7B);
    CHECK(float_to_e5m2_bits(61440.0f, false) == 0x7C);
    CHECK(float_to_e5m2_bits(1e6f, false) == 0x7C);
    CHECK(float_to_e5m2_bits(-std::numeric_limits<float>::infinity(), false) == 0xFC);
    CHECK(std::isinf(e5m2_bits_to_float(0x7C)));
    CHECK(std::isnan(e5m2_bits_to_float(0x7E)));
    // 1.125 lies halfway between 1.0 (mantissa 00) and 1.25 (01): even -> 1.0.
    CHECK(float_to_e5m2_bits(1.125f) == 0x3C);
    // 1.375 is halfway between 1.25 (01) and 1.5 (10): even -> 1.5 = 0x3E.
    CHECK(float_to_e5m2_bits(1.375f) == 0x3E);
}

TEST_CASE("int8 and int32 quantization rounds ties to even and saturates", "[formats]") {
    QuantParams q{0.5f, 0};
    CHECK(quantize_int8(1.25f, q) == 2);     // 2.5 -> 2 (even)
    CHECK(quantize_int8(1.75f, q) == 4);     // 3.5 -> 4 (even)
    CHECK(quantize_int8(-1.25f, q) == -2);   // -2.5 -> -2
    CHECK(quantize_int8(100.0f, q) == 127);  // 200 saturates
    CHECK(quantize_int8(-100.0f, q) == -128);
    QuantParams zp{0.1f, 10};
    CHECK(quantize_int8(1.0f, zp) == 20);     // 1.0/0.1 = 10, +10
    CHECK(quantize_uint8(-5.0f, zp) == 0);    // -50 + 10 = -40 saturates at 0
    CHECK(quantize_uint8(30.0f, zp) == 255);  // 300 + 10 saturates at 255
    CHECK(quantize_int32(3e9f, QuantParams{1.0f, 0}) == 2147483647);
    CHECK(dequantize(20, zp) == Approx(1.0f));
}

TEST_CASE("round_to_format agrees with the bit-level conversions", "[formats]") {
    CHECK(round_to_format(1.0f + std::ldexp(1.0f, -11), NumericFormat::Float16) == 1.0f);
    CHECK(round_to_format(from_bits(0x3F818000), NumericFormat::BFloat16) == from_bits(0x3F820000));
    CHECK(round_to_format(500.0f, NumericFormat::Float8E4M3) == 448.0f);
    float v[3] = {1.0f, from_bits(0x3F808001), -3.0f};
    round_to_format(v, 3, NumericFormat::BFloat16);
    CHECK(v[1] == from_bits(0x3F810000));
    CHECK(numeric_format_from_name("bf16") == NumericFormat::BFloat16);
    CHECK_THROWS_AS(numeric_format_from_name("fp7"), ConfigError);
}

TEST_CASE("the bulk fp16 rounding equals the scalar encode-decode, bit for bit", "[formats]") {
    // Every 4099th float bit pattern (about a million: all exponents, signs, subnormals, NaNs),
    // plus the boundaries: the fp16 overflow threshold, the subnormal range and its ties.
    std::vector<float> xs;
    for (uint64_t u = 0; u <= 0xFFFFFFFFull; u += 4099) xs.push_back(from_bits(static_cast<uint32_t>(u)));
    for (float x : {65504.0f, 65519.0f, 65519.996f, 65520.0f, 65536.0f, std::ldexp(1.0f, -14), std::ldexp(1.0f, -24),
                    std::ldexp(1.0f, -25), 3.0f * std::ldexp(1.0f, -25), std::ldexp(1.0f, -14) * 0.99999f, 0.0f, -0.0f})
        for (float s : {1.0f, -1.0f}) xs.push_back(s * x);
    std::vector<float> bulk = xs;
    round_to_format(bulk.data(), static_cast<long>(bulk.size()), NumericFormat::Float16);
    std::size_t mismatches = 0;
    for (std::size_t i = 0; i < xs.size(); ++i) {
        const float scalar = half_bits_to_float(float_to_half_bits(xs[i]));
        const bool same = std::isnan(scalar) ? std::isnan(bulk[i]) : std::memcmp(&scalar, &bulk[i], 4) == 0;
        mismatches += !same;
    }
    CHECK(mismatches == 0);
}

TEST_CASE("the bulk bf16 rounding equals the scalar encode-decode, bit for bit", "[formats]") {
    // Every 4099th float bit pattern, plus ties at both parities, the overflow to infinity and
    // NaNs with payloads in the dropped bits only (which must stay NaN, quiet).
    std::vector<float> xs;
    for (uint64_t u = 0; u <= 0xFFFFFFFFull; u += 4099) xs.push_back(from_bits(static_cast<uint32_t>(u)));
    for (uint32_t b : {0x3F808000u, 0x3F818000u, 0x7F7F8000u, 0x7F7FFFFFu, 0x7F800000u, 0x7F800001u, 0x7FC00000u,
                       0xFF800001u, 0x00008000u, 0x00018000u, 0x80000000u})
        xs.push_back(from_bits(b));
    std::vector<float> bulk = xs;
    round_to_format(bulk.data(), static_cast<long>(bulk.size()), NumericFormat::BFloat16);
    std::size_t mismatches = 0;
    for (std::size_t i = 0; i < xs.size(); ++i) {
        const float scalar = bf16_bits_to_float(float_to_bf16_bits(xs[i]));
        mismatches += std::memcmp(&scalar, &bulk[i], 4) != 0;
    }
    CHECK(mismatches == 0);
}
