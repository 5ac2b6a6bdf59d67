// Graph -> TPU program. Every node is placed:
//   native   Conv/Gemm/MatMul on the MXUs; element-wise, pooling, normalization, softmax,
//            reductions and data movement on the vector unit;
//   lowered  BatchNorm folded into weights (the graph pass frontend::fold_batchnorm), a bias Add
//            and Relu/Clip fused into Activate, reshapes as views;
//   host     anything else, computed by the host with its inputs and outputs crossing the link
//            (the shared host fallback, frontends/lower/host_fallback.h).
// Buffers hold activations in the chip's format: int8 with a per-tensor scale calibrated on the
// calibration samples (tpu_v1), or bf16 (tpu_v4i).
#include "frontends/lower/tpu/tpu_lowering.h"

#include <algorithm>
#include <map>
#include <set>

#include "frontends/lower/host_fallback.h"
#include "frontends/lower/loop_unroll.h"
#include "frontends/lower/op_classes.h"
#include "frontends/lower/qdq.h"
#include "frontends/lower/recurrent_unroll.h"

namespace xpusim::lower::tpu {

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
    } else if (spec.mxu.precision == MxuPrecision::Int8) {
        b.format = StorageFormat::Int8;
        auto r = ranges.find(value);
        b.scale = symmetric_scale(r == ranges.end() ? 0.0f : r->second.covered(spec.quant));
    } else {
        b.format = StorageFormat::BFloat16;
    }
    program.buffers.push_back(b);
    buffer_of[value] = b.id;
    return b.id;
}

Layer& TpuLowering::add_layer(const Node& node, Layer::Kind kind, const std::string& unit,
                              sim::Placement placement, const std::string& reason) {
    Layer l;
    l.id = static_cast<int>(program.layers.size());
    l.name = node.name;
    l.op_type = node.op_type;
    l.kind = kind;
    program.layers.push_back(l);
    placements.push_back({node.name, node.op_type, placement, unit, reason, ""});
    return program.layers.back();
}

namespace {

class TpuLoweringPass : public LoweringFor<TpuSpec> {
  protected:
    LoweredModel lower_spec(const Graph& input, const TpuSpec& spec,
                            const LowerOptions& options) const override {
        Graph graph = input;
        // A pre-quantized (QDQ) model brings its own int8 scales: its Q/DQ pairs fold into the
        // ops beside them before anything is planned.
        ModelQuantization model_quant;
        if (spec.mxu.precision == MxuPrecision::Int8) model_quant = fold_qdq(graph, spec.quant);
        frontend::fold_batchnorm(graph);
        unroll_loops(graph);  // a Loop of constant trip count as copies of its body
        unroll_recurrent(graph);  // LSTM/GRU/RNN as per-step GEMMs and vector ops
        // Checked after the unrolls: a Loop of constant trip count has shapes once unrolled.
        require_mappable_shapes(graph, "tpu");
        auto program = std::make_unique<TpuProgram>();
        program->spec = spec;
        TpuLowering L(graph, spec, *program);
        L.numerics = !options.timing_only;
        LoweredModel result;
        // int8 scales come from the fp32 reference on the calibration samples; timing never
        // depends on them, so a timing-only run skips the calibration.
        if (spec.mxu.precision == MxuPrecision::Int8 && !options.timing_only) {
            if (!options.calibration)
                throw sim::Error("tpu: an int8 lowering with numerics needs calibration samples");
            result.calibration.emplace();
            L.ranges = int8_ranges(graph, model_quant, *options.calibration, spec.quant,
                                   *result.calibration);
        }
        result.notes = qdq_notes(model_quant);
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
        assign_addresses(spec, *program);
        plan_spills(spec, *program, result.problems);
        schedule_instructions(spec, *program);

        result.placements = std::move(L.placements);
        // Fused nodes report under the layer that absorbed them.
        for (const Layer& l : program->layers)
            for (const auto& f : l.fused)
                result.placements.push_back({f.name, f.op_type, sim::Placement::Lowered,
                                             l.kind == Layer::Kind::Mxu ? "mxu" : "vector",
                                             f.reason, l.name});
        add_folded_placements(graph, result.placements);
        result.program = std::move(program);
        return result;
    }

