// The TPU chip: wires the sequencer, weight fetcher, MXUs, activation pipeline, vector unit,
// host link and memories for one run, simulates, and turns the instruction records into stats,
// energy and the trace.
#include <algorithm>
#include <chrono>

#include "models/tpu/tpu_units.h"
#include "sim/energy/energy.h"
#include "sim/runtime/simulation_context.h"
#include "sim/runtime/target_model.h"

namespace xpusim::models::tpu {
namespace {

constexpr int kQueueDepth = 16;

// The common memory (v4i CMEM) as a wide on-chip memory: one "row" per access, no misses.
sim::DramSpec cmem_spec(const TpuSpec& s) {
    sim::DramSpec d;
    d.kind = "cmem (on-chip SRAM)";
    d.bandwidth_gbps = std::max(1.0, s.cmem_bandwidth_gbps);
    d.channels = 16;
    d.banks = 1;
    d.row_bytes = 1 << 20;
    d.interleave_bytes = 4096;
    d.row_miss_ns = 0;
    d.latency_ns = 10;
    d.capacity_mib = std::max<int64_t>(1, s.cmem_kib / 1024);
    return d;
}

class TpuModel : public sim::TargetModel {
public:
    sim::Results simulate(const sim::Program& program, const sim::config::Config& config,
                          const std::map<std::string, sim::Tensor>& inputs,
                          const sim::RunOptions& options) const override {
        const auto* prog = dynamic_cast<const TpuProgram*>(&program);
        if (!prog) throw sim::Error("the tpu model was given a " + program.target() + " program");
        const TpuSpec spec = TpuSpec::from_config(config);
        if (prog->mxu_rows != spec.mxu_rows || prog->mxu_cols != spec.mxu_cols || prog->mxu_count != spec.mxu_count ||
            prog->precision != spec.precision)
            throw sim::ConfigError("tpu: the program was lowered for a different MXU configuration");

        sim::Results r;
        r.target = "tpu";
        r.clock_hz = spec.clock_hz();
        r.trace.set_clock_hz(spec.clock_hz());
        std::unique_ptr<TpuDatapath> datapath;
        if (!options.timing_only) datapath = std::make_unique<TpuDatapath>(*prog, inputs);
        const int pid = r.trace.add_process("tpu " + config.name());
        uint64_t total = 0;
        // Everything that holds SystemC objects (events, times, modules) lives inside the run's
        // own kernel context.
        sim::SimulationContext context;
        TpuRun run(spec, *prog, datapath.get(), r.trace);
        run.trace_pid = pid;
        {
            const int n_units = 6 + static_cast<int>(spec.mxu_count);
            std::vector<InstructionQueue*> queues;
            for (int u = 0; u < n_units; ++u) queues.push_back(new InstructionQueue(("queue" + std::to_string(u)).c_str(), kQueueDepth));
            std::vector<sc_core::sc_fifo<int>*> fifos;
            for (int m = 0; m < spec.mxu_count; ++m)
                fifos.push_back(new sc_core::sc_fifo<int>(("weight_fifo" + std::to_string(m)).c_str(),
                                                         static_cast<int>(spec.weight_fifo_tiles)));
            new Sequencer("sequencer", run, queues);
            const int host_track = r.trace.add_track(run.trace_pid, "host link + host");
            const int weight_track = r.trace.add_track(run.trace_pid, "weight fetch (DMA)");
            auto* dram = new sim::Dram("dram", spec.dram);
            auto* cmem = new sim::Dram("cmem", cmem_spec(spec));
            auto* fetcher = new WeightFetcher("weights", run, *queues[1], fifos, weight_track);
            fetcher->dram_socket.bind(dram->socket);
            fetcher->cmem_socket.bind(cmem->socket);
            for (int m = 0; m < spec.mxu_count; ++m)
                new MatrixUnit(("mxu" + std::to_string(m)).c_str(), run, *queues[static_cast<std::size_t>(6 + m)],
                               *fifos[static_cast<std::size_t>(m)], r.trace.add_track(run.trace_pid, "mxu" + std::to_string(m)));
            auto* dma = new DmaEngine("dma", run, *queues[5], r.trace.add_track(run.trace_pid, "activation DMA"));
            dma->dram_socket.bind(dram->socket);
            new SimpleUnit("host", run, *queues[0], host_track);
            new SimpleUnit("activate", run, *queues[2], r.trace.add_track(run.trace_pid, "activate"));
            new SimpleUnit("vector", run, *queues[3], r.trace.add_track(run.trace_pid, "vector"));
            new SimpleUnit("sync", run, *queues[4], -1);
            context.run();
            for (std::size_t k = 0; k < prog->instructions.size(); ++k)
                if (!run.done[k])
                    throw sim::Error("tpu: instruction " + std::to_string(k) + " (" + opcode_name(prog->instructions[k].op) +
                                     ") never completed: the program deadlocks");
            for (const auto& t : run.done_at) total = std::max(total, run.to_cycles(t));
            r.stats.declare("dram.row_hits", "", "row-buffer hits in weight memory").value = static_cast<double>(dram->timing().row_hits());
            r.stats.declare("dram.row_misses", "", "row-buffer misses in weight memory").value = static_cast<double>(dram->timing().row_misses());
            r.stats.declare("dram.bytes_read", "B", "bytes read from DRAM (weights, spilled activations)").value = static_cast<double>(dram->timing().bytes_read());
            r.stats.declare("dram.bytes_written", "B", "bytes written to DRAM (spilled activations)").value = static_cast<double>(dram->timing().bytes_written());
        }
        r.cycles = total;
        collect(spec, *prog, run, r);
        if (datapath) r.outputs = datapath->outputs();
        return r;
    }

private:
    static void collect(const TpuSpec& spec, const TpuProgram& p, const TpuRun& run, sim::Results& r) {
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
            o.placement = l.kind == Layer::Kind::Host ? sim::Placement::Host
                          : l.kind == Layer::Kind::View ? sim::Placement::Lowered
                                                        : sim::Placement::Native;
            o.unit = l.kind == Layer::Kind::Mxu ? "mxu" : l.kind == Layer::Kind::Vector ? "vector" : l.kind == Layer::Kind::Host ? "host" : "none";
            o.macs = l.macs;
            o.start_cycle = UINT64_MAX;
            macs_total += l.macs;
            if (l.kind == Layer::Kind::Mxu) {
                o.extra["gemm"] = {{"M", l.gemm.M}, {"K", l.gemm.K}, {"N", l.gemm.N}, {"batch", l.gemm.batch},
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
            if (i.op == Opcode::MMC || i.op == Opcode::VEC || i.op == Opcode::HOST) o.compute_cycles += rec.busy;
            auto add_stall = [&](const char* cause, uint64_t v) {
                if (v) o.stall_cycles[cause] += v;
            };
            add_stall("weight_fetch", rec.stall_weight_fetch);
            add_stall("weight_shift", rec.stall_weight_shift);
            add_stall("input", rec.stall_input);
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
            if (l.kind == Layer::Kind::Vector) vector_ops += static_cast<double>(l.elements * l.ops_per_element);
            if (l.kind == Layer::Kind::Mxu && o.compute_cycles)
                o.extra["mac_utilization"] = static_cast<double>(l.macs) /
                                             (static_cast<double>(spec.mxu_rows * spec.mxu_cols) * static_cast<double>(o.compute_cycles));
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
        const double mxu_capacity = static_cast<double>(spec.mxu_rows * spec.mxu_cols * spec.mxu_count) * static_cast<double>(total);
        for (const auto& [unit, busy] : unit_busy) {
            if (unit.empty() || unit == "sync") continue;
            r.units.push_back({unit, busy, static_cast<double>(busy) / static_cast<double>(total)});
        }
        r.stats.declare("mxu.mac_utilization", "", "MACs done / (array MACs x cycles) over the run").value =
            static_cast<double>(macs_total) / mxu_capacity;
        r.stats.declare("mxu.macs", "", "multiply-accumulates").value = static_cast<double>(macs_total);
        r.stats.declare("peak_macs_per_cycle", "MAC/cycle", "MXU peak").value = static_cast<double>(spec.mxu_rows * spec.mxu_cols * spec.mxu_count);
        r.stats.declare("dram_bandwidth_bytes_per_cycle", "B/cycle", "weight-memory peak bandwidth per cycle").value =
            spec.dram.bandwidth_gbps * 1e9 / spec.clock_hz();
        r.stats.declare("instructions", "", "instructions executed").value = static_cast<double>(p.instructions.size());
        uint64_t weight_stall = 0;
        for (const auto& o : ops)
            for (const auto& [cause, v] : o.stall_cycles)
                if (cause.rfind("weight", 0) == 0) weight_stall += v;
        r.stats.declare("mxu.weight_stall_cycles", "cycles", "cycles MXUs waited for weights (fetch or shift-in)").value =
            static_cast<double>(weight_stall);
        r.stats.declare("mxu.weight_stall_fraction", "", "weight stall cycles / total cycles (per MXU)").value =
            static_cast<double>(weight_stall) / static_cast<double>(total * static_cast<uint64_t>(spec.mxu_count));

        // Energy: events priced by the preset, plus static power over the run.
        const double mac_pj = spec.mac_pj;
        energy.add("mxu", spec.precision == MxuPrecision::Int8 ? "mac_int8" : "mac_bf16", static_cast<double>(macs_total), mac_pj);
        energy.add("unified_buffer", "byte", static_cast<double>(ub_bytes), spec.ub_byte_pj);
        energy.add("accumulators", "byte", static_cast<double>(acc_bytes), spec.accumulator_byte_pj);
        energy.add("dram", "byte", static_cast<double>(dram_bytes), spec.dram_byte_pj);
        energy.add("cmem", "byte", static_cast<double>(cmem_bytes), spec.cmem_byte_pj);
        energy.add("host_link", "byte", static_cast<double>(host_link_bytes), spec.host_link_byte_pj);
        energy.add("vector", "op", vector_ops, spec.vector_op_pj);
        energy.add_static(spec.static_watts, static_cast<double>(total) / spec.clock_hz());
        r.energy_j = energy.total_joules();
        r.energy_breakdown = energy.breakdown();
        // DRAM bandwidth counter: bytes of each weight read over its duration.
        const int pid = run.trace_pid;
        for (const Instruction& i : p.instructions) {
            if (i.op != Opcode::RW) continue;
            const InstructionRecord& rec = run.records[static_cast<std::size_t>(i.id)];
            if (rec.busy == 0) continue;
            const double gbps = static_cast<double>(i.bytes) / (static_cast<double>(rec.busy) / spec.clock_hz()) / 1e9;
            r.trace.counter(pid, "weight memory GB/s", rec.start, gbps);
            r.trace.counter(pid, "weight memory GB/s", rec.start + rec.busy, 0.0);
        }
    }
};

const sim::TargetModelRegistration s_registration{"tpu", [] { return std::make_unique<TpuModel>(); }};

}  // namespace
}  // namespace xpusim::models::tpu
