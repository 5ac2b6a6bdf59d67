#include "frontends/lower/npu/host_calls.h"

#include <optional>

#include "frontends/onnx/executor.h"
#include "sim/error.h"

namespace xpusim::lower::npu {

sim::HostCall make_host_call(const frontend::Graph& graph, const frontend::Node& node) {
    sim::HostCall call;
    call.node = node.name;
    call.op_type = node.op_type;
    call.flops = host_flops(graph, node);
    // Per input slot: a captured constant, a runtime input, or omitted.
    std::vector<std::optional<sim::Tensor>> constants;
    std::vector<bool> omitted;
    for (const auto& in : node.inputs) {
        omitted.push_back(in.empty());
        constants.push_back(!in.empty() && graph.is_constant(in) ? graph.value(in).constant
                                                                 : std::nullopt);
    }
    const int64_t opset = graph.opset;
    call.compute = [node, opset, constants, omitted](const std::vector<sim::Tensor>& runtime) {
        std::vector<const sim::Tensor*> ptrs;
        std::size_t next = 0;
        for (std::size_t i = 0; i < constants.size(); ++i) {
            if (omitted[i])
                ptrs.push_back(nullptr);
            else if (constants[i])
                ptrs.push_back(&*constants[i]);
            else
                ptrs.push_back(&runtime.at(next++));
        }
        return frontend::run_node(node, opset, ptrs);
    };
    return call;
}

double host_flops(const frontend::Graph& graph, const frontend::Node& node) {
    auto numel = [&](const std::string& v) {
        return v.empty() ? 0.0 : static_cast<double>(sim::shape_numel(graph.value(v).shape));
    };
    if (node.op_type == "MatMul" || node.op_type == "Gemm") {
        const auto& a = graph.value(node.inputs[0]).shape;
        const double k =
            a.empty()
                ? 1.0
                : static_cast<double>(
                      node.op_type == "Gemm" && node.attr_int("transA", 0) ? a.front() : a.back());
        return 2.0 * numel(node.outputs[0]) * k;
    }
    double touched = 0;
    for (const auto& v : node.inputs) touched += numel(v);
    for (const auto& v : node.outputs) touched += numel(v);
    const bool heavy = node.op_type == "Softmax" || node.op_type == "LogSoftmax" ||
                       node.op_type.find("Normalization") != std::string::npos;
    return (heavy ? 8.0 : 2.0) * touched;
}

void bind_host_calls(isa::npu::NpuProgram& program, const frontend::Graph& graph) {
    for (const auto& d : program.descriptors) {
        const auto* h = std::get_if<isa::npu::HostDesc>(&d.payload);
        if (!h) continue;
        const std::string name = d.nodes.empty() ? "" : d.nodes.front();
        const frontend::Node* node = nullptr;
        for (const auto& n : graph.nodes)
            if (n.name == name) node = &n;
        if (!node)
            throw sim::ModelError("NPU program: host call for node '" + name +
                                  "' has no such node in the graph");
        if (h->call < 0)
            throw sim::ModelError("NPU program: host descriptor " + std::to_string(d.id) +
                                  " has no call index");
        if (program.host_calls.size() <= static_cast<std::size_t>(h->call))
            program.host_calls.resize(static_cast<std::size_t>(h->call) + 1);
        program.host_calls[static_cast<std::size_t>(h->call)] = make_host_call(graph, *node);
    }
}

}  // namespace xpusim::lower::npu
