// Internal to the TPU lowering: the state shared by placement (tpu_lowering.cpp), the MXU layer
// builders (tpu_gemm.cpp) and the instruction scheduler (tpu_schedule.cpp).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "frontends/lower/calibration.h"
#include "frontends/lower/lowering.h"
#include "frontends/onnx/passes.h"
#include "isa/tpu/tpu_isa.h"

namespace xpusim::lower::tpu {

using namespace isa::tpu;
using frontend::Node;

struct TpuLowering {
    const Graph& graph;
    const TpuSpec& spec;
    TpuProgram& program;
    const frontend::ValueReaders readers;
    bool numerics = true;  // false for --timing-only: no weight image is built
    std::map<std::string, ValueRange> ranges;
    std::map<std::string, int> buffer_of;  // graph value -> buffer id
    std::set<std::string> fused_nodes;     // consumed by an earlier layer
    std::vector<NodePlacement> placements;

    TpuLowering(const Graph& g, const TpuSpec& s, TpuProgram& p)
        : graph(g), spec(s), program(p), readers(g) {}

    /// @brief The buffer holding a graph value, creating it (format from the MXU precision and,
    /// for int8, the calibrated range) on first use.
    int buffer(const std::string& value);
    /// @brief The index of `node` in graph.nodes.
    std::size_t index_of(const Node& node) const {
        return static_cast<std::size_t>(&node - graph.nodes.data());
    }
    Layer& add_layer(const Node& node, Layer::Kind kind, const std::string& unit,
                     sim::Placement placement, const std::string& reason);
};

/// @brief Tries to lower a Conv, Gemm or MatMul (with a fused bias, Relu or Clip) onto the MXUs.
/// Returns false, with `why`, when the node must go elsewhere.
bool lower_gemm_node(TpuLowering& L, const Node& node, std::string& why);

/// @brief Emits the instruction stream for every layer: tiles, folds, syncs and dependencies.
void schedule_instructions(const TpuSpec& spec, TpuProgram& program);

}  // namespace xpusim::lower::tpu
