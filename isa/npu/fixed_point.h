// Integer arithmetic of the SDP datapath: real multipliers held as a 31-bit mantissa and a right
// shift (value = mantissa * 2^-shift), applied to int32/int64 values with round-to-nearest-even
// and saturation. The lowering builds multipliers from float scales; the model applies them. Both
// must agree bit for bit, so the arithmetic lives here, in the ISA.
#pragma once

#include <cmath>
#include <cstdint>

namespace xpusim::isa::npu {

/// @brief v / 2^shift rounded to nearest, ties to even (shift >= 0; shift 0 returns v).
inline int64_t rne_shift(int64_t v, int shift) {
    if (shift <= 0) return v;
    if (shift >= 63) return 0;
    const int64_t q = v >> shift;                       // floor
    const int64_t r = v - (q * (int64_t{1} << shift));  // 0 <= r < 2^shift
    const int64_t half = int64_t{1} << (shift - 1);
    if (r > half || (r == half && (q & 1))) return q + 1;
    return q;
}

inline int8_t saturate_int8(int64_t v) {
    return static_cast<int8_t>(v < -128 ? -128 : (v > 127 ? 127 : v));
}

/// A real multiplier m * 2^-shift with m in [2^30, 2^31) (or 0), as in integer requantizers.
struct FixedMultiplier {
    int32_t mantissa = 0;
    int32_t shift = 0;

    /// @brief The nearest representable multiplier to `x` (x >= 0 assumed by callers that
    /// pass scales; a negative x keeps its sign in the mantissa).
    static FixedMultiplier from_double(double x) {
        FixedMultiplier f;
        if (x == 0.0 || !std::isfinite(x)) return f;
        int exp = 0;
        const double frac = std::frexp(x, &exp);  // x = frac * 2^exp, |frac| in [0.5, 1)
        int64_t m = static_cast<int64_t>(std::nearbyint(frac * 2147483648.0));  // * 2^31
        int shift = 31 - exp;
        if (m == (int64_t{1} << 31)) {  // rounding carried into the next power of two
            m /= 2;
            --shift;
        }
        // Very large multipliers would need a left shift; clamp (never needed for scales).
        if (shift < 0) {
            m <<= -shift;
            shift = 0;
        }
        if (shift > 62) return f;  // below 2^-31: indistinguishable from zero for int32 inputs
        f.mantissa = static_cast<int32_t>(m);
        f.shift = shift;
        return f;
    }
    double value() const { return std::ldexp(static_cast<double>(mantissa), -shift); }
    /// @brief round(v * value()) with ties to even; exact for |v| < 2^32.
    int64_t apply(int64_t v) const { return rne_shift(v * static_cast<int64_t>(mantissa), shift); }
};

}  // namespace xpusim::isa::npu
