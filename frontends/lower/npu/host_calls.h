// Ops placed on the host: their compute function (the fp32 reference kernel of the ONNX node,
// with the node's constant inputs captured) and a flop estimate for the host's time. A program
// read back from text has host calls without compute functions; bind_host_calls restores them
// from the graph the program was lowered from.
#pragma once

#include "frontends/onnx/graph.h"
#include "isa/npu/program.h"
#include "sim/runtime/host.h"

namespace xpusim::lower::npu {

/// @brief A host call running `node` on the host: its runtime inputs are the node's non-empty,
/// non-constant inputs in order (constants are captured).
sim::HostCall make_host_call(const frontend::Graph& graph, const frontend::Node& node);

/// @brief Floating-point operations the host spends on `node` (MatMul/Gemm: 2*M*N*K; else a
/// few per element touched).
double host_flops(const frontend::Graph& graph, const frontend::Node& node);

/// @brief Re-binds every host call of a parsed program to the node of `graph` it names; throws
/// ModelError for a node the graph does not have.
void bind_host_calls(isa::npu::NpuProgram& program, const frontend::Graph& graph);

}  // namespace xpusim::lower::npu
