// The Loop semantics are those of the reference kernel (frontends/onnx/ops/control_flow.cpp):
// the body takes (iteration_num, cond, v...) and gives (cond, v..., scan_output_elt...); it runs
// while i < M and, if the node gives cond, while the body's cond output holds.
#include "frontends/lower/loop_unroll.h"

#include <algorithm>
#include <map>
#include <set>

#include "frontends/onnx/passes.h"
#include "sim/error.h"

namespace xpusim::lower {

using frontend::Attribute;
using frontend::Graph;
using frontend::Node;
using frontend::ValueInfo;
using sim::DType;
using sim::Shape;
using sim::Tensor;

namespace {

// Unrolled beyond this, a loop's copies outgrow what a target compiler would emit.
constexpr int64_t kMaxTrips = 1024;

// Thrown for a Loop the pass leaves alone; caught per node.
struct Keep {
    std::string reason;
};

bool is_loop(const Node& n) {
    return n.domain.empty() && n.op_type == "Loop";
}

// Whether the body's cond output is always true: the body's cond input passed through, directly
// or by Identity, or a constant true.
bool cond_always_true(const Graph& body) {
    std::string v = body.outputs[0];
    for (std::size_t hops = 0; hops <= body.nodes.size(); ++hops) {
        if (v == body.inputs[1]) return true;
        if (body.is_constant(v)) {
            const Tensor& t = *body.value(v).constant;
            return t.numel() == 1 && t.get_as_int64(0) != 0;
        }
        const auto producer =
            std::find_if(body.nodes.begin(), body.nodes.end(), [&](const Node& n) {
                return std::find(n.outputs.begin(), n.outputs.end(), v) != n.outputs.end();
            });
        if (producer == body.nodes.end() || !producer->domain.empty()) return false;
        if (producer->op_type == "Identity") {
            v = producer->inputs[0];
            continue;
        }
        const Tensor* t =
            producer->op_type == "Constant" ? producer->attr_tensor("value") : nullptr;
        return t && t->numel() == 1 && t->get_as_int64(0) != 0;
    }
    return false;
}

// The body, the number of loop-carried values and the trip count of a Loop the pass can unroll.
struct LoopShape {
    const Graph* body = nullptr;
    std::size_t carried = 0, scans = 0;
    int64_t trips = 0;
};

LoopShape check(const Graph& g, const Node& node) {
    LoopShape s;
    s.body = node.attr_graph("body");
    if (!s.body) throw Keep{"it has no body graph"};
    const Graph& body = *s.body;
    const std::size_t formal = node.num_formal_inputs();
    s.carried = formal > 2 ? formal - 2 : 0;
    if (body.inputs.size() != 2 + s.carried || body.outputs.size() < 1 + s.carried)
        throw Keep{"the body's inputs and outputs do not match the loop-carried values"};
    s.scans = body.outputs.size() - 1 - s.carried;
    if (!node.has_input(0)) throw Keep{"it has no trip count M (it runs until cond is false)"};
    if (!g.is_constant(node.inputs[0])) throw Keep{"the trip count M is only known at run time"};
    const Tensor& m = *g.value(node.inputs[0]).constant;
    if (m.numel() != 1) throw Keep{"M is not one value"};
    s.trips = std::max<int64_t>(0, m.get_as_int64(0));
    if (node.has_input(1)) {
        if (!g.is_constant(node.inputs[1]))
            throw Keep{"the initial cond is only known at run time"};
        const Tensor& c = *g.value(node.inputs[1]).constant;
        if (c.numel() != 1) throw Keep{"cond is not one value"};
        if (c.get_as_int64(0) == 0)
            s.trips = 0;
        else if (!cond_always_true(body))
            throw Keep{"the body computes its cond (the number of iterations depends on the data)"};
    }
    if (s.trips == 0) throw Keep{"it runs no iteration"};
    if (s.trips > kMaxTrips)
        throw Keep{"trip count " + std::to_string(s.trips) + " is over " +
                   std::to_string(kMaxTrips)};
    // A nested subgraph reads body values by name; its copies would have to be renamed too.
    const std::set<std::string> outer(body.outer_inputs.begin(), body.outer_inputs.end());
    for (const Node& n : body.nodes)
        for (std::size_t i = n.num_formal_inputs(); i < n.inputs.size(); ++i)
            if (!outer.count(n.inputs[i]))
                throw Keep{"a subgraph of body " + n.describe() + " reads body value '" +
                           n.inputs[i] + "'"};
    return s;
}

class Unroller {
  public:
    Unroller(Graph& g, const Node& node, const LoopShape& s) : m_g(g), m_node(node), m_s(s) {
        for (const Node& n : g.nodes) m_names.insert(n.name);
    }

    /// @brief The nodes that replace the Loop, their values added to the graph untyped.
    std::vector<Node> run();
    std::set<std::string> added;  // the values run() added

  private:
    Graph& m_g;
    const Node& m_node;
    const LoopShape& m_s;
    std::set<std::string> m_names;  // node names taken
    std::vector<Node> m_out;

