// Graph passes run after import: bind input shapes, infer shapes and fold constants (one pass,
// since each needs the other), and remove nodes nothing depends on.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

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

/// @brief Folds every inference-mode BatchNormalization whose input is the sole output use of a
/// Conv or Gemm with constant weights into that node's weights and bias:
///   k = gamma / sqrt(var + eps);  W[o, ...] *= k[o];  b[o] = (b[o] - mean[o]) * k[o] + beta[o]
/// The BatchNormalization disappears (recorded in graph.folded) and the Conv writes its output.
/// Numerics change by rounding only. A lowering applies it to its own copy of the graph; the
/// reference executor runs the graph as written.
void fold_batchnorm(Graph& graph);

/// @brief Erases the values no node, graph input or graph output names any more (what a pass
/// that removed nodes left behind).
void drop_unused_values(Graph& graph);

/// A chain a compiler may fuse into one kernel or hardware layer: a producer and the nodes that
/// follow it one by one, each the only reader of the one before, whose output is not a graph
/// output. Each target decides how much of the chain its hardware can take.
struct FusionChain {
    std::size_t head = 0;  // index into graph.nodes
    std::vector<std::size_t>
        followers;  // in order; followers[k] reads the output of the one before
};

/// The nodes that read each value (a node once, however many of its inputs name it), indexed
/// once so that walking chains stays linear in the graph.
class ValueReaders {
  public:
    explicit ValueReaders(const Graph& graph);
    /// @brief Indices into graph.nodes, ascending; empty for a value nobody reads.
    const std::vector<std::size_t>& of(const std::string& value) const;

  private:
    std::map<std::string, std::vector<std::size_t>> m_readers;
};

/// @brief The sole-reader chain after node `head`, at most `limit` nodes long.
FusionChain follower_chain(const Graph& graph, const ValueReaders& readers, std::size_t head,
                           std::size_t limit = 8);

/// @brief The chains after every Conv, ConvTranspose, Gemm and MatMul (the epilogue candidates:
/// bias adds, normalizations, activations, pooling), in graph order.
std::vector<FusionChain> fusion_chains(const Graph& graph);

/// @brief import -> bind shapes -> infer and fold -> remove dead nodes.
Graph load_model(const std::string& path, const std::map<std::string, Shape>& input_shapes = {});

}  // namespace xpusim::frontend
