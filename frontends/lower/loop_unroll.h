// Unrolls an ONNX Loop whose trip count is known when the model is lowered, as the TPU, NPU and
// GPU compilers do: the body's nodes once per iteration, in iteration order, each copy reading
// the loop-carried values the one before it gave. A Loop whose iterations depend on run-time data
// (M a graph input, a cond the body computes) stays whole and runs on the host.
#pragma once

#include <string>
#include <vector>

#include "frontends/onnx/graph.h"

namespace xpusim::lower {

/// A Loop node the pass left in the graph (it then runs on the host), and why.
struct LoopKept {
    std::string node;
    std::string reason;
};

/// @brief Rewrites every Loop node of `graph` whose trip count M is a constant of at most 1024,
/// whose cond (if given) is a constant true that the body passes through unchanged, and whose
/// body values all get known shapes. Iteration k's copy of body node n is "<loop>/i<k>/<n>", of
/// body value v "<loop>/i<k>/<v>" (the body's initializers once, "<loop>/<v>"); iteration_num
/// is the int64 constant k and cond the constant true. The final loop-carried values are the
/// Loop's first outputs, each scan output the Concat along axis 0 of its per-iteration values
/// Unsqueezed on axis 0. The graph is then inferred and folded again, and the removed Loop
/// recorded in graph.folded under the first node left of its copies.
std::vector<LoopKept> unroll_loops(frontend::Graph& graph);

/// @brief Why unroll_loops leaves `node` in `graph`; empty when it unrolls it or when the node
/// is not a Loop. A lowering gives it as the reason of the node's host placement.
std::string loop_kept_reason(const frontend::Graph& graph, const frontend::Node& node);

}  // namespace xpusim::lower
