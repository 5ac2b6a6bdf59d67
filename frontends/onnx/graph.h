// The graph IR every lowering starts from: nodes in topological order, every value's element
// type and shape, and constant tensors. Built by load_model() (loader.h) and then transformed
// by infer_shapes / fold_constants / remove_dead_nodes (passes.h). Plain data: copyable.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sim/tensor/tensor.h"

namespace xpusim::frontend {

using sim::DType;
using sim::Shape;
using sim::Tensor;

struct Graph;

/// One ONNX attribute. A GRAPH attribute (If's branches, Loop's and Scan's body) holds its
/// subgraph, read-only once loaded; a list of graphs (GRAPHS) is not supported.
struct Attribute {
    enum class Kind { Float, Int, String, Tensor, Floats, Ints, Strings, Graph };
    Kind kind = Kind::Int;
    double f = 0.0;
    int64_t i = 0;
    std::string s;
    Tensor t;
    std::vector<double> floats;
    std::vector<int64_t> ints;
    std::vector<std::string> strings;
    std::shared_ptr<const Graph> g;  // Kind::Graph

    // An attribute of one kind, for passes and tests that build nodes.
    static Attribute of_int(int64_t v) {
        Attribute a;
        a.kind = Kind::Int, a.i = v;
        return a;
    }
    static Attribute of_float(double v) {
        Attribute a;
        a.kind = Kind::Float, a.f = v;
        return a;
    }
    static Attribute of_string(std::string v) {
        Attribute a;
        a.kind = Kind::String, a.s = std::move(v);
        return a;
    }
    static Attribute of_ints(std::vector<int64_t> v) {
        Attribute a;
        a.kind = Kind::Ints, a.ints = std::move(v);
        return a;
    }
    static Attribute of_floats(std::vector<double> v) {
        Attribute a;
        a.kind = Kind::Floats, a.floats = std::move(v);
        return a;
    }
    static Attribute of_strings(std::vector<std::string> v) {
        Attribute a;
        a.kind = Kind::Strings, a.strings = std::move(v);
        return a;
    }
    static Attribute of_tensor(Tensor v) {
        Attribute a;
        a.kind = Kind::Tensor, a.t = std::move(v);
        return a;
    }
};

struct Node {
    std::string name;  // unique; generated as "<op_type>_<index>" where the file has none
    std::string op_type;
    std::string domain;               // "" for ai.onnx
    std::vector<std::string> inputs;  // "" marks an omitted optional input
    std::vector<std::string> outputs;
    std::map<std::string, Attribute> attrs;
    // The last `implicit_inputs` entries of `inputs` are values of this graph that the node's
    // subgraphs read by name (Graph::outer_inputs), listed so that ordering, liveness and
    // transfers see them as the node's inputs. The formal inputs come before them.
    std::size_t implicit_inputs = 0;

    bool has_attr(const std::string& a) const { return attrs.count(a) != 0; }
    int64_t attr_int(const std::string& a, int64_t def) const;
    double attr_float(const std::string& a, double def) const;
    std::string attr_string(const std::string& a, const std::string& def) const;
    std::vector<int64_t> attr_ints(const std::string& a, std::vector<int64_t> def = {}) const;
    std::vector<double> attr_floats(const std::string& a, std::vector<double> def = {}) const;
    const Tensor* attr_tensor(const std::string& a) const;
    /// @brief The subgraph attribute `a`, or nullptr if absent.
    const Graph* attr_graph(const std::string& a) const;
    /// @brief Number of formal inputs: `inputs` without the implicit ones.
    std::size_t num_formal_inputs() const { return inputs.size() - implicit_inputs; }
    /// @brief Number of inputs actually given (trailing omitted ones not counted).
    std::size_t num_inputs() const;
    /// @brief Number of outputs the node names (trailing omitted ones not counted).
    std::size_t num_outputs_given() const;
    bool has_input(std::size_t i) const { return i < inputs.size() && !inputs[i].empty(); }
    /// @brief "node 'Conv_3' (Conv)": how errors name a node.
    std::string describe() const;
};

/// A named value: its type, its shape (-1 for a dimension not known yet) and, for constants, the
/// tensor itself. dim_params keeps the symbolic names of dynamic input dimensions ("batch").
struct ValueInfo {
    std::string name;
    DType dtype = DType::Float32;
    Shape shape;
    bool shape_known = false;  // false until inference has reached this value
    std::vector<std::string> dim_params;
    std::optional<Tensor> constant;
    // What the file declares for a non-input value (value_info / graph output), if anything;
    // a dimension of -1 is symbolic. Inference is checked against it.
    std::optional<DType> declared_dtype;
    std::optional<Shape> declared_shape;
};

/// A node a graph pass removed by folding it into another (BatchNormalization into the Conv
/// before it): it still has a row in stats and a placement in `check`, under the node it went into.
struct FoldedNode {
    std::string name;
    std::string op_type;
    std::string into;    // the node that now computes it
    std::string reason;  // "folded into Conv_3's weights and bias"
};

struct Graph {
    std::string name;
    int64_t opset = 0;  // the ai.onnx opset the model imports
    int64_t ir_version = 0;
    std::vector<Node> nodes;  // topological order after load_model()
    std::map<std::string, ValueInfo> values;
    std::vector<std::string> inputs;  // graph inputs that are not initializers
    std::vector<std::string> outputs;
    // A subgraph's reads of values defined in enclosing graphs (its own or nested subgraphs'),
    // in first-use order; empty for the main graph.
    std::vector<std::string> outer_inputs;
    std::vector<FoldedNode> folded;  // nodes passes folded away, in the order they were folded

    const ValueInfo& value(const std::string& name) const;
    ValueInfo& value(const std::string& name);
    bool is_constant(const std::string& name) const;
};

}  // namespace xpusim::frontend
