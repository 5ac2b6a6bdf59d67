#include "frontends/lower/qdq.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "frontends/lower/op_classes.h"
#include "frontends/onnx/passes.h"

namespace xpusim::lower {

using frontend::Graph;
using frontend::Node;

namespace {

// The integer range of a quantized element type; false for types a symmetric int8 unit has no
// reading of (int32 biases, fp8), whose pairs are left in the graph.
bool integer_range(sim::DType t, double& lo, double& hi) {
    // One case a line, as a table.
    // clang-format off
    switch (t) {
        case sim::DType::Int8: lo = -128, hi = 127; return true;
        case sim::DType::UInt8: lo = 0, hi = 255; return true;
        case sim::DType::Int16: lo = -32768, hi = 32767; return true;
        case sim::DType::UInt16: lo = 0, hi = 65535; return true;
        default: return false;
    }
    // clang-format on
}

std::string fmt(const char* f, double a, double b = 0, double c = 0) {
    char buf[160];
    std::snprintf(buf, sizeof buf, f, a, b, c);
    return buf;
}

// Scale and zero point of a Q or DQ node as doubles, one entry per channel (one for per
// tensor); false if either is not a constant or the block form (block_size) is used.
bool quant_params(const Graph& g, const Node& n, std::vector<double>& scale,
                  std::vector<double>& zero_point) {
    if (!n.has_input(1) || !g.is_constant(n.inputs[1])) return false;
    if (n.attr_int("block_size", 0) != 0) return false;
    const sim::Tensor& s = *g.value(n.inputs[1]).constant;
    scale.resize(static_cast<std::size_t>(s.numel()));
    for (int64_t i = 0; i < s.numel(); ++i) scale[i] = s.get_as_double(i);
    zero_point.assign(scale.size(), 0.0);
    if (n.has_input(2)) {
        if (!g.is_constant(n.inputs[2])) return false;
        const sim::Tensor& z = *g.value(n.inputs[2]).constant;
        if (z.numel() != s.numel()) return false;
        for (int64_t i = 0; i < z.numel(); ++i) zero_point[i] = z.get_as_double(i);
    }
    return !scale.empty();
}

bool same_params(const Graph& g, const Node& q, const Node& dq) {
    std::vector<double> s0, z0, s1, z1;
    return quant_params(g, q, s0, z0) && quant_params(g, dq, s1, z1) && s0 == s1 && z0 == z1 &&
           (s0.size() == 1 || q.attr_int("axis", 1) == dq.attr_int("axis", 1));
}

void widen(ValueRange& into, const ValueRange& r) {
    into.min = std::min(into.min, r.min);
    into.max = std::max(into.max, r.max);
    into.absmax = std::max(into.absmax, r.absmax);
    into.percentile = std::max(into.percentile, r.percentile);
}

// Ops whose output range lies within their input's (or is their inputs' union), so that a value
// next to a Q/DQ pair shares its range: Conv -> Relu -> Q gives the Conv output the Relu's.
bool keeps_range(const Node& n) {
    static const std::set<std::string> ops = {
        "Relu",      "MaxPool", "GlobalMaxPool", "AveragePool", "GlobalAveragePool",
        "Identity",  "Reshape", "Flatten",       "Squeeze",     "Unsqueeze",
        "Transpose", "Dropout", "Concat",        "Clip"};
    return ops.count(n.op_type) != 0;
}

// The float activations an int8 lowering scales: graph inputs and node outputs.
std::vector<std::string> float_activations(const Graph& graph) {
    std::vector<std::string> out;
    auto add = [&](const std::string& v) {
        if (!v.empty() && !graph.is_constant(v) && sim::is_float(graph.value(v).dtype))
            out.push_back(v);
    };
    for (const auto& in : graph.inputs) add(in);
    for (const Node& n : graph.nodes)
        for (const auto& o : n.outputs) add(o);
    return out;
}

// The weight of a GEMM or convolution and its output-channel axis, if constant.
const sim::Tensor* gemm_weight(const Graph& g, const Node& n, int& axis) {
    if (!n.has_input(1) || !g.is_constant(n.inputs[1])) return nullptr;
    const sim::Tensor& w = *g.value(n.inputs[1]).constant;
    if (n.op_type == "Conv")
        axis = 0;
    else if (n.op_type == "Gemm")
        axis = n.attr_int("transB", 0) ? 0 : 1;
    else if (n.op_type == "MatMul" && w.rank() == 2)
        axis = 1;
    else
        return nullptr;
    return sim::is_float(w.dtype()) && w.rank() >= 2 ? &w : nullptr;
}

// How far a weight tensor is from the int8 grid the target puts it on (symmetric, absmax / 127
// per output channel or per tensor): the largest |w / s - round(w / s)|, in steps.
double off_grid(const sim::Tensor& w, int axis, bool per_channel) {
    const sim::Shape& sh = w.shape();
    const int64_t channels = sh[static_cast<std::size_t>(axis)];
    int64_t inner = 1;
    for (std::size_t d = static_cast<std::size_t>(axis) + 1; d < sh.size(); ++d) inner *= sh[d];
    auto channel = [&](int64_t i) { return (i / inner) % channels; };
    std::vector<double> absmax(static_cast<std::size_t>(channels), 0.0);
    for (int64_t i = 0; i < w.numel(); ++i)
        absmax[channel(i)] = std::max(absmax[channel(i)], std::fabs(w.get_as_double(i)));
    if (!per_channel)
        std::fill(absmax.begin(), absmax.end(), *std::max_element(absmax.begin(), absmax.end()));
    double worst = 0;
    for (int64_t i = 0; i < w.numel(); ++i) {
        const double s = symmetric_scale(static_cast<float>(absmax[channel(i)]));
        const double steps = w.get_as_double(i) / s;
        worst = std::max(worst, std::fabs(steps - std::nearbyint(steps)));
    }
    return worst;
}

// Extends the model's ranges forward, then backward, through range-keeping ops, and lists the
// float activations still without one.
void extend_ranges(const Graph& graph, ModelQuantization& mq) {
    auto& ranges = mq.ranges;
    for (const Node& n : graph.nodes) {
        if (!keeps_range(n) || n.outputs.empty() || ranges.count(n.outputs[0])) continue;
        ValueRange r;
        bool all = true, any = false;
        for (std::size_t i = 0; i < n.inputs.size(); ++i) {
            if (n.inputs[i].empty() || (i > 0 && n.op_type != "Concat")) continue;
            auto it = ranges.find(n.inputs[i]);
            if (it == ranges.end()) {
                all = false;
                continue;
            }
            if (!any)
                r = it->second;
            else
                widen(r, it->second);
            any = true;
        }
        if (any && all) ranges[n.outputs[0]] = r;
    }
    for (auto n = graph.nodes.rbegin(); n != graph.nodes.rend(); ++n) {
        if (!keeps_range(*n) || n->op_type == "Concat" || n->outputs.empty() || n->inputs.empty())
            continue;
        auto out = ranges.find(n->outputs[0]);
        if (out != ranges.end() && !graph.is_constant(n->inputs[0]) && !ranges.count(n->inputs[0]))
            ranges[n->inputs[0]] = out->second;
    }
    std::string names;
    for (const auto& v : float_activations(graph)) {
        if (ranges.count(v)) continue;
        mq.uncovered.push_back(v);
        if (names.size() < 120) names += (names.empty() ? "'" : ", '") + v + "'";
    }
    if (!mq.uncovered.empty())
        mq.deviations.push_back(
            std::to_string(mq.uncovered.size()) +
            " value(s) carry no Q/DQ pair, so their scales are calibrated: " + names);
}

void add_weight_deviations(const Graph& graph, const sim::QuantSpec& quant, ModelQuantization& mq) {
    for (const Node& n : graph.nodes) {
        int axis = 0;
        const sim::Tensor* w = gemm_weight(graph, n, axis);
        if (!w) continue;
        const double steps = off_grid(*w, axis, quant.per_channel);
        if (steps > 1e-3)
            mq.deviations.push_back("weights of " + n.name + " are off the target's " +
                                    (quant.per_channel ? "per-channel" : "per-tensor") +
                                    fmt(" int8 grid: requantized, up to %.2f of a step", steps));
    }
}

// A folded pair placed under a view (Reshape, Flatten) moves to the op that computes the view's
// data, before it or else after it: a view has no unit and, on some targets, no row.
void place_under_compute_ops(Graph& graph, std::size_t first_folded) {
    std::map<std::string, const Node*> by_name, producer;
    for (const Node& n : graph.nodes) {
        by_name[n.name] = &n;
        for (const auto& o : n.outputs) producer[o] = &n;
    }
    const frontend::ValueReaders readers(graph);
    for (std::size_t i = first_folded; i < graph.folded.size(); ++i) {
        frontend::FoldedNode& f = graph.folded[i];
        for (std::size_t hops = 0; hops < graph.nodes.size(); ++hops) {
            auto it = by_name.find(f.into);
            if (it == by_name.end() || !is_view_op(*it->second)) break;
            const Node& view = *it->second;
            auto up = producer.find(view.inputs[0]);
            const auto& down = readers.of(view.outputs[0]);
            if (up != producer.end())
                f.into = up->second->name;
            else if (!down.empty())
                f.into = graph.nodes[down[0]].name;
            else
                break;
        }
    }
}

}  // namespace

ModelQuantization fold_qdq(Graph& graph, const sim::QuantSpec& quant) {
    ModelQuantization mq;
    const std::size_t folded_before = graph.folded.size();
    const frontend::ValueReaders readers(graph);
    std::set<std::size_t> removed;
    std::map<std::string, std::string> source_of;  // a DQ output -> the value its pair quantized
    std::map<std::string, std::string> producer;   // value -> the node that writes it
    for (const Node& n : graph.nodes)
        for (const auto& o : n.outputs) producer[o] = n.name;
    for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
        const Node& q = graph.nodes[i];
        if (q.op_type != "QuantizeLinear" || graph.is_constant(q.inputs[0])) continue;
        // A requantization (DQ -> Q of another pair) quantizes the value the first pair did.
        auto folded_source = source_of.find(q.inputs[0]);
        const std::string x =
            folded_source != source_of.end() ? folded_source->second : q.inputs[0];
        const std::string& y = q.outputs[0];
        std::vector<double> scale, zp;
        double qmin, qmax;
        if (!quant_params(graph, q, scale, zp) ||
            !integer_range(graph.value(y).dtype, qmin, qmax) ||
            std::find(graph.outputs.begin(), graph.outputs.end(), y) != graph.outputs.end())
            continue;
        const auto& r = readers.of(y);
        bool pairs = !r.empty();
        for (std::size_t k : r) {
            const Node& dq = graph.nodes[k];
            pairs = pairs && dq.op_type == "DequantizeLinear" && dq.inputs[0] == y &&
                    same_params(graph, q, dq);
        }
        if (!pairs) continue;

        // The range the pair lets through, and what a symmetric per-tensor unit makes of it.
        ValueRange vr;
        vr.min = static_cast<float>((qmin - zp[0]) * scale[0]);
        vr.max = static_cast<float>((qmax - zp[0]) * scale[0]);
        double finest = scale[0];
        for (std::size_t c = 1; c < scale.size(); ++c) {
            vr.min = std::min(vr.min, static_cast<float>((qmin - zp[c]) * scale[c]));
            vr.max = std::max(vr.max, static_cast<float>((qmax - zp[c]) * scale[c]));
            finest = std::min(finest, scale[c]);
        }
        vr.absmax = vr.percentile = std::max(std::fabs(vr.min), std::fabs(vr.max));
        const double target = symmetric_scale(vr.absmax);
        if (scale.size() > 1)
            mq.deviations.push_back(
                "'" + x + "': " + std::to_string(scale.size()) +
                " per-axis scales on a per-tensor unit" +
                fmt(": one scale %.4g, %.3gx the finest", target, target / finest));
        else if (target > scale[0] * (1 + 1e-6))
            mq.deviations.push_back(
                "'" + x + "': " + sim::dtype_name(graph.value(y).dtype) +
                fmt(" zero point %.0f on symmetric int8: scale %.4g, %.3gx the model's", zp[0],
                    target, target / scale[0]));
        auto [it, fresh] = mq.ranges.emplace(x, vr);
        if (!fresh) widen(it->second, vr);

        // The Q is placed under the op that writes x (now writing it as int8), or, for a graph
        // input, under the op that reads the pair's result.
        const auto& consumers = readers.of(graph.nodes[r[0]].outputs[0]);
        const std::string first_reader = producer.count(x)    ? producer[x]
                                         : !consumers.empty() ? graph.nodes[consumers[0]].name
                                                              : graph.nodes[r[0]].name;
        const std::string reason =
            "the model's quantization of '" + x + "'" +
            (scale.size() == 1 ? fmt(" (scale %.4g, zero point %.0f)", scale[0], zp[0]) : "") +
            ": the int8 ops on either side use it";
        graph.folded.push_back({q.name, q.op_type, first_reader, reason});
        removed.insert(i);
        for (std::size_t k : r) {
            const Node& dq = graph.nodes[k];
            // Placed under the op that now reads the value it dequantized.
            const auto& dr = readers.of(dq.outputs[0]);
            graph.folded.push_back(
                {dq.name, dq.op_type, dr.empty() ? first_reader : graph.nodes[dr[0]].name, reason});
            source_of[dq.outputs[0]] = x;
            removed.insert(k);
        }
        ++mq.pairs;
    }
    if (!mq.present()) return mq;

