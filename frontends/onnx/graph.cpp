#include "frontends/onnx/graph.h"

namespace xpusim::frontend {

namespace {
const Attribute* find_attr(const Node& n, const std::string& a, Attribute::Kind kind) {
    auto it = n.attrs.find(a);
    if (it == n.attrs.end()) return nullptr;
    if (it->second.kind != kind)
        throw sim::ModelError(n.describe() + ": attribute '" + a + "' has the wrong type");
    return &it->second;
}
}  // namespace

int64_t Node::attr_int(const std::string& a, int64_t def) const {
    const Attribute* at = find_attr(*this, a, Attribute::Kind::Int);
    return at ? at->i : def;
}

double Node::attr_float(const std::string& a, double def) const {
    auto it = attrs.find(a);
    if (it != attrs.end() && it->second.kind == Attribute::Kind::Int)
        return static_cast<double>(it->second.i);
    const Attribute* at = find_attr(*this, a, Attribute::Kind::Float);
    return at ? at->f : def;
}

std::string Node::attr_string(const std::string& a, const std::string& def) const {
    const Attribute* at = find_attr(*this, a, Attribute::Kind::String);
    return at ? at->s : def;
}

std::vector<int64_t> Node::attr_ints(const std::string& a, std::vector<int64_t> def) const {
    const Attribute* at = find_attr(*this, a, Attribute::Kind::Ints);
    return at ? at->ints : def;
}

std::vector<double> Node::attr_floats(const std::string& a, std::vector<double> def) const {
    const Attribute* at = find_attr(*this, a, Attribute::Kind::Floats);
    return at ? at->floats : def;
}

const Tensor* Node::attr_tensor(const std::string& a) const {
    const Attribute* at = find_attr(*this, a, Attribute::Kind::Tensor);
    return at ? &at->t : nullptr;
}

const Graph* Node::attr_graph(const std::string& a) const {
    const Attribute* at = find_attr(*this, a, Attribute::Kind::Graph);
    return at ? at->g.get() : nullptr;
}

std::size_t Node::num_inputs() const {
    std::size_t n = inputs.size();
    while (n > 0 && inputs[n - 1].empty()) --n;
    return n;
}

std::size_t Node::num_outputs_given() const {
    std::size_t n = outputs.size();
    while (n > 0 && outputs[n - 1].empty()) --n;
    return n;
}

std::string Node::describe() const {
    return "node '" + name + "' (" + op_type + ")";
}

const ValueInfo& Graph::value(const std::string& name) const {
    auto it = values.find(name);
    if (it == values.end())
        throw sim::ModelError("value '" + name + "' is not defined in the graph");
    return it->second;
}

ValueInfo& Graph::value(const std::string& name) {
    auto it = values.find(name);
    if (it == values.end())
        throw sim::ModelError("value '" + name + "' is not defined in the graph");
    return it->second;
}

bool Graph::is_constant(const std::string& name) const {
    auto it = values.find(name);
    return it != values.end() && it->second.constant.has_value();
}

}  // namespace xpusim::frontend
