// Graph passes run after import: bind input shapes, infer shapes and fold constants (one pass,
// since each needs the other), and remove nodes nothing depends on.
#pragma once

#include <map>
#include <string>

#include "frontends/onnx/graph.h"

namespace xpusim::frontend {

/// @brief Gives each graph input a concrete shape: from `shapes` where given (checked against
/// the declared rank and fixed dimensions), else from its declaration, which must then be fully
/// static. Throws ModelError naming the input and its symbolic dimensions otherwise.
void bind_input_shapes(Graph& graph, const std::map<std::string, Shape>& shapes);

/// @brief Infers every value's type and shape in topological order, folding each node whose
/// inputs are all constants (and Shape/Size of a known shape) into a constant. Throws ModelError
/// on shapes that contradict each other or the file's declarations.
void infer_and_fold(Graph& graph);

/// @brief Drops nodes whose outputs are constants or reach no graph output.
void remove_dead_nodes(Graph& graph);

/// @brief import -> bind shapes -> infer and fold -> remove dead nodes.
Graph load_model(const std::string& path, const std::map<std::string, Shape>& input_shapes = {});

}  // namespace xpusim::frontend
