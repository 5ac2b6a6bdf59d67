#include "frontends/onnx/op_registry.h"

namespace xpusim::frontend {

const InferInput& InferContext::in(std::size_t i) const {
    if (i >= inputs.size() || !inputs[i].present)
        fail("input " + std::to_string(i) + " is missing");
    return inputs[i];
}

const Tensor& InferContext::constant_input(std::size_t i) const {
    const InferInput& x = in(i);
    if (!x.constant)
        throw sim::UnsupportedError(node.describe() + ": input " + std::to_string(i) + " ('" +
                                    node.inputs[i] +
                                    "') must be known before running (a dynamic shape argument); "
                                    "give the input shapes with --shape");
    return *x.constant;
}

void InferContext::set_output(std::size_t i, DType dtype, Shape shape) {
    if (output_dtypes.size() <= i) {
        output_dtypes.resize(i + 1, DType::Float32);
        output_shapes.resize(i + 1);
    }
    // Every size a model's data implies is checked here, before anything is allocated.
    int64_t numel = 0;
    try {
        numel = sim::shape_numel(shape);
    } catch (const sim::Error&) {
        fail("output " + std::to_string(i) + " of shape " + sim::shape_str(shape) +
             " overflows 64 bits");
    }
    sim::TensorLimit::check(numel, dtype, sim::shape_str(shape),
                            node.describe() + ": output " + std::to_string(i));
    output_dtypes[i] = dtype;
    output_shapes[i] = std::move(shape);
}

void InferContext::fail(const std::string& why) const {
    throw sim::ModelError(node.describe() + ": " + why);
}

const Tensor& KernelContext::in(std::size_t i) const {
    if (!has(i)) fail("input " + std::to_string(i) + " is missing");
    return *inputs[i];
}

void KernelContext::fail(const std::string& why) const {
    throw sim::ModelError(node.describe() + ": " + why);
}

sim::Registry<OpKernel>& operators() {
    static sim::Registry<OpKernel> registry("operator");
    return registry;
}

}  // namespace xpusim::frontend