  private:
    static void lower_node(TpuLowering& L, const Node& n) {
        std::string why;
        if ((n.op_type == "Conv" || n.op_type == "Gemm" || n.op_type == "MatMul") &&
            lower_gemm_node(L, n, why))
            return;
        if (is_view_op(n)) {
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
                    throw sim::UnsupportedError("tpu: " + n.describe() +
                                                ": optional outputs (Dropout mask) are not mapped");
            return;
        }
        const auto ops = vector_ops_per_element(n.op_type);
        // The first output the node names (an LSTM may give only Y_h).
        const auto named = std::find_if(n.outputs.begin(), n.outputs.end(),
                                        [](const std::string& o) { return !o.empty(); });
        const bool float_data =
            (named != n.outputs.end() && sim::is_float(L.graph.value(*named).dtype)) ||
            n.op_type == "Equal" || n.op_type == "Less" || n.op_type == "Greater";
        Layer* layer;
        if (ops && (float_data || *ops == 1)) {
            layer = &L.add_layer(n, Layer::Kind::Vector, "vector", sim::Placement::Native, "");
            layer->elements = static_cast<int64_t>(vector_elements(L.graph, n));
            layer->ops_per_element = *ops;
        } else {
            const std::string reason =
                !why.empty() ? why
                : !ops       ? "the TPU has no unit for " + n.op_type
                             : "integer data (the vector unit computes on quantized reals)";
            layer = &L.add_layer(n, Layer::Kind::Host, "host", sim::Placement::Host, reason);
            layer->host_call = static_cast<int>(L.program.host_calls.size());
            L.program.host_calls.push_back(make_host_call(L.graph, n));
        }
        const int id = layer->id;
        std::vector<int> ins, outs;
        for (const auto& in : n.inputs)
            if (!in.empty() && !L.graph.is_constant(in)) ins.push_back(L.buffer(in));
        for (const auto& o : n.outputs)
            if (!o.empty()) outs.push_back(L.buffer(o));
        L.program.layers[id].inputs = ins;
        L.program.layers[id].outputs = outs;
        if (L.program.layers[id].kind == Layer::Kind::Vector)
            L.program.functions[id] = bind_node_function(L.graph, n);
    }

    static uint64_t constant_weight_bytes(const TpuSpec& spec, const TpuProgram& p) {
        uint64_t bytes = 0;
        for (const Layer& l : p.layers)
            if (l.kind == Layer::Kind::Mxu && l.gemm.weight_buffer < 0)
                bytes += static_cast<uint64_t>(l.gemm.groups * l.gemm.K * l.gemm.N *
                                               spec.element_bytes());
        return bytes;
    }

    // Activations live in the unified buffer (their addresses come from plan_spills), weights
    // in weight memory or CMEM.
    static void assign_addresses(const TpuSpec& spec, TpuProgram& p) {
        for (Buffer& b : p.buffers)
            if (b.alias_of < 0) b.space = MemorySpace::UnifiedBuffer;
        // From the layer shapes, not the weight image: a timing-only lowering builds no image and
        // must still place the weights exactly as a full run does.
        const uint64_t total_weights = constant_weight_bytes(spec, p);
        const bool in_cmem =
            spec.cmem.kib > 0 && total_weights <= static_cast<uint64_t>(spec.cmem.kib) * 1024;
        for (Layer& l : p.layers)
            if (l.kind == Layer::Kind::Mxu && l.gemm.weight_buffer < 0)
                l.gemm.weight_source = in_cmem ? MemorySpace::Cmem : MemorySpace::Dram;
    }

    // Unified-buffer addresses by liveness: a sweep over the layers frees each buffer after its
    // last reader and gives each new one the lowest 256-byte-aligned gap that holds it (first
    // fit), so a buffer's address, and with it its UB bank, is where a compiler would put it.
    // When fragmentation leaves no gap below `cap` it goes above the highest one in use.
    static void place_in_ub(TpuProgram& p, const std::vector<std::vector<std::size_t>>& born,
                            const std::vector<std::vector<std::size_t>>& dies,
                            const std::vector<bool>& spilled, uint64_t cap) {
        std::map<uint64_t, uint64_t> used;  // address -> bytes
        auto size_of = [&](std::size_t b) { return (p.buffers[b].bytes() + 255) / 256 * 256; };
        for (std::size_t at = 0; at < born.size(); ++at) {
            for (std::size_t b : born[at]) {
                if (spilled[b]) continue;
                const uint64_t n = size_of(b);
                if (n == 0) continue;
                uint64_t addr = 0;
                for (const auto& [a, len] : used) {
                    if (a >= addr + n) break;
                    addr = std::max(addr, a + len);
                }
                if (addr + n > cap && !used.empty())
                    addr = std::prev(used.end())->first + std::prev(used.end())->second;
                used[addr] = n;
                p.buffers[b].address = addr;
            }
            for (std::size_t b : dies[at])
                if (!spilled[b] && size_of(b) > 0) used.erase(p.buffers[b].address);
        }
    }

