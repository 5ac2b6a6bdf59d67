// Graph passes that prepare fusion for the lowerings: BatchNormalization folded into the Conv or
// Gemm before it, and the sole-reader chains a target may fuse into one kernel or layer.
#include <algorithm>
#include <cmath>
#include <set>

#include "frontends/onnx/passes.h"

namespace xpusim::frontend {

namespace {

std::vector<double> as_doubles(const Tensor& t) {
    if (t.dtype() == DType::Float32) {  // the common case, without a per-element dispatch
        const float* p = t.data<float>();
        return std::vector<double>(p, p + t.numel());
    }
    std::vector<double> out(static_cast<std::size_t>(t.numel()));
    for (int64_t i = 0; i < t.numel(); ++i) out[static_cast<std::size_t>(i)] = t.get_as_double(i);
    return out;
}

// Each value rounded to fp32, then cast to `dtype`.
Tensor from_doubles(const std::vector<double>& v, const Shape& shape, DType dtype) {
    Tensor f(DType::Float32, shape);
    if (f.numel() != static_cast<int64_t>(v.size()))
        throw sim::Error("fold_batchnorm: " + std::to_string(v.size()) + " values for shape " + sim::shape_str(shape));
    float* out = f.data<float>();
    for (std::size_t i = 0; i < v.size(); ++i) out[i] = static_cast<float>(v[i]);
    return dtype == DType::Float32 ? f : f.cast(dtype);
}

bool is_graph_output(const Graph& g, const std::string& v) {
    return std::find(g.outputs.begin(), g.outputs.end(), v) != g.outputs.end();
}

const Tensor* constant(const Graph& g, const Node& n, std::size_t i) {
    if (!n.has_input(i) || !g.is_constant(n.inputs[i])) return nullptr;
    return &*g.value(n.inputs[i]).constant;
}

// k[c] = gamma[c] / sqrt(var[c] + eps) and the shift (beta[c] - mean[c] * k[c]), or false when
// the BatchNormalization is not an inference-mode one over `channels` constant statistics.
bool bn_affine(const Graph& g, const Node& bn, int64_t channels, std::vector<double>& k,
               std::vector<double>& mean, std::vector<double>& beta) {
    if (bn.num_outputs_given() > 1 || bn.attr_int("training_mode", 0) != 0) return false;
    const Tensor *gamma = constant(g, bn, 1), *b = constant(g, bn, 2), *m = constant(g, bn, 3),
                 *var = constant(g, bn, 4);
    if (!gamma || !b || !m || !var) return false;
    for (const Tensor* t : {gamma, b, m, var})
        if (t->numel() != channels) return false;
    const double eps = bn.attr_float("epsilon", 1e-5);
    const auto gv = as_doubles(*gamma), vv = as_doubles(*var);
    k.resize(static_cast<std::size_t>(channels));
    for (std::size_t c = 0; c < k.size(); ++c) k[c] = gv[c] / std::sqrt(vv[c] + eps);
    mean = as_doubles(*m);
    beta = as_doubles(*b);
    return true;
}

std::string fresh_name(const Graph& g, const std::string& base) {
    std::string name = base;
    for (int i = 1; g.values.count(name); ++i) name = base + "_" + std::to_string(i);
    return name;
}

std::string add_constant(Graph& g, const std::string& base, Tensor t) {
    ValueInfo v;
    v.name = fresh_name(g, base);
    v.dtype = t.dtype();
    v.shape = t.shape();
    v.shape_known = true;
    v.constant = std::move(t);
    const std::string name = v.name;
    g.values[name] = std::move(v);
    return name;
}

// Conv: W[o, ...] *= k[o]; b[o] = (b[o] - mean[o]) * k[o] + beta[o].
bool fold_into_conv(Graph& g, Node& conv, const Node& bn) {
    const Tensor* w = constant(g, conv, 1);
    if (!w || w->shape().empty()) return false;
    if (conv.has_input(2) && !constant(g, conv, 2)) return false;
    const int64_t channels = w->dim(0);
    std::vector<double> k, mean, beta;
    if (!bn_affine(g, bn, channels, k, mean, beta)) return false;
    std::vector<double> wv = as_doubles(*w);
    const std::size_t per = wv.size() / static_cast<std::size_t>(channels);
    for (std::size_t o = 0; o < k.size(); ++o)
        for (std::size_t j = 0; j < per; ++j) wv[o * per + j] *= k[o];
    std::vector<double> bias(k.size(), 0.0);
    if (conv.has_input(2)) bias = as_doubles(*constant(g, conv, 2));
    for (std::size_t o = 0; o < k.size(); ++o) bias[o] = (bias[o] - mean[o]) * k[o] + beta[o];
    const DType dt = w->dtype();
    const std::string wname =
        add_constant(g, conv.name + ".folded_weight", from_doubles(wv, w->shape(), dt));
    const std::string bname =
        add_constant(g, conv.name + ".folded_bias", from_doubles(bias, {channels}, dt));
    conv.inputs.resize(3);
    conv.inputs[1] = wname;
    conv.inputs[2] = bname;
    return true;
}

// Gemm Y = alpha * A * B' + beta * C with BatchNormalization over the N columns:
//   B'[:, n] *= k[n];  C[n] = (beta * C[n] - mean[n]) * k[n] + beta_bn[n];  beta = 1.
bool fold_into_gemm(Graph& g, Node& gemm, const Node& bn) {
    const Tensor* b = constant(g, gemm, 1);
    if (!b || b->shape().size() != 2 || gemm.attr_int("transA", 0) != 0) return false;
    const bool trans_b = gemm.attr_int("transB", 0) != 0;
    const int64_t K = trans_b ? b->dim(1) : b->dim(0), N = trans_b ? b->dim(0) : b->dim(1);
    const auto& out = g.value(gemm.outputs[0]);
    if (!out.shape_known || out.shape.size() != 2 || out.shape[1] != N) return false;
    const Tensor* c = gemm.has_input(2) ? constant(g, gemm, 2) : nullptr;
    if (gemm.has_input(2) && (!c || (c->numel() != 1 && c->numel() != N))) return false;
    std::vector<double> k, mean, beta;
    if (!bn_affine(g, bn, N, k, mean, beta)) return false;
    std::vector<double> bv = as_doubles(*b);
    for (int64_t kk = 0; kk < K; ++kk)
        for (int64_t n = 0; n < N; ++n)
            bv[static_cast<std::size_t>(trans_b ? n * K + kk : kk * N + n)] *=
                k[static_cast<std::size_t>(n)];
    const double gemm_beta = gemm.attr_float("beta", 1.0);
    std::vector<double> bias(static_cast<std::size_t>(N), 0.0);
    if (c) {
        const auto cv = as_doubles(*c);
        for (std::size_t n = 0; n < bias.size(); ++n)
            bias[n] = gemm_beta * cv[cv.size() == 1 ? 0 : n];
    }
    for (std::size_t n = 0; n < bias.size(); ++n) bias[n] = (bias[n] - mean[n]) * k[n] + beta[n];
    const DType dt = b->dtype();
    const std::string bname =
        add_constant(g, gemm.name + ".folded_weight", from_doubles(bv, b->shape(), dt));
    const std::string cname =
        add_constant(g, gemm.name + ".folded_bias", from_doubles(bias, {N}, dt));
    gemm.inputs.resize(3);
    gemm.inputs[1] = bname;
    gemm.inputs[2] = cname;
    Attribute one;
    one.kind = Attribute::Kind::Float;
    one.f = 1.0;
    gemm.attrs["beta"] = one;
    return true;
}

}  // namespace

void fold_batchnorm(Graph& graph) {
    const ValueReaders readers(graph);
    std::set<std::size_t> removed;
    for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
        Node& producer = graph.nodes[i];
        if (producer.op_type != "Conv" && producer.op_type != "Gemm") continue;
        if (producer.outputs.size() != 1 || is_graph_output(graph, producer.outputs[0])) continue;
        const auto& r = readers.of(producer.outputs[0]);
        if (r.size() != 1) continue;
        const Node& bn = graph.nodes[r[0]];
        if (bn.op_type != "BatchNormalization" || bn.inputs[0] != producer.outputs[0]) continue;
        const bool folded = producer.op_type == "Conv" ? fold_into_conv(graph, producer, bn)
                                                       : fold_into_gemm(graph, producer, bn);
        if (!folded) continue;
        graph.folded.push_back({bn.name, bn.op_type, producer.name,
                                "folded into " + producer.name + "'s weights and bias"});
        graph.values.erase(producer.outputs[0]);
        producer.outputs[0] = bn.outputs[0];
        removed.insert(r[0]);
    }
    std::vector<Node> kept;
    for (std::size_t i = 0; i < graph.nodes.size(); ++i)
        if (!removed.count(i)) kept.push_back(std::move(graph.nodes[i]));
    graph.nodes = std::move(kept);
    // Statistics nothing reads any more go with their BatchNormalization.
    drop_unused_values(graph);
}

