#include "sim/tensor/numeric_formats.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "sim/error.h"

namespace xpusim::sim {
namespace {

uint32_t float_bits(float x) {
    uint32_t b;
    std::memcpy(&b, &x, sizeof b);
    return b;
}

float bits_float(uint32_t b) {
    float x;
    std::memcpy(&x, &b, sizeof x);
    return x;
}

// A binary format with `exp_bits` exponent bits, `man_bits` fraction bits and the IEEE bias.
// All arithmetic happens in double, where scaling an fp32 value by a power of two is exact, so
// std::nearbyint (ties to even in the default rounding mode) rounds exactly once.
struct MiniFloat {
    int exp_bits;
    int man_bits;
    bool has_inf;  // e4m3fn spends the all-ones exponent on normal numbers (and one NaN)

    int bias() const { return (1 << (exp_bits - 1)) - 1; }
    int emin() const { return 1 - bias(); }
    uint32_t max_finite_code() const {
        // e4m3fn: S.1111.110 (448); IEEE-like: S.11110.11..1
        if (!has_inf) return (((1u << exp_bits) - 1) << man_bits) | ((1u << man_bits) - 2);
        return (((1u << exp_bits) - 2) << man_bits) | ((1u << man_bits) - 1);
    }
    uint32_t inf_code() const { return ((1u << exp_bits) - 1) << man_bits; }
    uint32_t nan_code() const {
        return has_inf ? inf_code() | (1u << (man_bits - 1)) : (1u << (exp_bits + man_bits)) - 1;
    }
    double max_finite() const { return decode_magnitude(max_finite_code()); }

    double decode_magnitude(uint32_t code) const {
        const uint32_t e = code >> man_bits;
        const uint32_t m = code & ((1u << man_bits) - 1);
        if (e == 0) return std::ldexp(static_cast<double>(m), emin() - man_bits);
        return std::ldexp(static_cast<double>(m | (1u << man_bits)),
                          static_cast<int>(e) - bias() - man_bits);
    }

    float decode(uint32_t code) const {
        const uint32_t sign = code >> (exp_bits + man_bits);
        const uint32_t mag = code & ((1u << (exp_bits + man_bits)) - 1);
        double v;
        if (has_inf && (mag >> man_bits) == (1u << exp_bits) - 1) {
            v = (mag & ((1u << man_bits) - 1)) ? std::numeric_limits<double>::quiet_NaN()
                                               : std::numeric_limits<double>::infinity();
        } else if (!has_inf && mag == nan_code()) {
            v = std::numeric_limits<double>::quiet_NaN();
        } else {
            v = decode_magnitude(mag);
        }
        return static_cast<float>(sign ? -v : v);
    }

