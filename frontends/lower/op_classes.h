// What every lowering asks of an ONNX op before deciding where it runs: is it a view (same bytes,
// new shape), is it vector-style work and how many operations each element costs, is it pure
// data movement. One table, so targets and the host cost model agree.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "frontends/onnx/graph.h"

namespace xpusim::lower {

/// @brief Reshape, Flatten, Squeeze, Unsqueeze, Identity and inference Dropout (no mask output):
/// the output is the input's bytes under a new shape, so no data moves.
bool is_view_op(const frontend::Node& node);

/// @brief Operations per element of a vector-style op, counted on the elements it produces (or,
/// for reductions, pooling windows and normalizations, the elements it reads): 1 for an add, a
/// compare or a copy, 2-3 for fused forms, 4 for a transcendental or a divide, 5-8 for softmax
/// and the normalizations. nullopt for ops that are not vector-style (GEMMs, convolutions,
/// control flow, ...).
std::optional<int64_t> vector_ops_per_element(const std::string& op_type);

/// @brief The elements a vector-style op processes, the count its per-element cost applies to:
/// pooling reads a window per output element; reductions, global pooling, softmax and the
/// normalizations read every input element; everything else makes one result per output
/// element. Shapes must be known.
double vector_elements(const frontend::Graph& graph, const frontend::Node& node);

/// @brief Ops that only move or copy elements (Transpose, Concat, Gather, Pad, ...): no
/// arithmetic on a host, one element per lane and cycle on a vector unit.
bool is_data_movement(const std::string& op_type);

}  // namespace xpusim::lower
