// Every ONNX operator the reference executor knows: how it infers output types and shapes, and
// how it computes. Ops register themselves from their own files (ops/*.cpp) with
// XPUSIM_REGISTER_OP; the executor, shape inference and constant folding look them up here.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "frontends/onnx/graph.h"
#include "sim/registry.h"

namespace xpusim::frontend {

/// What shape inference knows about one input: type, shape and, if constant, its value.
struct InferInput {
    bool present = false;
    DType dtype = DType::Float32;
    Shape shape;
    const Tensor* constant = nullptr;  // non-null when the value is known at load time
};

struct InferContext {
    const Node& node;
    int64_t opset;
    std::vector<InferInput> inputs;    // one per node input; !present for omitted ones
    std::vector<DType> output_dtypes;  // to fill, one per node output
    std::vector<Shape> output_shapes;

    const InferInput& in(std::size_t i) const;
    /// @brief The constant value of input i, or an UnsupportedError naming the node if it is
    /// not known at load time (a dynamic shape argument).
    const Tensor& constant_input(std::size_t i) const;
    void set_output(std::size_t i, DType dtype, Shape shape);
    [[noreturn]] void fail(const std::string& why) const;  // ModelError naming the node
};

struct KernelContext {
    const Node& node;
    int64_t opset;
    std::vector<const Tensor*> inputs;  // nullptr for omitted optional inputs

    const Tensor& in(std::size_t i) const;
    bool has(std::size_t i) const { return i < inputs.size() && inputs[i] != nullptr; }
    [[noreturn]] void fail(const std::string& why) const;
};

struct OpKernel {
    std::function<void(InferContext&)> infer;
    std::function<std::vector<Tensor>(const KernelContext&)> compute;
    /// If true, fp16/bf16 inputs are widened to fp32 before compute() and float outputs are
    /// rounded back to the input's type afterwards (as ONNX Runtime's CPU kernels do).
    bool widen_half = true;
};

/// @brief Every operator the reference executor knows, by op_type. Op files add theirs from
/// static initializers (XPUSIM_REGISTER_OP); it is read-only afterwards.
sim::Registry<OpKernel>& operators();

struct OpRegistration {
    OpRegistration(const std::string& op_type, OpKernel kernel) {
        operators().add(op_type, std::move(kernel));
    }
};

#define XPUSIM_OP_CONCAT2(a, b) a##b
#define XPUSIM_OP_CONCAT(a, b) XPUSIM_OP_CONCAT2(a, b)
/// XPUSIM_REGISTER_OP("Relu", OpKernel{infer_same_as_input0, compute_relu});
#define XPUSIM_REGISTER_OP(op_type, ...)                              \
    static const ::xpusim::frontend::OpRegistration XPUSIM_OP_CONCAT( \
        s_op_registration_, __LINE__)(op_type, __VA_ARGS__)

}  // namespace xpusim::frontend