void drop_unused_values(Graph& graph) {
    std::set<std::string> used(graph.inputs.begin(), graph.inputs.end());
    used.insert(graph.outputs.begin(), graph.outputs.end());
    for (const auto& n : graph.nodes) {
        used.insert(n.inputs.begin(), n.inputs.end());
        used.insert(n.outputs.begin(), n.outputs.end());
    }
    for (auto it = graph.values.begin(); it != graph.values.end();)
        it = used.count(it->first) ? std::next(it) : graph.values.erase(it);
}

ValueReaders::ValueReaders(const Graph& graph) {
    for (std::size_t i = 0; i < graph.nodes.size(); ++i)
        for (const auto& in : graph.nodes[i].inputs) {
            if (in.empty()) continue;
            auto& r = m_readers[in];
            if (r.empty() || r.back() != i) r.push_back(i);
        }
}

const std::vector<std::size_t>& ValueReaders::of(const std::string& value) const {
    static const std::vector<std::size_t> none;
    auto it = m_readers.find(value);
    return it == m_readers.end() ? none : it->second;
}

FusionChain follower_chain(const Graph& graph, const ValueReaders& readers, std::size_t head,
                           std::size_t limit) {
    FusionChain chain;
    chain.head = head;
    std::size_t at = head;
    while (chain.followers.size() < limit) {
        const Node& n = graph.nodes[at];
        if (n.outputs.empty() || n.outputs[0].empty() || is_graph_output(graph, n.outputs[0]))
            break;
        const auto& r = readers.of(n.outputs[0]);
        if (r.size() != 1 || r[0] <= at) break;
        chain.followers.push_back(r[0]);
        at = r[0];
    }
    return chain;
}

std::vector<FusionChain> fusion_chains(const Graph& graph) {
    const ValueReaders readers(graph);
    std::vector<FusionChain> out;
    for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
        const std::string& t = graph.nodes[i].op_type;
        if (t == "Conv" || t == "ConvTranspose" || t == "Gemm" || t == "MatMul")
            out.push_back(follower_chain(graph, readers, i));
    }
    return out;
}

}  // namespace xpusim::frontend
