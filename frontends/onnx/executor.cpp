#include "frontends/onnx/executor.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <set>
#include <unordered_map>

#include "frontends/onnx/op_registry.h"

namespace xpusim::frontend {

using sim::ModelError;

namespace {
bool is_narrow_float(DType t) {
    return t == DType::Float16 || t == DType::BFloat16 || t == DType::Float8E4M3 ||
           t == DType::Float8E5M2;
}
}  // namespace

std::vector<Tensor> run_node(const Node& node, int64_t opset,
                             const std::vector<const Tensor*>& inputs) {
    const OpKernel* kernel = operators().find(node.op_type);
    if (!kernel) throw sim::UnsupportedError(node.describe() + ": operator is not supported");
    KernelContext ctx{node, opset, inputs};
    // Kernels that compute in fp32 see fp16/bf16 inputs widened; their float outputs are
    // rounded back to that narrow type (round to nearest even).
    std::vector<Tensor> widened;
    std::optional<DType> narrow;
    if (kernel->widen_half) {
        widened.reserve(inputs.size());
        for (std::size_t i = 0; i < inputs.size(); ++i) {
            if (inputs[i] && is_narrow_float(inputs[i]->dtype())) {
                if (!narrow) narrow = inputs[i]->dtype();
                widened.push_back(inputs[i]->cast(DType::Float32));
                ctx.inputs[i] = &widened.back();
            }
        }
    }
    std::vector<Tensor> outputs;
    try {
        outputs = kernel->compute(ctx);
    } catch (const sim::CapacityError& e) {
        // An allocation over the tensor limit, made deep in a kernel: say whose it was.
        const std::string what = e.what();
        if (what.rfind("node '", 0) == 0) throw;
        throw sim::CapacityError(node.describe() + ": " + what);
    }
    if (outputs.size() < node.num_outputs_given())
        throw ModelError(node.describe() + ": kernel produced " + std::to_string(outputs.size()) +
                         " outputs, the node names " + std::to_string(node.num_outputs_given()));
    if (narrow)
        for (Tensor& t : outputs)
            if (t.valid() && t.dtype() == DType::Float32) t = t.cast(*narrow);
    return outputs;
}

namespace {

void check_inputs_against(const Graph& graph, const TensorMap& inputs, bool all_given) {
    for (const auto& [name, t] : inputs)
        if (std::find(graph.inputs.begin(), graph.inputs.end(), name) == graph.inputs.end())
            throw ModelError("input '" + name + "' is not an input of the model");
    for (const auto& name : graph.inputs) {
        const ValueInfo& v = graph.value(name);
        auto it = inputs.find(name);
        if (it == inputs.end()) {
            if (all_given) throw ModelError("input '" + name + "' is not given");
            if (!v.shape_known)
                throw ModelError("input '" + name + "' has no known shape: give it with --shape");
            continue;
        }
        if (it->second.dtype() != v.dtype)
            throw ModelError("input '" + name + "' must be " + sim::dtype_name(v.dtype) + ", got " +
                             sim::dtype_name(it->second.dtype()));
        if (v.shape_known && it->second.shape() != v.shape)
            throw ModelError("input '" + name + "' must have shape " + sim::shape_str(v.shape) +
                             ", got " + sim::shape_str(it->second.shape()));
    }
}

}  // namespace

void check_inputs(const Graph& graph, const TensorMap& inputs) { check_inputs_against(graph, inputs, true); }

void check_given_inputs(const Graph& graph, const TensorMap& given) { check_inputs_against(graph, given, false); }

TensorMap execute_graph(const Graph& graph, const TensorMap& inputs, const NodeObserver& observer) {
    check_inputs(graph, inputs);
    // Last node index that reads each value, so intermediates are freed as soon as possible.
    std::unordered_map<std::string, std::size_t> last_use;
    for (std::size_t i = 0; i < graph.nodes.size(); ++i)
        for (const auto& in : graph.nodes[i].inputs)
            if (!in.empty()) last_use[in] = i;
    std::set<std::string> keep(graph.outputs.begin(), graph.outputs.end());

    std::unordered_map<std::string, Tensor> env(inputs.begin(), inputs.end());
    auto lookup = [&](const std::string& name, const Node* user) -> const Tensor* {
        auto it = env.find(name);
        if (it != env.end()) return &it->second;
        const ValueInfo& v = graph.value(name);
        if (v.constant) return &*v.constant;
        throw ModelError((user ? user->describe() + ": " : std::string()) + "value '" + name +
                         "' has not been computed");
    };

    for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
        const Node& node = graph.nodes[i];
        std::vector<const Tensor*> ins;
        for (const auto& name : node.inputs)
            ins.push_back(name.empty() ? nullptr : lookup(name, &node));
        const auto t0 = std::chrono::steady_clock::now();
        std::vector<Tensor> outs = run_node(node, graph.opset, ins);
        const double dt =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (observer) observer(node, outs, dt);
        for (std::size_t k = 0; k < node.outputs.size(); ++k)
            if (!node.outputs[k].empty() && k < outs.size())
                env[node.outputs[k]] = std::move(outs[k]);
        for (const auto& name : node.inputs) {
            if (name.empty() || keep.count(name)) continue;
            auto lu = last_use.find(name);
            if (lu != last_use.end() && lu->second == i) env.erase(name);
        }
    }
    TensorMap result;
    for (const auto& name : graph.outputs) result[name] = *lookup(name, nullptr);
    return result;
}

}  // namespace xpusim::frontend
