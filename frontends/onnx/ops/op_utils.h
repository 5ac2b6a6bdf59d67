// Helpers shared by the operator files: axis handling, numpy broadcasting, element-type
// dispatch and the common shape-inference rules.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "frontends/onnx/op_registry.h"

namespace xpusim::frontend::ops {

/// @brief Throws a ModelError "<node>: <why>".
[[noreturn]] void fail(const Node& node, const std::string& why);

/// @brief Maps a possibly negative axis in [-rank, rank - 1] into [0, rank); fails naming the node
/// otherwise (so every axis of a rank-0 tensor is out of range, as the ONNX spec says).
int64_t normalize_axis(int64_t axis, int64_t rank, const Node& node);
std::vector<int64_t> normalize_axes(const std::vector<int64_t>& axes, int64_t rank,
                                    const Node& node);

/// @brief numpy-style broadcast of two shapes; fails naming the node if incompatible.
Shape broadcast_shapes(const Shape& a, const Shape& b, const Node& node);

/// For each output element (row-major), the offset into an input of `in_shape` broadcast to
/// `out_shape`. Computed once per kernel call; O(numel) memory.
std::vector<int64_t> broadcast_offsets(const Shape& in_shape, const Shape& out_shape);

/// Infer rules shared by many ops.
void infer_same_as_input0(InferContext& ctx);      // one output, like input 0
void infer_broadcast(InferContext& ctx);           // numpy broadcast of all inputs
void infer_broadcast_bool_out(InferContext& ctx);  // comparisons: bool result

// One case a line, as a table.
// clang-format off
/// Calls f(T{}) with T the C++ type of `t`. Narrow floats (fp16, bf16, fp8) are not dispatched:
/// kernels receive them widened to fp32 (OpKernel::widen_half).
template <class F>
void dispatch_numeric(DType t, const Node& node, F&& f) {
    switch (t) {
        case DType::Float32: f(float{}); return;
        case DType::Float64: f(double{}); return;
        case DType::Int8: f(int8_t{}); return;
        case DType::UInt8: f(uint8_t{}); return;
        case DType::Int16: f(int16_t{}); return;
        case DType::UInt16: f(uint16_t{}); return;
        case DType::Int32: f(int32_t{}); return;
        case DType::UInt32: f(uint32_t{}); return;
        case DType::Int64: f(int64_t{}); return;
        case DType::UInt64: f(uint64_t{}); return;
        case DType::Bool: f(bool{}); return;
        default:
            throw sim::UnsupportedError(node.describe() + ": element type " +
                                        sim::dtype_name(t) + " is not supported");
    }
}

/// As dispatch_numeric, restricted to float32 and float64.
template <class F>
void dispatch_float(DType t, const Node& node, F&& f) {
    switch (t) {
        case DType::Float32: f(float{}); return;
        case DType::Float64: f(double{}); return;
        default:
            throw sim::UnsupportedError(node.describe() + ": element type " +
                                        sim::dtype_name(t) + " is not supported (float only)");
    }
}
// clang-format on

/// Element type and shape of a kernel input, for error messages.
std::string describe_tensor(const Tensor& t);

/// Element-wise conversion of a double result to T: saturating for integers (NaN -> 0,
/// otherwise truncated toward zero).
template <class T>
T from_double(double v) {
    if constexpr (std::is_floating_point_v<T>) {
        return static_cast<T>(v);
    } else {
        if (std::isnan(v)) return T(0);
        if (v <= static_cast<double>(std::numeric_limits<T>::lowest()))
            return std::numeric_limits<T>::lowest();
        if (v >= static_cast<double>(std::numeric_limits<T>::max()))
            return std::numeric_limits<T>::max();
        return static_cast<T>(v);
    }
}

// ---- shape rules that read input values ---------------------------------------------------------

/// What a shape rule may read: every input's type and shape, and the values of shape- or
/// index-like inputs (load-time constants in infer(), the actual tensors in compute()). Lets one
/// rule serve both infer() and compute().
struct OpArgs {
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

/// @brief The arguments as infer() sees them; values are the load-time constants.
OpArgs args_of(const InferContext& ctx);
/// @brief The arguments as compute() sees them; values are the input tensors.
OpArgs args_of(const KernelContext& ctx);

// ---- raw-byte data movement ---------------------------------------------------------------------

/// A tensor's storage as bytes, for kernels that move elements of any type by dtype_size.
const uint8_t* bytes(const Tensor& t);
uint8_t* bytes(Tensor& t);

/// Product of s[from, to), clipped to the rank (1 for an empty range).
int64_t dims_product(const Shape& s, std::size_t from, std::size_t to);

/// dst[i0..ik] = src[base + sum_d i_d * strides[d]] over out_shape, in elements of es bytes.
/// Trailing axes that are contiguous in both are copied as one block.
void strided_copy(const uint8_t* src, uint8_t* dst, const Shape& out_shape,
                  const std::vector<int64_t>& strides, int64_t base, std::size_t es);

/// Calls f(std::integral_constant<std::size_t, N>{}) with N = `size` (1, 2, 4 or 8), so that a
/// byte-moving kernel can copy elements of a compile-time size.
// clang-format off
template <class F>
void dispatch_element_size(std::size_t size, const Node& node, F&& f) {
    switch (size) {
        case 1: f(std::integral_constant<std::size_t, 1>{}); return;
        case 2: f(std::integral_constant<std::size_t, 2>{}); return;
        case 4: f(std::integral_constant<std::size_t, 4>{}); return;
        case 8: f(std::integral_constant<std::size_t, 8>{}); return;
        default: throw sim::UnsupportedError(node.describe() + ": unexpected element size");
    }
}
// clang-format on

/// out[i0..ik] = in[table[0][i0], ..., table[k][ik]] over out_shape, or the ES bytes at `fill`
/// where any axis's table entry is -1 (per-axis source tables, as Pad and nearest Resize build).
template <std::size_t ES>
void gather_by_axis_tables(const uint8_t* in, uint8_t* out, const Shape& in_shape,
                           const Shape& out_shape, const std::vector<std::vector<int64_t>>& table,
                           const uint8_t* fill) {
    const std::size_t rank = out_shape.size();
    const int64_t n = sim::shape_numel(out_shape);
    if (n == 0) return;
    if (rank == 0) {
        std::memcpy(out, in, ES);
        return;
    }
    const auto in_strides = sim::shape_strides(in_shape);
    const int64_t inner = out_shape[rank - 1];  // > 0, as n > 0
    const std::vector<int64_t>& last = table[rank - 1];
    std::vector<int64_t> idx(rank, 0);
    for (int64_t row = 0; row < n / inner; ++row) {
        // Source offset of this row, or -1 if any outer axis reads the fill value.
        int64_t base = 0;
        for (std::size_t d = 0; d + 1 < rank; ++d) {
            const int64_t s = table[d][idx[d]];
            if (s < 0) {
                base = -1;
                break;
            }
            base += s * in_strides[d];
        }
        uint8_t* o = out + row * inner * ES;
        for (int64_t j = 0; j < inner; ++j) {
            const uint8_t* src = (base < 0 || last[j] < 0) ? fill : in + (base + last[j]) * ES;
            std::memcpy(o + j * ES, src, ES);
        }
        for (int64_t d = static_cast<int64_t>(rank) - 2; d >= 0; --d) {
            if (++idx[d] < out_shape[d]) break;
            idx[d] = 0;
        }
    }
}

// ---- convolution and pooling windows ------------------------------------------------------------

/// The largest kernel size, stride, dilation or pad accepted: every window computation then
/// stays far inside int64 (products of two such values and a dimension cannot overflow).
constexpr int64_t kMaxWindowAttr = (int64_t{1} << 31) - 1;

/// A per-axis attribute: `def` repeated when absent, else exactly `count` values, each in
/// [lo, kMaxWindowAttr]; fails naming the node and the attribute otherwise.
std::vector<int64_t> spatial_attr(const Node& node, const char* name, std::size_t count,
                                  int64_t def, int64_t lo);

enum class AutoPad { NotSet, SameUpper, SameLower, Valid };

/// @brief The auto_pad attribute ("" reads as NOTSET); fails on an unknown value.
AutoPad auto_pad_of(const Node& node);

/// SAME_UPPER / SAME_LOWER along one axis with dk = (k - 1) * dilation + 1:
/// out = ceil(in / stride), total pad = max(0, (out - 1) * stride + dk - in), the odd pixel at
/// the end (SAME_UPPER) or at the beginning (SAME_LOWER).
struct SamePadding {
    int64_t out, begin, end;
};
SamePadding same_padding(int64_t in, int64_t stride, int64_t dk, AutoPad ap);

}  // namespace xpusim::frontend::ops
