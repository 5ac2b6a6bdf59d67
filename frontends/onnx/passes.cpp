#include "frontends/onnx/passes.h"

#include <algorithm>
#include <set>

#include "frontends/onnx/executor.h"
#include "frontends/onnx/loader.h"
#include "frontends/onnx/op_registry.h"

namespace xpusim::frontend {

using sim::ModelError;

void bind_input_shapes(Graph& graph, const std::map<std::string, Shape>& shapes) {
    for (const auto& [name, shape] : shapes)
        if (std::find(graph.inputs.begin(), graph.inputs.end(), name) == graph.inputs.end())
            throw ModelError("--shape names '" + name + "', which is not a graph input");
    for (const auto& name : graph.inputs) {
        ValueInfo& v = graph.value(name);
        auto it = shapes.find(name);
        if (it != shapes.end()) {
            const Shape& given = it->second;
            if (!v.shape.empty() && given.size() != v.shape.size())
                throw ModelError("input '" + name + "' has rank " + std::to_string(v.shape.size()) +
                                 " but the given shape is " + sim::shape_str(given));
            for (std::size_t d = 0; d < v.shape.size(); ++d)
                if (v.shape[d] >= 0 && v.shape[d] != given[d])
                    throw ModelError("input '" + name + "' is declared " + sim::shape_str(v.shape) +
                                     " but the given shape is " + sim::shape_str(given));
            v.shape = given;
        } else {
            for (std::size_t d = 0; d < v.shape.size(); ++d)
                if (v.shape[d] < 0)
                    throw ModelError("input '" + name + "' has dynamic dimension '" +
                                     v.dim_params[d] + "': give its shape with --shape " + name +
                                     "=...");
        }
        int64_t numel = 0;
        try {
            numel = sim::shape_numel(v.shape);
        } catch (const sim::Error&) {
            throw ModelError("input '" + name + "' of shape " + sim::shape_str(v.shape) +
                             " overflows 64 bits");
        }
        sim::TensorLimit::check(numel, v.dtype, sim::shape_str(v.shape), "input '" + name + "'");
        v.shape_known = true;
    }
}

namespace {

// Ops that must never be folded: their value is not a function of their inputs.
bool is_foldable(const std::string& op) {
    static const std::set<std::string> random = {"RandomNormal",     "RandomUniform",
                                                 "RandomNormalLike", "RandomUniformLike",
                                                 "Multinomial",      "Bernoulli"};
    return !random.count(op);
}

// Constants larger than this stay nodes: folding must not blow up memory.
constexpr int64_t kMaxFoldedElements = int64_t{1} << 24;

// Shape and Size need only their input's shape, so they fold even when the value is dynamic.
std::optional<Tensor> fold_from_shape(const Node& node, const Shape& in) {
    if (node.op_type == "Size") return Tensor::scalar<int64_t>(sim::shape_numel(in));
    if (node.op_type != "Shape") return std::nullopt;
    const int64_t rank = static_cast<int64_t>(in.size());
    auto clamp = [&](int64_t v) { return std::clamp(v < 0 ? v + rank : v, int64_t{0}, rank); };
    const int64_t start = clamp(node.attr_int("start", 0));
    const int64_t end = clamp(node.attr_int("end", rank));
    std::vector<int64_t> dims;
    for (int64_t i = start; i < end; ++i) dims.push_back(in[i]);
    return Tensor::from_vector<int64_t>({static_cast<int64_t>(dims.size())}, dims);
}

void check_declared(const ValueInfo& v, const Node& node) {
    if (v.declared_dtype && *v.declared_dtype != v.dtype)
        throw ModelError("inconsistent types: value '" + v.name + "' is declared " +
                         sim::dtype_name(*v.declared_dtype) + " but " + node.describe() +
                         " produces " + sim::dtype_name(v.dtype));
    if (!v.declared_shape) return;
    const Shape& d = *v.declared_shape;
    bool ok = d.size() == v.shape.size();
    for (std::size_t i = 0; ok && i < d.size(); ++i) ok = d[i] < 0 || d[i] == v.shape[i];
    if (!ok)
        throw ModelError("inconsistent shapes: value '" + v.name + "' is declared " +
                         sim::shape_str(d) + " but " + node.describe() + " produces " +
                         sim::shape_str(v.shape));
}

}  // namespace

void infer_and_fold(Graph& graph) {
    const sim::Registry<OpKernel>& registry = operators();
    for (const Node& node : graph.nodes) {
        const OpKernel* kernel = registry.find(node.op_type);
        if (!kernel || !node.domain.empty())
            throw sim::UnsupportedError(node.describe() + ": operator '" +
                                        (node.domain.empty() ? "" : node.domain + ".") +
                                        node.op_type + "' is not supported");
        InferContext ctx{node, graph.opset, {}, {}, {}};
        bool known = true, all_constant = true;
        for (const auto& name : node.inputs) {
            InferInput in;
            if (!name.empty()) {
                const ValueInfo& v = graph.value(name);
                in.present = true;
                in.dtype = v.dtype;
                in.shape = v.shape;
                in.constant = v.constant ? &*v.constant : nullptr;
                known = known && v.shape_known;
                all_constant = all_constant && v.constant.has_value();
            }
            ctx.inputs.push_back(in);
        }
        if (!known) continue;  // downstream of a value only known at run time
        try {
            kernel->infer(ctx);
        } catch (const sim::UnsupportedError&) {
            continue;  // a shape that depends on run-time values; lowering reports it if needed
        }
        if (ctx.output_dtypes.size() < node.outputs.size())
            ctx.output_dtypes.resize(node.outputs.size()),
                ctx.output_shapes.resize(node.outputs.size());
        int64_t out_elements = 0;
        for (std::size_t i = 0; i < node.outputs.size(); ++i) {
            if (node.outputs[i].empty()) continue;
            ValueInfo& v = graph.value(node.outputs[i]);
            v.dtype = ctx.output_dtypes[i];
            v.shape = ctx.output_shapes[i];
            v.shape_known = true;
            check_declared(v, node);
            out_elements += sim::shape_numel(v.shape);
        }
        if (!is_foldable(node.op_type) || out_elements > kMaxFoldedElements) continue;

        std::optional<Tensor> from_shape =
            fold_from_shape(node, ctx.inputs.empty() ? Shape{} : ctx.inputs[0].shape);
        std::vector<Tensor> folded;
        if (from_shape) {
            folded.push_back(*from_shape);
        } else if (all_constant) {
            std::vector<const Tensor*> ins;
            for (const auto& in : ctx.inputs) ins.push_back(in.constant);
            folded = run_node(node, graph.opset, ins);
        } else {
            continue;
        }
        for (std::size_t i = 0; i < node.outputs.size() && i < folded.size(); ++i) {
            if (node.outputs[i].empty()) continue;
            ValueInfo& v = graph.value(node.outputs[i]);
            if (folded[i].shape() != v.shape || folded[i].dtype() != v.dtype)
                throw ModelError(node.describe() + ": shape inference gives " +
                                 sim::dtype_name(v.dtype) + "[" + sim::shape_str(v.shape) +
                                 "] but the kernel computes " + sim::dtype_name(folded[i].dtype()) +
                                 "[" + sim::shape_str(folded[i].shape()) + "] (internal error)");
            v.constant = folded[i];
        }
    }
}

void remove_dead_nodes(Graph& graph) {
    std::set<std::string> live(graph.outputs.begin(), graph.outputs.end());
    std::vector<Node> kept;
    for (auto it = graph.nodes.rbegin(); it != graph.nodes.rend(); ++it) {
        bool needed = false, all_constant = true;
        for (const auto& o : it->outputs) {
            if (o.empty()) continue;
            needed = needed || live.count(o);
            all_constant = all_constant && graph.is_constant(o);
        }
        if (!needed || all_constant) continue;
        for (const auto& in : it->inputs)
            if (!in.empty()) live.insert(in);
        kept.push_back(std::move(*it));
    }
    std::reverse(kept.begin(), kept.end());
    graph.nodes = std::move(kept);
    // Values nothing refers to any more (folded intermediates) are dropped too.
    for (const auto& n : graph.nodes)
        for (const auto& o : n.outputs)
            if (!o.empty()) live.insert(o);
    for (const auto& i : graph.inputs) live.insert(i);
    for (auto it = graph.values.begin(); it != graph.values.end();)
        it = live.count(it->first) ? std::next(it) : graph.values.erase(it);
}

Graph load_model(const std::string& path, const std::map<std::string, Shape>& input_shapes) {
    Graph g = import_model(path);
    bind_input_shapes(g, input_shapes);
    infer_and_fold(g);
    remove_dead_nodes(g);
    return g;
}

}  // namespace xpusim::frontend