    std::string fresh_value(const std::string& base);
    std::string fresh_node(const std::string& base);
    std::string constant(const std::string& base, Tensor t);
    void emit(const std::string& name, const std::string& type, std::vector<std::string> inputs,
              const std::string& output, std::map<std::string, Attribute> attrs = {});
};

std::string Unroller::fresh_value(const std::string& base) {
    std::string name = base;
    for (int i = 1; m_g.values.count(name); ++i) name = base + "_" + std::to_string(i);
    ValueInfo& v = m_g.values[name];
    v.name = name;
    added.insert(name);
    return name;
}

std::string Unroller::fresh_node(const std::string& base) {
    std::string name = base;
    for (int i = 1; m_names.count(name); ++i) name = base + "_" + std::to_string(i);
    m_names.insert(name);
    return name;
}

std::string Unroller::constant(const std::string& base, Tensor t) {
    const std::string name = fresh_value(base);
    ValueInfo& v = m_g.values[name];
    v.dtype = t.dtype();
    v.shape = t.shape();
    v.shape_known = true;
    v.constant = std::move(t);
    return name;
}

void Unroller::emit(const std::string& name, const std::string& type,
                    std::vector<std::string> inputs, const std::string& output,
                    std::map<std::string, Attribute> attrs) {
    Node n;
    n.name = fresh_node(name);
    n.op_type = type;
    n.inputs = std::move(inputs);
    n.outputs = {output};
    n.attrs = std::move(attrs);
    m_out.push_back(std::move(n));
}

std::vector<Node> Unroller::run() {
    const Graph& body = *m_s.body;
    const std::string& loop = m_node.name;
    const std::set<std::string> outer(body.outer_inputs.begin(), body.outer_inputs.end());
    // The body's initializers are the same in every iteration: one copy for all.
    std::map<std::string, std::string> shared;
    for (const auto& [name, v] : body.values)
        if (v.constant && !outer.count(name))
            shared[name] = constant(loop + "/" + name, *v.constant);
    // The body outputs that become the Loop's carried outputs in the last iteration, written
    // there under the Loop's names when a body node produces them.
    std::set<std::string> produced;
    for (const Node& n : body.nodes) produced.insert(n.outputs.begin(), n.outputs.end());
    std::map<std::string, std::string> last;
    for (std::size_t j = 0; j < m_s.carried && j < m_node.outputs.size(); ++j) {
        const std::string& o = body.outputs[1 + j];
        if (!m_node.outputs[j].empty() && produced.count(o) && !last.count(o))
            last[o] = m_node.outputs[j];
    }

    std::vector<std::string> carried(m_node.inputs.begin() + 2,
                                     m_node.inputs.begin() + 2 + m_s.carried);
    std::vector<std::vector<std::string>> scans(m_s.scans);
    for (int64_t k = 0; k < m_s.trips; ++k) {
        const std::string p = loop + "/i" + std::to_string(k) + "/";
        const bool final = k + 1 == m_s.trips;
        std::map<std::string, std::string> names = shared;
        names[body.inputs[0]] = constant(p + body.inputs[0], Tensor::scalar<int64_t>(k));
        names[body.inputs[1]] = constant(p + body.inputs[1], Tensor::scalar<bool>(true));
        for (std::size_t j = 0; j < m_s.carried; ++j) names[body.inputs[2 + j]] = carried[j];
        auto map = [&](const std::string& v) -> std::string {
            if (v.empty() || outer.count(v)) return v;
            if (auto it = names.find(v); it != names.end()) return it->second;
            std::string to;
            if (auto it = last.find(v); final && it != last.end())
                to = it->second;
            else
                to = fresh_value(p + v);
            names[v] = to;
            return to;
        };
        for (const Node& n : body.nodes) {
            Node c = n;
            c.name = fresh_node(p + n.name);
            for (std::string& v : c.inputs) v = map(v);
            for (std::string& v : c.outputs) v = map(v);
            m_out.push_back(std::move(c));
        }
        for (std::size_t j = 0; j < m_s.carried; ++j) carried[j] = map(body.outputs[1 + j]);
        for (std::size_t j = 0; j < m_s.scans; ++j)
            scans[j].push_back(map(body.outputs[1 + m_s.carried + j]));
    }
    // Carried values not already written under the Loop's names.
    for (std::size_t j = 0; j < m_s.carried && j < m_node.outputs.size(); ++j)
        if (!m_node.outputs[j].empty() && carried[j] != m_node.outputs[j])
            emit(loop + "/" + m_node.outputs[j], "Identity", {carried[j]}, m_node.outputs[j]);
    // Each scan output: its per-iteration values stacked on a new axis 0. Unsqueeze takes its
    // axes as an input from opset 13, as an attribute before.
    std::string axes;
    for (std::size_t j = 0; j < m_s.scans; ++j) {
        const std::size_t out = m_s.carried + j;
        if (out >= m_node.outputs.size() || m_node.outputs[out].empty()) continue;
        const std::string& name = m_node.outputs[out];
        if (m_g.opset >= 13 && axes.empty())
            axes = constant(loop + "/axes", Tensor::from_vector<int64_t>({1}, {0}));
        std::vector<std::string> pieces;
        for (int64_t k = 0; k < m_s.trips; ++k) {
            const std::string base = loop + "/i" + std::to_string(k) + "/" + name + "_unsqueeze";
            const std::string to = m_s.trips == 1 ? name : fresh_value(base);
            const std::string& v = scans[j][static_cast<std::size_t>(k)];
            if (m_g.opset >= 13)
                emit(base, "Unsqueeze", {v, axes}, to);
            else
                emit(base, "Unsqueeze", {v}, to, {{"axes", Attribute::of_ints({0})}});
            pieces.push_back(to);
        }
        if (m_s.trips > 1)
            emit(loop + "/" + name + "_concat", "Concat", pieces, name,
                 {{"axis", Attribute::of_int(0)}});
    }
    return std::move(m_out);
}

// `graph` with the Loop at `index` unrolled, inferred and folded, and the copies that fold to
// constants or that nothing reads dropped. Throws Keep for a Loop the pass leaves.
Graph unrolled(const Graph& graph, std::size_t index) {
    const Node& node = graph.nodes[index];
    const LoopShape s = check(graph, node);
    Graph g = graph;
    Unroller u(g, node, s);
    std::vector<Node> copies = u.run();
    std::set<std::string> copy_names;
    for (const Node& c : copies) copy_names.insert(c.name);
    for (const std::string& out : node.outputs)
        if (!out.empty()) {
            g.values[out].shape_known = false;
            g.values[out].constant.reset();
        }
    std::vector<Node> nodes(g.nodes.begin(), g.nodes.begin() + static_cast<long>(index));
    nodes.insert(nodes.end(), copies.begin(), copies.end());
    nodes.insert(nodes.end(), g.nodes.begin() + static_cast<long>(index) + 1, g.nodes.end());
    g.nodes = std::move(nodes);
    try {
        frontend::infer_and_fold(g);
    } catch (const sim::Error& e) {
        throw Keep{std::string("its unrolled body does not infer: ") + e.what()};
    }
    for (const std::string& v : u.added)
        if (!g.value(v).shape_known)
            throw Keep{"body value '" + v + "' has a shape only known at run time"};
    for (const std::string& out : node.outputs)
        if (!out.empty() && !g.value(out).shape_known)
            throw Keep{"output '" + out + "' has a shape only known at run time"};
    // Copies whose outputs are constants, or that nothing reads, go.
    std::set<std::string> live(g.outputs.begin(), g.outputs.end());
    std::vector<Node> kept;
    for (auto it = g.nodes.rbegin(); it != g.nodes.rend(); ++it) {
        bool needed = false, all_constant = true;
        for (const std::string& o : it->outputs) {
            if (o.empty()) continue;
            needed = needed || live.count(o);
            all_constant = all_constant && g.is_constant(o);
        }
        if (copy_names.count(it->name) && (!needed || all_constant)) continue;
        live.insert(it->inputs.begin(), it->inputs.end());
        kept.push_back(std::move(*it));
    }
    g.nodes.assign(std::make_move_iterator(kept.rbegin()), std::make_move_iterator(kept.rend()));
    std::string into;
    for (const Node& n : g.nodes)
        if (into.empty() && copy_names.count(n.name)) into = n.name;
    g.folded.push_back({node.name, node.op_type, into,
                        "unrolled into " + std::to_string(s.trips) + " copies of its body (" +
                            node.name + "/i<k>/...)"});
    // Values nothing reads any more: the Loop's constant inputs and copies dropped above.
    std::set<std::string> used(g.inputs.begin(), g.inputs.end());
    used.insert(g.outputs.begin(), g.outputs.end());
    for (const Node& n : g.nodes) {
        used.insert(n.inputs.begin(), n.inputs.end());
        used.insert(n.outputs.begin(), n.outputs.end());
    }
    std::set<std::string> candidates = u.added;
    candidates.insert(node.inputs.begin(), node.inputs.end());
    for (const std::string& v : candidates)
        if (!v.empty() && !used.count(v) && g.is_constant(v)) g.values.erase(v);
    return g;
}

}  // namespace

std::string loop_kept_reason(const Graph& graph, const Node& node) {
    if (!is_loop(node)) return "";
    for (std::size_t i = 0; i < graph.nodes.size(); ++i)
        if (graph.nodes[i].name == node.name) {
            try {
                unrolled(graph, i);
            } catch (const Keep& k) {
                return k.reason;
            }
            return "";
        }
    try {
        check(graph, node);
    } catch (const Keep& k) {
        return k.reason;
    }
    return "";
}

std::vector<LoopKept> unroll_loops(Graph& graph) {
    std::vector<LoopKept> kept;
    for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
        if (!is_loop(graph.nodes[i])) continue;
        try {
            Graph g = unrolled(graph, i);
            // Resume after the copies: the nodes before the Loop are where they were.
            const std::size_t after = graph.nodes.size() - i;
            graph = std::move(g);
            i = graph.nodes.size() - after;
        } catch (const Keep& k) {
            kept.push_back({graph.nodes[i].name, k.reason});
        }
    }
    return kept;
}

}  // namespace xpusim::lower
