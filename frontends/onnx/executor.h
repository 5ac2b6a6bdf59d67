// The fp32 reference executor: runs a prepared Graph node by node with the registered op
// kernels. It is the golden model every target is compared against.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "frontends/onnx/graph.h"

namespace xpusim::frontend {

using TensorMap = std::map<std::string, Tensor>;

/// Called after each node with its outputs (for per-op stats and debugging).
using NodeObserver =
    std::function<void(const Node&, const std::vector<Tensor>& outputs, double wall_seconds)>;

/// @brief Runs `graph` on `inputs` (one tensor per graph input, types and shapes as bound) and
/// returns every graph output. Intermediate tensors are freed after their last use.
TensorMap execute_graph(const Graph& graph, const TensorMap& inputs,
                        const NodeObserver& observer = {});

/// @brief Runs one node's kernel on concrete inputs (widening fp16/bf16 as the kernel asks).
std::vector<Tensor> run_node(const Node& node, int64_t opset,
                             const std::vector<const Tensor*>& inputs);

/// @brief Checks inputs against the graph's declared inputs: every one present, no extras,
/// element type and (bound) shape equal. Throws ModelError naming the input.
void check_inputs(const Graph& graph, const TensorMap& inputs);

/// @brief As check_inputs for the inputs that are given; one that is not given needs a known
/// shape (a run that draws no values still has to know every shape). For runs that read no
/// input values, such as timing-only ones.
void check_given_inputs(const Graph& graph, const TensorMap& given);

}  // namespace xpusim::frontend