    std::vector<Node> kept;
    for (std::size_t k = 0; k < graph.nodes.size(); ++k)
        if (!removed.count(k)) kept.push_back(std::move(graph.nodes[k]));
    graph.nodes = std::move(kept);
    for (auto& n : graph.nodes)
        for (auto& in : n.inputs) {
            auto s = source_of.find(in);
            if (s != source_of.end()) in = s->second;
        }
    // A graph output that was a DQ's result keeps its name: an Identity (a view) gives it.
    for (auto& out : graph.outputs) {
        auto s = source_of.find(out);
        if (s == source_of.end()) continue;
        Node id;
        id.name = out + "/qdq_output";
        id.op_type = "Identity";
        id.inputs = {s->second};
        id.outputs = {out};
        graph.nodes.push_back(id);
    }
    // Removing pairs and renaming keeps the order topological: x is written before its Q.
    frontend::drop_unused_values(graph);  // the pairs' scales and zero points
    place_under_compute_ops(graph, folded_before);
    extend_ranges(graph, mq);
    add_weight_deviations(graph, quant, mq);
    return mq;
}

std::map<std::string, ValueRange> int8_ranges(const Graph& graph, const ModelQuantization& model,
                                              const CalibrationSet& set,
                                              const sim::QuantSpec& quant, CalibrationUse& use) {
    if (!model.present()) return calibrate(graph, set, quant, use);
    std::map<std::string, ValueRange> ranges = model.ranges;
    use.source = "model";
    use.samples = 0;
    use.detail = {{"qdq_pairs", model.pairs}};
    if (!model.uncovered.empty()) {
        CalibrationUse drawn;
        const auto calibrated = calibrate(graph, set, quant, drawn);
        for (const auto& v : model.uncovered) ranges[v] = calibrated.at(v);
        use.samples = drawn.samples;
        use.detail["calibrated"] = model.uncovered;
    }
    return ranges;
}

std::vector<std::string> qdq_notes(const ModelQuantization& model) {
    std::vector<std::string> out;
    if (!model.present()) return out;
    out.push_back("int8 scales: the model's own (" + std::to_string(model.pairs) +
                  " Q/DQ pairs folded into the ops beside them), " +
                  (model.deviations.empty() ? std::string("all honoured")
                                            : std::to_string(model.deviations.size()) +
                                                  " rounded to what the hardware does:"));
    constexpr std::size_t kShown = 12;
    for (std::size_t i = 0; i < model.deviations.size() && i < kShown; ++i)
        out.push_back("  " + model.deviations[i]);
    if (model.deviations.size() > kShown)
        out.push_back("  ... and " + std::to_string(model.deviations.size() - kShown) + " more");
    return out;
}

}  // namespace xpusim::lower
