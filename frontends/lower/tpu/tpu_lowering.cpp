// Graph -> TPU program. Every node is placed:
//   native   Conv/Gemm/MatMul on the MXUs; element-wise, pooling, normalization, softmax,
//            reductions and data movement on the vector unit;
//   lowered  BatchNorm folded into weights, Relu/Clip fused into Activate, reshapes as views;
//   host     anything else, computed by the host with its inputs and outputs crossing the link.
// Buffers hold activations in the chip's format: int8 with a calibrated per-tensor scale
// (tpu_v1), or bf16 (tpu_v4i).
#include "frontends/lower/tpu/tpu_lowering.h"

#include <algorithm>
#include <set>

#include "frontends/onnx/executor.h"

namespace xpusim::lower::tpu {

namespace {

// Element-wise and activation ops the vector unit runs, with its cost in operations per element
// (transcendentals take several steps of the lane ALUs).
const std::map<std::string, int64_t>& vector_ops() {
    static const std::map<std::string, int64_t> ops = {
        {"Add", 1}, {"Sub", 1}, {"Mul", 1}, {"Div", 4}, {"Max", 1}, {"Min", 1}, {"Sum", 1},
        {"Relu", 1}, {"LeakyRelu", 2}, {"Clip", 1}, {"Neg", 1}, {"Abs", 1}, {"Where", 1},
        {"Equal", 1}, {"Less", 1}, {"Greater", 1}, {"Not", 1}, {"PRelu", 2}, {"IsNaN", 1}, {"IsInf", 1},
        {"Sigmoid", 4}, {"Tanh", 4}, {"Erf", 4}, {"Exp", 4}, {"Log", 4}, {"Sqrt", 4},
        {"Reciprocal", 4}, {"Pow", 4}, {"HardSigmoid", 2}, {"HardSwish", 3}, {"Softplus", 4},
        {"Softmax", 5}, {"LogSoftmax", 6}, {"LayerNormalization", 8}, {"BatchNormalization", 2},
        {"InstanceNormalization", 6}, {"ReduceMean", 1}, {"ReduceSum", 1}, {"ReduceMax", 1},
        {"GlobalAveragePool", 1}, {"GlobalMaxPool", 1}, {"MaxPool", 1}, {"AveragePool", 1},
        // Data movement through the vector unit (one element per lane per cycle).
        {"Transpose", 1}, {"Concat", 1}, {"Split", 1}, {"Slice", 1}, {"Gather", 1}, {"Pad", 1},
        {"Expand", 1}, {"Tile", 1}, {"Cast", 1}, {"Resize", 2}, {"Upsample", 2},
        {"DepthToSpace", 1}, {"SpaceToDepth", 1},
    };
    return ops;
}

bool is_view(const std::string& op) {
    return op == "Reshape" || op == "Flatten" || op == "Squeeze" || op == "Unsqueeze" ||
           op == "Identity" || op == "Dropout";
}

int64_t numel_of(const Graph& g, const std::string& v) {
    const auto& info = g.value(v);
    return info.shape_known ? sim::shape_numel(info.shape) : 0;
}

// Elements a vector op touches: pools and reductions read every input element (and each
// pooling output reads its window); the rest produce one result per output element.
int64_t vector_elements(const Graph& g, const Node& n) {
    if (n.op_type == "MaxPool" || n.op_type == "AveragePool") {
        int64_t window = 1;
        for (int64_t k : n.attr_ints("kernel_shape")) window *= k;
        return numel_of(g, n.outputs[0]) * window;
    }
    if (n.op_type.rfind("Reduce", 0) == 0 || n.op_type.rfind("Global", 0) == 0 || n.op_type == "Softmax" ||
        n.op_type == "LogSoftmax" || n.op_type == "LayerNormalization")
        return numel_of(g, n.inputs[0]);
    int64_t total = 0;
    for (const auto& o : n.outputs)
        if (!o.empty()) total += numel_of(g, o);
    return total;
}

// The fp32 implementation the vector unit or host runs for `node`: activation inputs arrive in
// order; constant inputs are captured here.
LayerFunction bind_function(const Graph& graph, const Node& node) {
    std::vector<std::optional<sim::Tensor>> constants;
    for (const auto& in : node.inputs) {
        if (!in.empty() && graph.is_constant(in)) constants.push_back(*graph.value(in).constant);
        else constants.push_back(std::nullopt);
    }
    const int64_t opset = graph.opset;
    return [node, constants, opset](const std::vector<sim::Tensor>& acts) {
        std::vector<const sim::Tensor*> ptrs;
        std::size_t next = 0;
        for (std::size_t i = 0; i < node.inputs.size(); ++i) {
            if (node.inputs[i].empty()) ptrs.push_back(nullptr);
            else if (constants[i]) ptrs.push_back(&*constants[i]);
            else ptrs.push_back(&acts.at(next++));
        }
        return frontend::run_node(node, opset, ptrs);
    };
}

}  // namespace

int TpuLowering::buffer(const std::string& value) {
    auto it = buffer_of.find(value);
    if (it != buffer_of.end()) return it->second;
    const auto& v = graph.value(value);
    if (!v.shape_known)
        throw sim::UnsupportedError("tpu: the shape of '" + value +
                                    "' is only known at run time; give input shapes with --shape");
    Buffer b;
    b.id = static_cast<int>(program.buffers.size());
    b.name = value;
    b.shape = v.shape;
    b.source_dtype = v.dtype;
    if (!sim::is_float(v.dtype)) {
        b.format = StorageFormat::Float32;  // held as-is in its own type
    } else if (spec.precision == MxuPrecision::Int8) {
        b.format = StorageFormat::Int8;
        auto r = ranges.find(value);
        const float absmax = r == ranges.end() ? 0.0f
                             : spec.calibration == "percentile" ? r->second.percentile : r->second.absmax;
        b.scale = symmetric_scale(absmax);
    } else {
        b.format = StorageFormat::BFloat16;
    }
    program.buffers.push_back(b);
    buffer_of[value] = b.id;
    return b.id;
}

const Node* TpuLowering::sole_consumer(const std::string& value) const {
    auto it = consumers.find(value);
    if (it == consumers.end() || it->second.size() != 1) return nullptr;
    if (std::find(graph.outputs.begin(), graph.outputs.end(), value) != graph.outputs.end()) return nullptr;
    return it->second[0];
}

Layer& TpuLowering::add_layer(const Node& node, Layer::Kind kind, const std::string& unit,
                              sim::Placement placement, const std::string& reason) {
    Layer l;
    l.id = static_cast<int>(program.layers.size());
    l.name = node.name;
    l.op_type = node.op_type;
    l.kind = kind;
    program.layers.push_back(l);
    placements.push_back({node.name, node.op_type, placement, unit, reason});
    return program.layers.back();
}

namespace {

class TpuLoweringPass : public Lowering {
public:
    LoweredModel lower(const Graph& graph, const sim::config::Config& config,
                       const LowerOptions& options) const override {
        const TpuSpec spec = TpuSpec::from_config(config);
        auto program = std::make_unique<TpuProgram>();
        program->mxu_rows = spec.mxu_rows;
        program->mxu_cols = spec.mxu_cols;
        program->mxu_count = spec.mxu_count;
        program->precision = spec.precision;
        TpuLowering L{graph, spec, *program, false, !options.timing_only, {}, {}, {}, {}, {}};
        for (const auto& n : graph.nodes)
            for (const auto& in : n.inputs)
                if (!in.empty()) L.consumers[in].push_back(&n);
        // int8 scales come from the fp32 reference on the run's inputs; timing never depends on
        // them, so a timing-only run skips the calibration.
        if (spec.precision == MxuPrecision::Int8 && !options.timing_only) {
            if (!options.calibration_inputs)
                throw sim::Error("tpu: an int8 lowering with numerics needs the run's inputs to calibrate on");
            L.ranges = calibrate(graph, *options.calibration_inputs,
                                 spec.calibration == "percentile" ? CalibrationMethod::Percentile : CalibrationMethod::MinMax,
                                 spec.calibration_percentile);
            L.calibrated = true;
        }
        for (const auto& in : graph.inputs) program->graph_inputs[in] = L.buffer(in);

        for (const Node& n : graph.nodes) {
            if (L.fused_nodes.count(n.name)) continue;
            lower_node(L, n);
        }
        for (const auto& out : graph.outputs) {
            if (graph.is_constant(out))
                throw sim::UnsupportedError("tpu: graph output '" + out + "' is a constant");
            program->graph_outputs[out] = L.buffer(out);
        }
        LoweredModel result;
        assign_addresses(spec, *program);
        plan_spills(spec, *program, result.capacity_problems);
        schedule_instructions(spec, *program);

        result.placements = std::move(L.placements);
        // Fused nodes report under the layer that absorbed them.
        for (const Layer& l : program->layers)
            for (const auto& f : l.fused)
                result.placements.push_back({f.name, f.op_type, sim::Placement::Lowered, l.kind == Layer::Kind::Mxu ? "mxu" : "vector", f.reason});
        result.program = std::move(program);
        return result;
    }

private:
    static void lower_node(TpuLowering& L, const Node& n) {
        std::string why;
        if ((n.op_type == "Conv" || n.op_type == "Gemm" || n.op_type == "MatMul") && lower_gemm_node(L, n, why))
            return;
        if (is_view(n.op_type)) {
            Layer& l = L.add_layer(n, Layer::Kind::View, "none", sim::Placement::Lowered,
                                   "view: same bytes, new shape (no data movement)");
            const int in = L.buffer(n.inputs[0]);
            const int out = L.buffer(n.outputs[0]);
            Buffer& b = L.program.buffers[out];
            const Buffer& src = L.program.buffers[in];
            b.alias_of = src.alias_of >= 0 ? src.alias_of : in;
            b.format = src.format;
            b.scale = src.scale;
            l.inputs = {in};
            l.outputs = {out};
            for (std::size_t i = 1; i < n.outputs.size(); ++i)
                if (!n.outputs[i].empty())
                    throw sim::UnsupportedError("tpu: " + n.describe() + ": optional outputs (Dropout mask) are not mapped");
            return;
        }
        auto vec = vector_ops().find(n.op_type);
        const bool float_data = sim::is_float(L.graph.value(n.outputs[0]).dtype) ||
                                n.op_type == "Equal" || n.op_type == "Less" || n.op_type == "Greater";
        const bool all_known = std::all_of(n.outputs.begin(), n.outputs.end(), [&](const std::string& o) {
            return o.empty() || L.graph.value(o).shape_known;
        });
        Layer* layer;
        if (vec != vector_ops().end() && all_known && (float_data || vec->second == 1)) {
            layer = &L.add_layer(n, Layer::Kind::Vector, "vector", sim::Placement::Native, "");
            layer->elements = vector_elements(L.graph, n);
            layer->ops_per_element = vec->second;
        } else {
            const std::string reason = !why.empty() ? why
                                       : vec == vector_ops().end() ? "the TPU has no unit for " + n.op_type
                                                                   : "integer or dynamic-shape data";
            layer = &L.add_layer(n, Layer::Kind::Host, "host", sim::Placement::Host, reason);
            // Host time: about ten floating-point operations per output element.
            int64_t out_elems = 0;
            for (const auto& o : n.outputs)
                if (!o.empty()) out_elems += numel_of(L.graph, o);
            layer->flops = 10.0 * static_cast<double>(out_elems);
        }
        const int id = layer->id;
        std::vector<int> ins, outs;
        for (const auto& in : n.inputs)
            if (!in.empty() && !L.graph.is_constant(in)) ins.push_back(L.buffer(in));
        for (const auto& o : n.outputs)
            if (!o.empty()) outs.push_back(L.buffer(o));
        L.program.layers[id].inputs = ins;
        L.program.layers[id].outputs = outs;
        L.program.functions[id] = bind_function(L.graph, n);
    }

