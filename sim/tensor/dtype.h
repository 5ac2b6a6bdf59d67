// Element types a Tensor can hold. The numeric formats a target computes in (fp16, bf16, fp8,
// int8 with scale) are converted by sim/tensor/numeric_formats.h; storage keeps them as their
// raw bit patterns (uint16_t / uint8_t).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace xpusim::sim {

enum class DType : uint8_t {
    Float32,
    Float64,
    Float16,
    BFloat16,
    Float8E4M3,
    Float8E5M2,
    Int8,
    UInt8,
    Int16,
    UInt16,
    Int32,
    UInt32,
    Int64,
    UInt64,
    Bool,
};

/// @brief Bytes per element.
std::size_t dtype_size(DType t);
/// @brief Lower-case name: "float32", "bfloat16", "int8", ...
const char* dtype_name(DType t);
/// @brief Parses a name produced by dtype_name; throws ConfigError otherwise.
DType dtype_from_name(const std::string& name);
bool is_float(DType t);
bool is_integer(DType t);

/// 16-bit and 8-bit float formats are stored as their bit patterns.
struct Half {
    uint16_t bits;
};
struct BFloat16 {
    uint16_t bits;
};
struct Float8E4M3 {
    uint8_t bits;
};
struct Float8E5M2 {
    uint8_t bits;
};

template <class T>
struct DTypeOf;
#define XPUSIM_DTYPE_OF(cpp, tag)                  \
    template <>                                    \
    struct DTypeOf<cpp> {                          \
        static constexpr DType value = DType::tag; \
    };
XPUSIM_DTYPE_OF(float, Float32)
XPUSIM_DTYPE_OF(double, Float64)
XPUSIM_DTYPE_OF(Half, Float16)
XPUSIM_DTYPE_OF(BFloat16, BFloat16)
XPUSIM_DTYPE_OF(Float8E4M3, Float8E4M3)
XPUSIM_DTYPE_OF(Float8E5M2, Float8E5M2)
XPUSIM_DTYPE_OF(int8_t, Int8)
XPUSIM_DTYPE_OF(uint8_t, UInt8)
XPUSIM_DTYPE_OF(int16_t, Int16)
XPUSIM_DTYPE_OF(uint16_t, UInt16)
XPUSIM_DTYPE_OF(int32_t, Int32)
XPUSIM_DTYPE_OF(uint32_t, UInt32)
XPUSIM_DTYPE_OF(int64_t, Int64)
XPUSIM_DTYPE_OF(uint64_t, UInt64)
XPUSIM_DTYPE_OF(bool, Bool)
#undef XPUSIM_DTYPE_OF

}  // namespace xpusim::sim
