#include "models/tpu/tpu_results.h"

#include <algorithm>

#include "sim/energy/energy.h"

namespace xpusim::models::tpu {

void collect_results(const TpuRun& run, sim::Results& r) {
    const TpuSpec& spec = run.spec;
    const TpuProgram& p = run.program;
    const uint64_t total = std::max<uint64_t>(1, *r.cycles);
    std::vector<sim::OpStats> ops(p.layers.size());
    std::map<std::string, uint64_t> unit_busy;
    sim::EnergyAccount energy;
    uint64_t macs_total = 0;
    for (std::size_t k = 0; k < p.layers.size(); ++k) {
        const Layer& l = p.layers[k];
        sim::OpStats& o = ops[k];
        o.name = l.name;
        o.op_type = l.op_type;
        o.placement = l.kind == Layer::Kind::Host   ? sim::Placement::Host
                      : l.kind == Layer::Kind::View ? sim::Placement::Lowered
                                                    : sim::Placement::Native;
        o.unit = l.kind == Layer::Kind::Mxu      ? "mxu"
                 : l.kind == Layer::Kind::Vector ? "vector"
                 : l.kind == Layer::Kind::Host   ? "host"
                                                 : "none";
        o.macs = l.macs;
        o.start_cycle = UINT64_MAX;
        macs_total += l.macs;
        if (l.kind == Layer::Kind::Mxu) {
            o.extra["gemm"] = {{"M", l.gemm.M},           {"K", l.gemm.K},
                               {"N", l.gemm.N},           {"batch", l.gemm.batch},
                               {"groups", l.gemm.groups}, {"pack", l.gemm.pack}};
        }
    }
    // Traffic totals over every instruction (host transfers and spill DMAs belong to no layer).
    uint64_t host_link_bytes = 0, dram_bytes = 0, cmem_bytes = 0, ub_bytes = 0, acc_bytes = 0;
    for (const Instruction& i : p.instructions) {
        const InstructionRecord& rec = run.records[static_cast<std::size_t>(i.id)];
        unit_busy[rec.unit] += rec.busy;
        dram_bytes += rec.dram_bytes;
        cmem_bytes += rec.cmem_bytes;
        ub_bytes += rec.ub_bytes;
        acc_bytes += rec.acc_bytes;
        host_link_bytes += rec.link_bytes;
        if (i.layer < 0) continue;
        sim::OpStats& o = ops[static_cast<std::size_t>(i.layer)];
        // An op spans all its instructions, its weight fetches included: a layer whose weights
        // were prefetched under the previous layer still moved them (and a per-op roofline
        // stays under the bandwidth roof).
        o.start_cycle = std::min(o.start_cycle, rec.start);
        if (i.op == Opcode::MMC) {
            const uint64_t first = o.extra.value("mxu_start_cycle", UINT64_MAX);
            o.extra["mxu_start_cycle"] = std::min(first, rec.start);
        }
        o.end_cycle = std::max(o.end_cycle, rec.end);
        if (i.op == Opcode::MMC || i.op == Opcode::VEC || i.op == Opcode::HOST)
            o.compute_cycles += rec.busy;
        auto add_stall = [&](const char* cause, uint64_t v) {
            if (v) o.stall_cycles[cause] += v;
        };
        add_stall("weight_fetch", rec.stall_weight_fetch);
        add_stall("weight_shift", rec.stall_weight_shift);
        add_stall("input", rec.stall_input);
        add_stall("ub_port", rec.stall_ub_port);
        auto add_bytes = [&](const char* level, uint64_t v) {
            if (v) o.bytes_by_level[level] += v;
        };
        add_bytes("dram", rec.dram_bytes);
        add_bytes("cmem", rec.cmem_bytes);
        add_bytes("ub", rec.ub_bytes);
        add_bytes("accumulators", rec.acc_bytes);
        add_bytes("host_link", rec.link_bytes);
        o.bytes += rec.dram_bytes + rec.link_bytes;
    }
    double vector_ops = 0;
    for (std::size_t k = 0; k < ops.size(); ++k) {
        sim::OpStats& o = ops[k];
        if (o.start_cycle == UINT64_MAX) o.start_cycle = o.end_cycle;
        const Layer& l = p.layers[k];
        if (l.kind == Layer::Kind::Vector)
            vector_ops += static_cast<double>(l.elements * l.ops_per_element);
        if (l.kind == Layer::Kind::Mxu && o.compute_cycles)
            o.extra["mac_utilization"] =
                static_cast<double>(l.macs) / (static_cast<double>(spec.mxu.rows * spec.mxu.cols) *
                                               static_cast<double>(o.compute_cycles));
    }
    // Stats rows: one per layer, then the graph nodes fused into layers.
    for (std::size_t k = 0; k < ops.size(); ++k) {
        r.ops.push_back(ops[k]);
        for (const auto& f : p.layers[k].fused) {
            sim::OpStats o;
            o.name = f.name;
            o.op_type = f.op_type;
            o.placement = sim::Placement::Lowered;
            o.unit = ops[k].unit;
            o.start_cycle = ops[k].start_cycle;
            o.end_cycle = ops[k].end_cycle;
            o.extra["reason"] = f.reason;
            r.ops.push_back(o);
        }
    }
    // Units.
    const double mxu_capacity =
        static_cast<double>(spec.mxu.rows * spec.mxu.cols * spec.mxu.count) *
        static_cast<double>(total);
    for (const auto& [unit, busy] : unit_busy) {
        if (unit.empty() || unit == "sync") continue;
        r.units.push_back({unit, busy, static_cast<double>(busy) / static_cast<double>(total)});
    }
    r.stats.declare("mxu.mac_utilization", "", "MACs done / (array MACs x cycles) over the run")
        .value = static_cast<double>(macs_total) / mxu_capacity;
    r.stats.declare("mxu.macs", "", "multiply-accumulates").value = static_cast<double>(macs_total);
    // The roofs: every MXU at full rate, and the memory the weights stream from.
    bool weights_in_cmem = false;
    for (const Layer& l : p.layers)
        weights_in_cmem |= l.kind == Layer::Kind::Mxu && l.gemm.weight_source == MemorySpace::Cmem;
    r.roofline = sim::Roofline{
        static_cast<double>(spec.mxu.rows * spec.mxu.cols * spec.mxu.count) * spec.clock_hz(),
        (weights_in_cmem ? spec.cmem.bandwidth_gbps : spec.dram.bandwidth_gbps) * 1e9};
    r.stats.declare("sequencer.instructions", "", "instructions executed").value =
        static_cast<double>(p.instructions.size());
    // Where the MXUs' cycles went, as Jouppi et al. (2017, Table 3) split them: rows streaming
    // (array active), waiting for weights still in memory (weight stall) or shifting in (weight
    // shift), waiting for inputs or a UB port, and the rest, when the array idles while other
    // units work (non-matrix: host transfers, Activate drains, vector layers, fold drains).
    uint64_t fetch = 0, shift = 0, input = 0, port = 0, active = 0;
    for (const Instruction& i : p.instructions) {
        if (i.op != Opcode::MMC) continue;
        const InstructionRecord& rec = run.records[static_cast<std::size_t>(i.id)];
        fetch += rec.stall_weight_fetch;
        shift += rec.stall_weight_shift;
        input += rec.stall_input;
        port += rec.stall_ub_port;
        active += rec.array_active;
    }
    const double mxu_cycles = static_cast<double>(total * static_cast<uint64_t>(spec.mxu.count));
    auto share = [&](uint64_t v) { return std::min(1.0, static_cast<double>(v) / mxu_cycles); };
    r.stats
        .declare("mxu.weight_stall_cycles", "cycles",
                 "cycles MXUs waited for weights (fetch or shift-in)")
        .value = static_cast<double>(fetch + shift);
    r.stats.declare("mxu.weight_stall_fraction", "", "weight fetch + shift stalls / MXU cycles")
        .value = share(fetch + shift);
    r.stats
        .declare("mxu.cycles.weight_fetch_fraction", "", "MXU cycles waiting for weights in memory")
        .value = share(fetch);
    r.stats
        .declare("mxu.cycles.weight_shift_fraction", "",
                 "MXU cycles waiting for weights to shift in")
        .value = share(shift);
    r.stats.declare("mxu.cycles.input_fraction", "", "MXU cycles waiting for input activations")
        .value = share(input);
    r.stats
        .declare("mxu.cycles.ub_port_fraction", "", "MXU cycles waiting for a unified-buffer port")
        .value = share(port);
    r.stats.declare("mxu.cycles.active_fraction", "", "MXU cycles streaming rows through the array")
        .value = share(active);
    r.stats.declare("mxu.cycles.non_matrix_fraction", "", "MXU cycles idle while other units work")
        .value = std::max(
        0.0, 1.0 - share(fetch) - share(shift) - share(input) - share(port) - share(active));
    r.stats
        .declare("ub.port_wait_cycles", "cycles",
                 "cycles accesses waited for a unified-buffer port")
        .value = static_cast<double>(run.ub.wait_cycles());

    // Energy: events priced by the preset, plus static power over the run.
    const double mac_pj = spec.energy.mac_pj;
    energy.add("mxu", spec.mxu.precision == MxuPrecision::Int8 ? "mac_int8" : "mac_bf16",
               static_cast<double>(macs_total), mac_pj);
    energy.add("unified_buffer", "byte", static_cast<double>(ub_bytes), spec.energy.ub_byte_pj);
    energy.add("accumulators", "byte", static_cast<double>(acc_bytes),
               spec.energy.accumulator_byte_pj);
    energy.add("dram", "byte", static_cast<double>(dram_bytes), spec.energy.dram_byte_pj);
    energy.add("cmem", "byte", static_cast<double>(cmem_bytes), spec.energy.cmem_byte_pj);
    energy.add("host_link", "byte", static_cast<double>(host_link_bytes),
               spec.energy.host_link_byte_pj);
    energy.add("vector", "op", vector_ops, spec.energy.vector_op_pj);
    energy.add_static(spec.energy.static_w, static_cast<double>(total) / spec.clock_hz());
    r.energy_j = energy.total_joules();
    r.energy_breakdown = energy.breakdown();
    // DRAM bandwidth counter: bytes of each weight read over its duration.
    const int pid = run.trace_pid;
    for (const Instruction& i : p.instructions) {
        if (i.op != Opcode::RW) continue;
        const InstructionRecord& rec = run.records[static_cast<std::size_t>(i.id)];
        if (rec.busy == 0) continue;
        const double gbps =
            static_cast<double>(i.bytes) / (static_cast<double>(rec.busy) / spec.clock_hz()) / 1e9;
        r.trace.counter(pid, "weight memory GB/s", rec.start, gbps);
        r.trace.counter(pid, "weight memory GB/s", rec.start + rec.busy, 0.0);
    }
}

}  // namespace xpusim::models::tpu