    static uint64_t constant_weight_bytes(const TpuSpec& spec, const TpuProgram& p) {
        uint64_t bytes = 0;
        for (const Layer& l : p.layers)
            if (l.kind == Layer::Kind::Mxu && l.gemm.weight_buffer < 0)
                bytes += static_cast<uint64_t>(l.gemm.groups * l.gemm.K * l.gemm.N * spec.element_bytes());
        return bytes;
    }

    // Activations live in the unified buffer, weights in weight memory (or CMEM); addresses are
    // assigned in order of first use (no reuse: they name buffers for traces; capacity is
    // checked by liveness in plan_spills).
    static void assign_addresses(const TpuSpec& spec, TpuProgram& p) {
        uint64_t ub = 0;
        for (Buffer& b : p.buffers) {
            if (b.alias_of >= 0) {
                b.address = p.buffers[b.alias_of].address;
                continue;
            }
            b.space = MemorySpace::UnifiedBuffer;
            b.address = ub;
            ub += (b.bytes() + 255) / 256 * 256;
        }
        // From the layer shapes, not the weight image: a timing-only lowering builds no image and
        // must still place the weights exactly as a full run does.
        const uint64_t total_weights = constant_weight_bytes(spec, p);
        const bool in_cmem = spec.cmem_kib > 0 && total_weights <= static_cast<uint64_t>(spec.cmem_kib) * 1024;
        for (Layer& l : p.layers)
            if (l.kind == Layer::Kind::Mxu && l.gemm.weight_buffer < 0)
                l.gemm.weight_source = in_cmem ? MemorySpace::Cmem : MemorySpace::Dram;
    }