    // Activations live in the unified buffer from the layer that writes them to the last layer
    // that reads them. When the live bytes exceed ub.kib, the largest buffers not used by the
    // layer at the peak are spilled to DRAM: written back after their producer and read in
    // before each consumer by DMA (scheduled in tpu_schedule.cpp). If a layer's own inputs and
    // outputs do not fit, that is a capacity problem.
    static void plan_spills(const TpuSpec& spec, TpuProgram& p,
                            std::vector<sim::Problem>& problems) {
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
            for (int b : reads)
                last[root(b)] = std::max(last[root(b)], l.id), users[root(b)].insert(l.id);
        }
        for (const auto& [name, b] : p.graph_outputs)
            last[root(b)] = end, users[root(b)].insert(end);
        // A sweep over t: the buffers alive and not spilled are kept ordered by size (largest
        // first, then by id), so each spill decision costs a log, not a scan of every buffer.
        std::vector<bool> spilled(nb, false);
        const std::size_t steps = static_cast<std::size_t>(end) + 2;  // t = -1 .. end
        std::vector<std::vector<std::size_t>> born(steps), dies(steps), used(steps);
        for (std::size_t b = 0; b < nb; ++b) {
            if (p.buffers[b].alias_of >= 0 || first[b] > last[b]) continue;
            born[static_cast<std::size_t>(first[b] + 1)].push_back(b);
            dies[static_cast<std::size_t>(last[b] + 1)].push_back(b);
            used[static_cast<std::size_t>(first[b] + 1)].push_back(b);
            for (int u : users[b])
                if (u != first[b]) used[static_cast<std::size_t>(u + 1)].push_back(b);
        }
        auto larger = [&](std::size_t a, std::size_t b) {
            const uint64_t sa = p.buffers[a].bytes(), sb = p.buffers[b].bytes();
            return sa != sb ? sa > sb : a < b;
        };
        std::set<std::size_t, decltype(larger)> candidates(larger);
        uint64_t live_unspilled = 0;
        const uint64_t cap = static_cast<uint64_t>(spec.ub.kib) * 1024;
        for (int t = -1; t <= end; ++t) {
            const std::size_t at = static_cast<std::size_t>(t + 1);
            for (std::size_t b : born[at]) {
                candidates.insert(b);
                live_unspilled += p.buffers[b].bytes();
            }
            // A spilled buffer is back in the unified buffer while layer t reads or writes it.
            const std::set<std::size_t> in_use(used[at].begin(), used[at].end());
            uint64_t returned = 0;
            for (std::size_t b : in_use)
                if (spilled[b]) returned += p.buffers[b].bytes();
            while (live_unspilled + returned > cap) {
                // The largest buffer alive here that this layer neither reads nor writes.
                auto victim = candidates.begin();
                while (victim != candidates.end() && in_use.count(*victim)) ++victim;
                if (victim == candidates.end()) {
                    const std::string where =
                        t < 0      ? "the inputs"
                        : t == end ? "the outputs"
                                   : "layer '" + p.layers[static_cast<std::size_t>(t)].name + "'";
                    problems.push_back(
                        {"capacity", where,
                         where + " needs " + std::to_string((live_unspilled + returned) / 1024) +
                             " KiB of unified buffer for its own inputs and outputs; ub.kib is " +
                             std::to_string(spec.ub.kib)});
                    break;
                }
                spilled[*victim] = true;
                live_unspilled -= p.buffers[*victim].bytes();
                candidates.erase(victim);
            }
            for (std::size_t b : dies[at])
                if (!spilled[b]) {
                    candidates.erase(b);
                    live_unspilled -= p.buffers[b].bytes();
                }
        }
        place_in_ub(p, born, dies, spilled, cap);
        // Spilled activations sit in DRAM above the weights, which must all fit its capacity.
        const uint64_t weights = constant_weight_bytes(spec, p);
        uint64_t dram_address = (weights + 4095) / 4096 * 4096;
        for (std::size_t b = 0; b < nb; ++b)
            if (spilled[b]) {
                p.buffers[b].space = MemorySpace::Dram;
                p.buffers[b].address = dram_address;
                dram_address += (p.buffers[b].bytes() + 4095) / 4096 * 4096;
            }
        for (Buffer& b : p.buffers)
            if (b.alias_of >= 0)
                b.address = p.buffers[static_cast<std::size_t>(b.alias_of)].address;
        const uint64_t dram_cap = static_cast<uint64_t>(spec.dram.capacity_mib) << 20;
        if (dram_address > dram_cap)
            problems.push_back({"capacity", "dram",
                                "weights and spilled activations need " +
                                    std::to_string(dram_address >> 20) +
                                    " MiB of DRAM; dram.capacity_mib is " +
                                    std::to_string(spec.dram.capacity_mib)});
    }
};

const LoweringRegistration s_registration{"tpu",
                                          [] { return std::make_unique<TpuLoweringPass>(); }};

}  // namespace
}  // namespace xpusim::lower::tpu
