// Helpers shared by the operator files: axis handling, numpy broadcasting, element-type
// dispatch and the common shape-inference rules.
#pragma once

#include <cstdint>
#include <type_traits>
#include <vector>

#include "frontends/onnx/op_registry.h"

namespace xpusim::frontend::ops {

/// @brief Maps a possibly negative axis into [0, rank); fails naming the node otherwise.
int64_t normalize_axis(int64_t axis, int64_t rank, const Node& node);
std::vector<int64_t> normalize_axes(const std::vector<int64_t>& axes, int64_t rank,
                                    const Node& node);

/// @brief numpy-style broadcast of two shapes; fails naming the node if incompatible.
Shape broadcast_shapes(const Shape& a, const Shape& b, const Node& node);

/// For each output element (row-major), the offset into an input of `in_shape` broadcast to
/// `out_shape`. Computed once per kernel call; O(numel) memory.
std::vector<int64_t> broadcast_offsets(const Shape& in_shape, const Shape& out_shape);

/// Infer rules shared by many ops.
void infer_same_as_input0(InferContext& ctx);            // one output, like input 0
void infer_broadcast(InferContext& ctx);                 // numpy broadcast of all inputs
void infer_broadcast_bool_out(InferContext& ctx);        // comparisons: bool result

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

/// Element type and shape of a kernel input, for error messages.
std::string describe_tensor(const Tensor& t);

}  // namespace xpusim::frontend::ops