    // Activations live in the unified buffer from the layer that writes them to the last layer
    // that reads them. When the live bytes exceed ub.kib, the largest buffers not used by the
    // layer at the peak are spilled to DRAM: written back after their producer and read in
    // before each consumer by DMA (scheduled in tpu_schedule.cpp). If a layer's own inputs and
    // outputs do not fit, that is a capacity problem.
    static void plan_spills(const TpuSpec& spec, TpuProgram& p, std::vector<std::string>& problems) {
        const std::size_t nb = p.buffers.size();
        const int end = static_cast<int>(p.layers.size());
        std::vector<int> first(nb, end + 1), last(nb, -1);
        std::vector<std::set<int>> users(nb);
        auto root = [&](int b) { return p.buffers[b].alias_of >= 0 ? p.buffers[b].alias_of : b; };
        for (const auto& [name, b] : p.graph_inputs) first[root(b)] = -1;
        for (const Layer& l : p.layers) {
            for (int b : l.outputs) first[root(b)] = std::min(first[root(b)], l.id);
            std::vector<int> reads = l.inputs;
            if (l.gemm.weight_buffer >= 0) reads.push_back(l.gemm.weight_buffer);
            for (int b : reads) last[root(b)] = std::max(last[root(b)], l.id), users[root(b)].insert(l.id);
        }
        for (const auto& [name, b] : p.graph_outputs) last[root(b)] = end, users[root(b)].insert(end);
        std::vector<bool> spilled(nb, false);
        auto resident = [&](std::size_t b, int t) {
            if (p.buffers[b].alias_of >= 0 || first[b] > t || last[b] < t) return false;
            return !spilled[b] || first[b] == t || users[b].count(t) > 0;
        };
        const uint64_t cap = static_cast<uint64_t>(spec.ub_kib) * 1024;
        for (int t = -1; t <= end; ++t) {
            for (;;) {
                uint64_t live = 0;
                for (std::size_t b = 0; b < nb; ++b)
                    if (resident(b, t)) live += p.buffers[b].bytes();
                if (live <= cap) break;
                // The largest buffer alive here that this layer neither reads nor writes.
                int victim = -1;
                for (std::size_t b = 0; b < nb; ++b)
                    if (resident(b, t) && !spilled[b] && first[b] != t && !users[b].count(t) &&
                        (victim < 0 || p.buffers[b].bytes() > p.buffers[static_cast<std::size_t>(victim)].bytes()))
                        victim = static_cast<int>(b);
                if (victim < 0) {
                    const std::string where = t < 0 ? "the inputs" : t == end ? "the outputs" : "layer '" + p.layers[static_cast<std::size_t>(t)].name + "'";
                    problems.push_back(where + " needs " + std::to_string(live / 1024) + " KiB of unified buffer for its own inputs and outputs; ub.kib is " +
                                       std::to_string(spec.ub_kib));
                    break;
                }
                spilled[static_cast<std::size_t>(victim)] = true;
            }
        }
        // Spilled activations sit in DRAM above the weights, which must all fit its capacity.
        const uint64_t weights = constant_weight_bytes(spec, p);
        uint64_t dram_address = (weights + 4095) / 4096 * 4096;
        for (std::size_t b = 0; b < nb; ++b)
            if (spilled[b]) {
                p.buffers[b].space = MemorySpace::Dram;
                p.buffers[b].address = dram_address;
                dram_address += (p.buffers[b].bytes() + 4095) / 4096 * 4096;
            }
        const uint64_t dram_cap = static_cast<uint64_t>(spec.dram.capacity_mib) << 20;
        if (dram_address > dram_cap)
            problems.push_back("weights and spilled activations need " + std::to_string(dram_address >> 20) +
                               " MiB of DRAM; dram.capacity_mib is " + std::to_string(spec.dram.capacity_mib));
    }
};

const LoweringRegistration s_registration{"tpu", [] { return std::make_unique<TpuLoweringPass>(); }};

}  // namespace
}  // namespace xpusim::lower::tpu
