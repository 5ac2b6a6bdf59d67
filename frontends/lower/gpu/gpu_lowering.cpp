// Graph -> GPU program: the kernels a framework launches for the graph, in stream order.
//   pytorch_eager (default): one kernel per node, as PyTorch's eager mode launches them:
//       BatchNorm unfolded, tensor-core convolutions of NCHW tensors between the NCHW<->NHWC
//       transposes cuDNN adds (kernels.layout: nhwc removes them), a Conv's bias its own kernel
//   fused: TensorRT-like: BatchNorm folded into the convolutions, bias, residual Add and
//       activation in the GEMM epilogue, NHWC throughout
// Every node is placed: native (a kernel), lowered (fused into another's kernel, or a view that
// launches nothing), or host (control flow the GPU does not run). The values live in HBM in the
// run's precision; the program must fit there (else the design is infeasible).
#include <algorithm>
#include <set>
#include <map>

#include "frontends/lower/gpu/gpu_lowering.h"
#include "frontends/lower/host_fallback.h"
#include "frontends/lower/loop_unroll.h"
#include "frontends/lower/op_classes.h"
#include "frontends/lower/qdq.h"
#include "frontends/lower/recurrent_unroll.h"

namespace xpusim::lower::gpu {

GpuLowering::GpuLowering(const Graph& g, const GpuSpec& s, GpuProgram& p)
    : graph(g), spec(s), program(p), readers(g) {
    for (std::size_t i = 0; i < g.nodes.size(); ++i)
        for (const auto& out : g.nodes[i].outputs)
            if (!out.empty()) m_producer[out] = i;
}

const Node* GpuLowering::producer(const std::string& value) const {
    auto it = m_producer.find(value);
    return it == m_producer.end() ? nullptr : &graph.nodes[it->second];
}

void bind_group(GpuLowering& L, int kid, const std::vector<const Node*>& nodes) {
    std::vector<KernelFunction> steps;
    std::set<std::size_t> members;
    for (const Node* x : nodes) {
        steps.push_back(node_function(L, *x));
        members.insert(L.index_of(*x));
    }
    // Values the group computes and only the group reads live inside the kernel.
    auto& internal = L.program.release_after[kid];
    for (const Node* x : nodes)
        for (const auto& out : x->outputs) {
            if (out.empty() || std::find(L.graph.outputs.begin(), L.graph.outputs.end(), out) != L.graph.outputs.end())
                continue;
            const auto& readers = L.readers.of(out);
            if (!readers.empty() && std::all_of(readers.begin(), readers.end(), [&](std::size_t r) { return members.count(r) != 0; }))
                internal.push_back(out);
        }
    L.program.functions[kid] = [steps](std::map<std::string, sim::Tensor>& values) {
        for (const auto& f : steps) f(values);
    };
}

int64_t GpuLowering::element_bytes() const {
    return precision_bytes(spec.precision);
}

uint64_t GpuLowering::bytes_of(const std::string& value) const {
    const auto& v = graph.value(value);
    const int64_t n = sim::shape_numel(v.shape);
    const int64_t eb = sim::is_float(v.dtype) ? element_bytes() : static_cast<int64_t>(sim::dtype_size(v.dtype));
    return static_cast<uint64_t>(std::max<int64_t>(0, n) * eb);
}

int GpuLowering::buffer(const std::string& value) {
    auto it = buffer_of.find(value);
    if (it != buffer_of.end()) return it->second;
    const auto& v = graph.value(value);
    if (!v.shape_known)
        throw sim::UnsupportedError("gpu: the shape of '" + value + "' is only known at run time; give input shapes with --shape");
    GpuBuffer b;
    b.id = static_cast<int>(program.buffers.size());
    b.name = value;
    b.shape = v.shape;
    b.dtype = v.dtype;
    b.bytes = bytes_of(value);
    b.kind = graph.is_constant(value) ? "weight" : "act";
    program.buffers.push_back(b);
    buffer_of[value] = b.id;
    return b.id;
}

int GpuLowering::workspace(const std::string& name, uint64_t bytes) {
    GpuBuffer b;
    b.id = static_cast<int>(program.buffers.size());
    b.name = name;
    b.shape = {static_cast<int64_t>(bytes)};
    b.dtype = sim::DType::UInt8;
    b.bytes = bytes;
    b.kind = "workspace";
    program.buffers.push_back(b);
    return b.id;
}

Kernel& GpuLowering::add_kernel(const std::string& name, const std::vector<std::string>& nodes) {
    Kernel k;
    k.id = static_cast<int>(program.kernels.size());
    k.name = name;
    k.nodes = nodes;
    program.kernels.push_back(k);
    return program.kernels.back();
}

void GpuLowering::place(const Node& n, sim::Placement p, const std::string& unit, const std::string& reason) {
    placements.push_back({n.name, n.op_type, p, unit, reason, ""});
}

namespace {

bool runs_on_host(const std::string& op) {
    static const std::set<std::string> ops = {"Loop", "If", "Scan", "StringNormalizer", "TfIdfVectorizer", "RegexFullMatch",
                                              "StringConcat", "StringSplit"};
    return ops.count(op) != 0;
}

void lower_view(GpuLowering& L, const Node& n) {
    const int in = L.buffer(n.inputs[0]);
    const int out = L.buffer(n.outputs[0]);
    L.program.buffers[static_cast<std::size_t>(out)].alias = in;
    L.place(n, sim::Placement::Lowered, "none", "a view: same bytes, no kernel");
    if (L.numerics) {
        const int after = static_cast<int>(L.program.kernels.size()) - 1;
        L.program.followups[after].push_back(node_function(L, n));
        L.views.push_back({after, in});
    }
}

void lower_host(GpuLowering& L, const Node& n, const std::string& why) {
    Kernel& k = L.add_kernel("host", {n.name});
    k.host_call = static_cast<int>(L.program.host_calls.size());
    L.program.host_calls.push_back(make_host_call(L.graph, n));
    for (const auto& i : n.inputs)
        if (!i.empty() && !L.graph.is_constant(i)) k.args.push_back({L.buffer(i), L.bytes_of(i), L.bytes_of(i), false});
    for (const auto& o : n.outputs)
        if (!o.empty()) k.args.push_back({L.buffer(o), L.bytes_of(o), L.bytes_of(o), true});
    L.place(n, sim::Placement::Host, "host", why);
    if (L.numerics) L.program.functions[k.id] = node_function(L, n);
}

void lower_node(GpuLowering& L, const Node& n) {
    if (is_view_op(n)) return lower_view(L, n);
    if (runs_on_host(n.op_type)) return lower_host(L, n, n.op_type + " is control flow or text: the host runs it");
    if (n.op_type == "Conv" || n.op_type == "Gemm" || n.op_type == "MatMul") {
        const Precision p = L.spec.precision;
        if (p != Precision::Fp32 && L.spec.tensor.rate(p) == 0) {
            // Infeasible, so never timed: no kernel, the op named in the problem.
            const std::string why = precision_name(p) + std::string(" GEMMs need tensor cores this GPU lacks (tensor.fma_per_cycle.") +
                                    precision_name(p) + " = 0)";
            L.problems.push_back({"unsupported", n.name, n.name + " (" + n.op_type + "): " + why});
            L.place(n, sim::Placement::Native, "sm", "cannot run: " + why);
            return;
        }
        std::string why;
        if (lower_gemm_node(L, n, why)) return;
    }
    lower_simt_node(L, n);
}

// When each value can go in a numerics run: after the last kernel (or view followup) that reads
// any buffer sharing its bytes. Weights and graph outputs stay.
void plan_releases(GpuLowering& L) {
    GpuProgram& p = L.program;
    auto root = [&](int b) {
        while (p.buffers[static_cast<std::size_t>(b)].alias >= 0) b = p.buffers[static_cast<std::size_t>(b)].alias;
        return b;
    };
    std::vector<int> last(p.buffers.size(), -2);
    for (const auto& k : p.kernels)
        for (const auto& a : k.args) last[static_cast<std::size_t>(root(a.buffer))] = std::max(last[static_cast<std::size_t>(root(a.buffer))], k.id);
    for (const auto& [after, b] : L.views) last[static_cast<std::size_t>(root(b))] = std::max(last[static_cast<std::size_t>(root(b))], after);
    std::set<int> kept;
    for (const auto& out : p.graph_outputs) kept.insert(root(L.buffer(out)));
    for (const auto& b : p.buffers) {
        const int r = root(b.id);
        if (b.kind == "weight" || kept.count(r) || last[static_cast<std::size_t>(r)] < -1) continue;
        p.release_after[last[static_cast<std::size_t>(r)]].push_back(b.name);
    }
}

// Peak HBM: the weights, plus the activations alive at once (each from its producer's kernel
// to its last reader's), as a caching allocator holding nothing longer than needed would have.
uint64_t peak_hbm_bytes(const GpuProgram& p) {
    uint64_t weights = 0;
    std::vector<int64_t> first(p.buffers.size(), -1), last(p.buffers.size(), -1);
    auto root = [&](int b) {
        while (p.buffers[static_cast<std::size_t>(b)].alias >= 0) b = p.buffers[static_cast<std::size_t>(b)].alias;
        return b;
    };
    for (const auto& b : p.buffers)
        if (b.kind == "weight") weights += b.bytes;
    for (const auto& k : p.kernels)
        for (const auto& a : k.args) {
            const auto r = static_cast<std::size_t>(root(a.buffer));
            if (first[r] < 0) first[r] = k.id;
            last[r] = k.id;
        }
    uint64_t peak = 0;
    for (const auto& k : p.kernels) {
        uint64_t live = 0;
        for (std::size_t b = 0; b < p.buffers.size(); ++b)
            if (p.buffers[b].kind != "weight" && p.buffers[b].alias < 0 && first[b] >= 0 && first[b] <= k.id && last[b] >= k.id)
                live += p.buffers[b].bytes;
        peak = std::max(peak, live);
    }
    return weights + peak;
}

class GpuLoweringPass : public LoweringFor<GpuSpec> {
  protected:
    LoweredModel lower_spec(const Graph& input, const GpuSpec& spec, const LowerOptions& options) const override {
        Graph graph = input;
        // A pre-quantized (QDQ) model brings its own int8 scales (frontends/lower/qdq.h).
        ModelQuantization model_quant;
        if (spec.precision == Precision::Int8) model_quant = fold_qdq(graph, spec.quant);
        if (spec.fused()) frontend::fold_batchnorm(graph);
        unroll_loops(graph);  // a Loop of constant trip count as copies of its body
        unroll_recurrent(graph);  // LSTM/GRU/RNN as per-step GEMMs and element-wise kernels
        // Checked after the unrolls: a Loop of constant trip count has shapes once unrolled.
        require_mappable_shapes(graph, "gpu");
        auto program = std::make_unique<GpuProgram>();
        program->spec = spec;
        GpuLowering L(graph, spec, *program);
        L.numerics = !options.timing_only;
        LoweredModel result;
        const bool quantized = spec.precision == Precision::Int8 || spec.precision == Precision::Fp8;
        if (quantized && !options.timing_only) {
            if (!options.calibration) throw sim::Error("gpu: an int8/fp8 lowering with numerics needs calibration samples");
            result.calibration.emplace();
            L.ranges = int8_ranges(graph, model_quant, *options.calibration, spec.quant, *result.calibration);
        }
        result.notes = qdq_notes(model_quant);
        for (const auto& in : graph.inputs) {
            program->graph_inputs.push_back(in);
            program->buffers[static_cast<std::size_t>(L.buffer(in))].kind = "input";
        }
        for (const auto& [name, v] : graph.values)
            if (v.constant) {
                program->weights.push_back(name);
                if (L.numerics && sim::is_float(v.constant->dtype())) {
                    sim::Tensor t = v.constant->dtype() == sim::DType::Float32 ? v.constant->clone() : v.constant->cast(sim::DType::Float32);
                    round_to_precision(t, spec.precision);
                    program->constants[name] = t;
                } else if (L.numerics) {
                    program->constants[name] = *v.constant;
                }
            }
        fold_attention_operands(L);
        fold_gelu(L);
        for (const Node& n : graph.nodes) {
            if (L.fused_nodes.count(n.name)) continue;
            lower_node(L, n);
        }
        for (const auto& out : graph.outputs) {
            if (graph.is_constant(out)) throw sim::UnsupportedError("gpu: graph output '" + out + "' is a constant");
            program->graph_outputs.push_back(out);
            program->buffers[static_cast<std::size_t>(L.buffer(out))].kind = "output";
        }
        if (L.numerics) plan_releases(L);
        // Addresses in HBM: weights, then everything else, 256-byte aligned (names for traces).
        uint64_t address = 0;
        for (auto& b : program->buffers)
            if (b.alias < 0) {
                b.address = address;
                address += (b.bytes + 255) / 256 * 256;
            }
        for (auto& b : program->buffers)
            if (b.alias >= 0) b.address = program->buffers[static_cast<std::size_t>(b.alias)].address;
        const uint64_t need = peak_hbm_bytes(*program);
        const uint64_t have = static_cast<uint64_t>(spec.hbm.capacity_mib) << 20;
        result.notes.push_back("HBM: weights and live activations need " + std::to_string((need + (1 << 20) - 1) >> 20) +
                               " MiB of " + std::to_string(spec.hbm.capacity_mib) + " MiB" +
                               (need > have ? ": does NOT fit" : ": fits"));
        if (need > have)
            L.problems.push_back({"capacity", "hbm",
                                  "weights and live activations need " + std::to_string(need >> 20) +
                                      " MiB of HBM; hbm.capacity_mib is " + std::to_string(spec.hbm.capacity_mib)});
        // `check` names the kernel templates each node became, in launch order.
        std::map<std::string, std::vector<std::string>> templates;
        for (const auto& k : program->kernels)
            for (const auto& node : k.nodes) {
                auto& names = templates[node];
                if (std::find(names.begin(), names.end(), k.name) == names.end()) names.push_back(k.name);
            }
        for (auto& pl : L.placements) {
            auto it = templates.find(pl.node);
            if (pl.placement != sim::Placement::Native || it == templates.end()) continue;
            std::string names;
            for (const auto& t : it->second) names += (names.empty() ? "" : " + ") + t;
            pl.reason = pl.reason.empty() ? names : names + ": " + pl.reason;
        }
        result.placements = std::move(L.placements);
        add_folded_placements(graph, result.placements);
        result.problems = std::move(L.problems);
        result.program = std::move(program);
        return result;
    }
};

const LoweringRegistration s_registration{"gpu", [] { return std::make_unique<GpuLoweringPass>(); }};

}  // namespace
}  // namespace xpusim::lower::gpu
