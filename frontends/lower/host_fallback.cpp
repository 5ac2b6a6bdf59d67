#include "frontends/lower/host_fallback.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>

#include "frontends/lower/op_classes.h"
#include "frontends/onnx/executor.h"
#include "sim/error.h"

namespace xpusim::lower {

using frontend::Graph;
using frontend::Node;

namespace {

const sim::Shape& known_shape(const Graph& g, const Node& n, const std::string& v) {
    const auto& info = g.value(v);
    if (!info.shape_known)
        throw sim::UnsupportedError(n.describe() + ": the shape of '" + v +
                                    "' is only known at run time; give input shapes with --shape");
    return info.shape;
}

double numel(const Graph& g, const Node& n, const std::string& v) {
    return v.empty() ? 0.0 : static_cast<double>(sim::shape_numel(known_shape(g, n, v)));
}

double product(const sim::Shape& s, std::size_t from, std::size_t to) {
    double p = 1;
    for (std::size_t i = from; i < to && i < s.size(); ++i) p *= static_cast<double>(s[i]);
    return p;
}

double conv_flops(const Graph& g, const Node& n) {
    const auto& x = known_shape(g, n, n.inputs[0]);
    const auto& w = known_shape(g, n, n.inputs[1]);
    const auto& y = known_shape(g, n, n.outputs[0]);
    const double groups = static_cast<double>(std::max<int64_t>(1, n.attr_int("group", 1)));
    const double kernel = product(w, 2, w.size());
    if (n.op_type == "Conv")  // 2 * N * K * (C / groups) * kernel * output pixels
        return 2.0 * product(y, 0, 2) * (static_cast<double>(x.size() > 1 ? x[1] : 1) / groups) *
               kernel * product(y, 2, y.size());
    // ConvTranspose: every input pixel of every input channel scatters into K / groups output
    // channels over the kernel: 2 * N * C * (K / groups) * kernel * input pixels. W is C x K/g x
    // ...
    return 2.0 * product(x, 0, 2) * static_cast<double>(w.size() > 1 ? w[1] : 1) * kernel *
           product(x, 2, x.size());
}

// 2 * (product of every index letter's size) * (the broadcast axes an ellipsis covers).
double einsum_flops(const Graph& g, const Node& n) {
    std::string eq = n.attr_string("equation", "");
    eq.erase(std::remove(eq.begin(), eq.end(), ' '), eq.end());
    const std::string lhs = eq.substr(0, eq.find("->"));
    std::map<char, int64_t> size;
    double ellipsis = 1;
    std::size_t start = 0;
    for (std::size_t input = 0; input < n.inputs.size() && start <= lhs.size(); ++input) {
        const std::size_t comma = lhs.find(',', start);
        const std::string term =
            lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        start = comma == std::string::npos ? lhs.size() + 1 : comma + 1;
        const auto& s = known_shape(g, n, n.inputs[input]);
        const std::size_t dots = term.find("...");
        const std::string before = term.substr(0, dots);
        const std::string after = dots == std::string::npos ? "" : term.substr(dots + 3);
        for (std::size_t i = 0; i < before.size() && i < s.size(); ++i)
            size[before[i]] = std::max(size[before[i]], s[i]);
        for (std::size_t i = 0; i < after.size() && after.size() <= s.size(); ++i)
            size[after[i]] = std::max(size[after[i]], s[s.size() - after.size() + i]);
        if (dots != std::string::npos && s.size() >= before.size() + after.size())
            ellipsis = std::max(ellipsis, product(s, before.size(), s.size() - after.size()));
    }
    double total = ellipsis;
    for (const auto& [c, sz] : size) total *= static_cast<double>(sz);
    return 2.0 * total;
}

double recurrent_flops(const Graph& g, const Node& n) {
    // X: [seq, batch, input] (layout 0) or [batch, seq, input] (layout 1); W: [dirs, G*H, I].
    const auto& x = known_shape(g, n, n.inputs[0]);
    const auto& w = known_shape(g, n, n.inputs[1]);
    const int64_t gates = n.op_type == "LSTM" ? 4 : n.op_type == "GRU" ? 3 : 1;
    if (x.size() != 3 || w.size() != 3) return 0;
    const double steps_rows = static_cast<double>(x[0] * x[1]);
    const double dirs = static_cast<double>(w[0]);
    const double gh = static_cast<double>(w[1]);
    const double hidden = gh / static_cast<double>(gates);
    const double in = static_cast<double>(w[2]);
    // gate GEMMs over x and h, plus ~8 operations per gate element (bias adds, activations,
    // the cell and hidden updates)
    return dirs * steps_rows * (2.0 * gh * (in + hidden) + 8.0 * gh);
}

double flops(const Graph& g, const Node& n) {
    const std::string& t = n.op_type;
    if (t == "Conv" || t == "ConvTranspose") return conv_flops(g, n);
    if (t == "MatMul" || t == "MatMulInteger" || t == "QLinearMatMul") {
        const auto& a = known_shape(g, n, n.inputs[0]);
        return 2.0 * numel(g, n, n.outputs[0]) * static_cast<double>(a.empty() ? 1 : a.back());
    }
    if (t == "Gemm") {
        const auto& a = known_shape(g, n, n.inputs[0]);
        const double k =
            static_cast<double>(a.size() == 2 ? (n.attr_int("transA", 0) ? a[0] : a[1]) : 1);
        const double mn = numel(g, n, n.outputs[0]);
        return 2.0 * mn * k + (n.has_input(2) ? mn : 0.0);
    }
    if (t == "Einsum") return einsum_flops(g, n);
    if (t == "LSTM" || t == "GRU" || t == "RNN") return recurrent_flops(g, n);
    if (is_data_movement(t) || is_view_op(n)) return 0;
    return static_cast<double>(vector_ops_per_element(t).value_or(1)) * vector_elements(g, n);
}

}  // namespace

NodeFunction bind_node_function(const Graph& graph, const Node& node) {
    std::vector<std::optional<sim::Tensor>> constants;
    std::vector<bool> omitted;
    for (const auto& in : node.inputs) {
        omitted.push_back(in.empty());
        constants.push_back(!in.empty() && graph.is_constant(in) ? graph.value(in).constant
                                                                 : std::nullopt);
    }
    const int64_t opset = graph.opset;
    return [node, opset, constants, omitted](const std::vector<sim::Tensor>& runtime) {
        std::vector<const sim::Tensor*> ptrs;
        std::size_t next = 0;
        for (std::size_t i = 0; i < constants.size(); ++i) {
            if (omitted[i])
                ptrs.push_back(nullptr);
            else if (constants[i])
                ptrs.push_back(&*constants[i]);
            else
                ptrs.push_back(&runtime.at(next++));
        }
        // One result per output the node names: targets hold no buffer for omitted ones.
        std::vector<sim::Tensor> results = frontend::run_node(node, opset, ptrs);
        std::vector<sim::Tensor> named;
        for (std::size_t i = 0; i < results.size() && i < node.outputs.size(); ++i)
            if (!node.outputs[i].empty()) named.push_back(std::move(results[i]));
        return named;
    };
}

sim::HostCost host_cost(const Graph& graph, const Node& node) {
    sim::HostCost c;
    c.flops = flops(graph, node);
    auto bytes = [&](const std::string& v) {
        return v.empty() ? 0.0
                         : numel(graph, node, v) *
                               static_cast<double>(sim::dtype_size(graph.value(v).dtype));
    };
    for (const auto& in : node.inputs) c.bytes += bytes(in);
    for (const auto& out : node.outputs) c.bytes += bytes(out);
    return c;
}

sim::HostCall make_host_call(const Graph& graph, const Node& node) {
    sim::HostCall call;
    call.node = node.name;
    call.op_type = node.op_type;
    call.cost = host_cost(graph, node);
    call.compute = bind_node_function(graph, node);
    return call;
}

void bind_host_calls(std::vector<sim::HostCall>& calls, const Graph& graph) {
    std::map<std::string, const Node*> by_name;
    for (const auto& n : graph.nodes) by_name[n.name] = &n;
    for (auto& call : calls) {
        auto it = by_name.find(call.node);
        if (it == by_name.end())
            throw sim::ModelError("host call for node '" + call.node +
                                  "': the graph has no such node");
        call.compute = bind_node_function(graph, *it->second);
    }
}

}  // namespace xpusim::lower