    // Overflow policy: `saturate` clamps to the largest finite value; otherwise overflow goes to
    // infinity where the format has one and to NaN where it does not.
    uint32_t encode(float x, bool saturate) const {
        const uint32_t sign = std::signbit(x) ? 1u << (exp_bits + man_bits) : 0u;
        if (std::isnan(x)) return sign | nan_code();
        const uint32_t overflow =
            saturate ? max_finite_code() : (has_inf ? inf_code() : nan_code());
        if (std::isinf(x)) return sign | overflow;
        const double a = std::fabs(static_cast<double>(x));
        if (a == 0.0) return sign;
        int e2;
        std::frexp(a, &e2);  // a = f * 2^e2, f in [0.5, 1): leading bit has exponent e2 - 1
        int exponent = std::max(e2 - 1, emin());
        // Quantum at this exponent: 2^(exponent - man_bits); subnormals share emin's quantum.
        double m = std::nearbyint(std::ldexp(a, man_bits - exponent));
        if (m >= std::ldexp(1.0, man_bits + 1)) {  // rounding carried into the next binade
            m = std::ldexp(m, -1);
            exponent += 1;
        }
        uint32_t code;
        if (m < std::ldexp(1.0, man_bits)) {
            code = static_cast<uint32_t>(m);  // subnormal (or zero after rounding)
        } else {
            code = (static_cast<uint32_t>(exponent + bias()) << man_bits) |
                   (static_cast<uint32_t>(m) & ((1u << man_bits) - 1));
        }
        const double rounded = decode_magnitude(code & ((1u << (exp_bits + man_bits)) - 1));
        if (exponent + bias() > static_cast<int>((1u << exp_bits) - 1) || rounded > max_finite() ||
            (!has_inf && code > max_finite_code()))
            return sign | overflow;
        return sign | code;
    }
};

constexpr MiniFloat kHalf{5, 10, true};
constexpr MiniFloat kE4M3{4, 3, false};
constexpr MiniFloat kE5M2{5, 2, true};

}  // namespace

uint16_t float_to_half_bits(float x) {
    return static_cast<uint16_t>(kHalf.encode(x, /*saturate=*/false));
}
float half_bits_to_float(uint16_t bits) {
    return kHalf.decode(bits);
}

uint16_t float_to_bf16_bits(float x) {
    const uint32_t b = float_bits(x);
    if (std::isnan(x)) return static_cast<uint16_t>((b >> 16) | 0x40);  // keep it a quiet NaN
    // Round to nearest even on the 16 dropped bits; a carry into the exponent is correct
    // (it rounds up to the next binade or to infinity).
    const uint32_t rounding_bias = 0x7FFFu + ((b >> 16) & 1u);
    return static_cast<uint16_t>((b + rounding_bias) >> 16);
}
float bf16_bits_to_float(uint16_t bits) {
    return bits_float(static_cast<uint32_t>(bits) << 16);
}

uint8_t float_to_e4m3_bits(float x, bool saturate) {
    return static_cast<uint8_t>(kE4M3.encode(x, saturate));
}
float e4m3_bits_to_float(uint8_t bits) {
    return kE4M3.decode(bits);
}

uint8_t float_to_e5m2_bits(float x, bool saturate) {
    return static_cast<uint8_t>(kE5M2.encode(x, saturate));
}
float e5m2_bits_to_float(uint8_t bits) {
    return kE5M2.decode(bits);
}

NumericFormat numeric_format_from_name(const std::string& name) {
    if (name == "fp32" || name == "float32") return NumericFormat::Float32;
    if (name == "fp16" || name == "float16") return NumericFormat::Float16;
    if (name == "bf16" || name == "bfloat16") return NumericFormat::BFloat16;
    if (name == "fp8_e4m3" || name == "e4m3") return NumericFormat::Float8E4M3;
    if (name == "fp8_e5m2" || name == "e5m2") return NumericFormat::Float8E5M2;
    throw ConfigError("unknown numeric format '" + name +
                      "' (expected fp32, fp16, bf16, fp8_e4m3 or fp8_e5m2)");
}

const char* numeric_format_name(NumericFormat f) {
    switch (f) {
        case NumericFormat::Float32:
            return "fp32";
        case NumericFormat::Float16:
            return "fp16";
        case NumericFormat::BFloat16:
            return "bf16";
        case NumericFormat::Float8E4M3:
            return "fp8_e4m3";
        case NumericFormat::Float8E5M2:
            return "fp8_e5m2";
    }
    return "?";
}

namespace {
// x rounded to fp16 and back, in float bit arithmetic (the bulk path; equal to
// half_bits_to_float(float_to_half_bits(x)), which the unit test checks value by value):
//   normal range: drop the 13 low mantissa bits, ties to even (adding 0xFFF plus the kept
//   LSB carries into the exponent when the mantissa overflows, which is the right result);
//   below 2^-14 (fp16 subnormals, spaced 2^-24): x + 0.5 - 0.5 rounds to that spacing, since
//   the float ulp at 0.5 is 2^-24; beyond 65504 after rounding: infinity; NaN and inf pass.
// Branch-free (both paths computed, then selected), so the bulk loop vectorizes.
inline float round_half(float x) {
    uint32_t u;
    std::memcpy(&u, &x, 4);
    const uint32_t mag = u & 0x7FFFFFFFu;
    uint32_t m = (mag + 0x0FFFu + ((mag >> 13) & 1u)) & ~0x1FFFu;
    m = m > 0x477FE000u ? 0x7F800000u : m;  // above 65504: inf
    float a;
    std::memcpy(&a, &mag, 4);
    const float sub = (a + 0.5f) - 0.5f;  // |x| < 2^-14: a multiple of 2^-24 (no -ffast-math here)
    uint32_t s;
    std::memcpy(&s, &sub, 4);
    m = mag < 0x38800000u ? s : m;
    m = mag >= 0x7F800000u ? mag : m;  // inf, NaN pass
    const uint32_t out = (u & 0x80000000u) | m;
    float r;
    std::memcpy(&r, &out, 4);
    return r;
}

// x rounded to bf16 and back (equal to bf16_bits_to_float(float_to_bf16_bits(x)), NaN payload
// included): round to nearest even on the 16 dropped bits, a NaN kept quiet. Branch-free.
inline float round_bf16(float x) {
    uint32_t u;
    std::memcpy(&u, &x, 4);
    const uint32_t rounded = (u + 0x7FFFu + ((u >> 16) & 1u)) & 0xFFFF0000u;
    const uint32_t quiet = (u | 0x00400000u) & 0xFFFF0000u;
    const uint32_t out = (u & 0x7FFFFFFFu) > 0x7F800000u ? quiet : rounded;
    float r;
    std::memcpy(&r, &out, 4);
    return r;
}
}  // namespace

float round_to_format(float x, NumericFormat f) {
    switch (f) {
        case NumericFormat::Float32:
            return x;
        case NumericFormat::Float16:
            return half_bits_to_float(float_to_half_bits(x));
        case NumericFormat::BFloat16:
            return bf16_bits_to_float(float_to_bf16_bits(x));
        case NumericFormat::Float8E4M3:
            return e4m3_bits_to_float(float_to_e4m3_bits(x));
        case NumericFormat::Float8E5M2:
            return e5m2_bits_to_float(float_to_e5m2_bits(x));
    }
    return x;
}

void round_to_format(float* values, long n, NumericFormat f) {
    if (f == NumericFormat::Float32) return;
    // The hot paths of the bf16 and fp16 datapaths: pure bit arithmetic, vectorized (`omp simd`:
    // -O2's cost model leaves a loop of unknown length scalar; lanes do the same integer and
    // float operations, so the values are those of the scalar loop).
    if (f == NumericFormat::BFloat16) {
#pragma omp simd
        for (long i = 0; i < n; ++i) values[i] = round_bf16(values[i]);
        return;
    }
    if (f == NumericFormat::Float16) {
#pragma omp simd
        for (long i = 0; i < n; ++i) values[i] = round_half(values[i]);
        return;
    }
    for (long i = 0; i < n; ++i) values[i] = round_to_format(values[i], f);
}

namespace {
template <class Int>
Int quantize(float x, QuantParams q) {
    const double scaled = std::nearbyint(static_cast<double>(x) / q.scale) + q.zero_point;
    constexpr double lo = std::numeric_limits<Int>::min();
    constexpr double hi = std::numeric_limits<Int>::max();
    if (std::isnan(scaled)) return static_cast<Int>(q.zero_point);
    return static_cast<Int>(scaled < lo ? lo : (scaled > hi ? hi : scaled));
}
}  // namespace

int8_t quantize_int8(float x, QuantParams q) {
    return quantize<int8_t>(x, q);
}
uint8_t quantize_uint8(float x, QuantParams q) {
    return quantize<uint8_t>(x, q);
}
int32_t quantize_int32(float x, QuantParams q) {
    return quantize<int32_t>(x, q);
}
float dequantize(int32_t q, QuantParams p) {
    return p.scale * static_cast<float>(static_cast<int64_t>(q) - p.zero_point);
}

}  // namespace xpusim::sim
