// The one host fallback every target shares. An op the chip cannot run becomes a sim::HostCall:
// the reference kernel of its ONNX node, and its cost on the host from real per-op formulas
// (the host's time is then HostSpec::op_seconds, a roofline of these FLOPs and bytes):
//
//   Conv            2 * N * K * (C / groups) * prod(kernel) * prod(output spatial)
//   ConvTranspose   2 * N * C * (K / groups) * prod(kernel) * prod(input spatial)
//   MatMul          2 * prod(output) * K;  Gemm 2 * M * N * K (+ M * N with C)
//   Einsum          2 * prod(size of every index letter)
//   LSTM / GRU / RNN  per step, direction and batch row: 2 * G * H * (I + H) for the gate GEMMs,
//                   G = 4 / 3 / 1, plus ~8 operations per gate element for the activations
//   vector-style    elements * ops per element (op_classes.h): reductions, pooling, softmax and
//                   normalizations on the elements they read, element-wise on what they write
//   data movement   no FLOPs; bytes only
//   bytes           every input (constants included) read and every output written once
#pragma once

#include <functional>
#include <vector>

#include "frontends/onnx/graph.h"
#include "sim/runtime/host.h"

namespace xpusim::lower {

/// The reference kernel of a node as a function of its non-constant inputs, in input order;
/// constant inputs are captured; it returns one tensor per output the node names (omitted
/// optional outputs give none). A vector unit that runs an op by its fp32 definition uses it too.
using NodeFunction = std::function<std::vector<sim::Tensor>(const std::vector<sim::Tensor>&)>;

/// @brief Binds `node`'s reference kernel (frontend::run_node) with its constants captured.
NodeFunction bind_node_function(const frontend::Graph& graph, const frontend::Node& node);

/// @brief FLOPs and bytes of `node` on the host, by the formulas above. UnsupportedError naming
/// the node when a shape it needs is unknown.
sim::HostCost host_cost(const frontend::Graph& graph, const frontend::Node& node);

/// @brief The HostCall of `node`: its name, type, cost and bound kernel.
sim::HostCall make_host_call(const frontend::Graph& graph, const frontend::Node& node);

/// @brief Re-binds `compute` of every host call, by node name, in a program read back from text
/// (the text form cannot hold a function). ModelError naming a call whose node `graph` lacks.
void bind_host_calls(std::vector<sim::HostCall>& calls, const frontend::Graph& graph);

}  // namespace xpusim::lower
