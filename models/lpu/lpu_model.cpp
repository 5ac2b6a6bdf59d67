// The `lpu` target's simulation half: an LpuProgram + inputs -> Results. One SystemC process per
// queue group per chip (ICU, MEM, VXM, MXM, SXM, C2C) walks its instructions in cycle order and
// waits to each one's issue cycle; nothing stalls, because the hardware has no interlocks. The
// ScheduleChecker (lpu_checker.h) records every issue and, when the schedule has run, checks it:
// any violation is a ScheduleError. The program's length is its latency:
//   cycles = max over instructions of (last issue + busy_cycles) + (lanes.superlanes - 1)
// (instructions enter at superlane 0 and move north a superlane per cycle). With numerics, each
// node's function (bound by the lowering: the MXM's int8 x int8 -> int32 or fp16 x fp16 -> fp32,
// the VXM in fp32) runs in graph order; the values do not change the timing.
#include <algorithm>
#include <map>
#include <memory>
#include <systemc>

#include "models/lpu/lpu_checker.h"
#include "sim/energy/energy.h"
#include "sim/error.h"
#include "sim/runtime/simulation_context.h"
#include "sim/runtime/target_model.h"

namespace xpusim::models::lpu {
namespace {

using isa::lpu::Op;
using isa::lpu::Unit;

constexpr Unit kUnits[] = {Unit::Icu, Unit::Mem, Unit::Vxm, Unit::Mxm, Unit::Sxm, Unit::C2c};

/// One queue group of one chip: issues its instructions at their cycles.
class QueueGroup : public sc_core::sc_module {
  public:
    SC_HAS_PROCESS(QueueGroup);
    QueueGroup(sc_core::sc_module_name name, const LpuProgram& p, std::vector<std::size_t> instrs,
               ScheduleChecker& checker)
        : sc_core::sc_module(name), m_program(p), m_instrs(std::move(instrs)), m_checker(checker) {
        SC_THREAD(run);
    }

  private:
    void run() {
        sim::SimulationContext::guard([this] {
            const double cyc = m_program.spec.cycle_ns();
            for (std::size_t idx : m_instrs) {
                const auto& i = m_program.instructions[idx];
                const double at = static_cast<double>(i.cycle) * cyc;
                const double now = sc_core::sc_time_stamp().to_seconds() * 1e9;
                if (at > now) sc_core::wait(sc_core::sc_time(at - now, sc_core::SC_NS));
                m_checker.record(idx);
            }
        });
    }
    const LpuProgram& m_program;
    std::vector<std::size_t> m_instrs;
    ScheduleChecker& m_checker;
};

/// A chip's MEM slices as one memory in stats.json `memory` (filled when the schedule has run).
class MemSlices : public sc_core::sc_module, public sim::MemoryCounters {
  public:
    MemSlices(sc_core::sc_module_name name, std::string label) : sc_core::sc_module(name), m_label(std::move(label)) {
        if (auto* c = sim::SimulationContext::current()) c->add_memory(*this);
    }
    std::string instance_name() const override { return m_label; }
    sim::MemoryReport memory_report() const override { return report; }
    sim::MemoryReport report;

  private:
    std::string m_label;
};

class LpuModel : public sim::TargetModelFor<LpuProgram> {
  protected:
    void run(const LpuProgram& p, const sim::TensorMap& inputs, const sim::RunOptions& options,
             sim::Results& r) const override {
        const auto& spec = p.spec;
        ScheduleChecker checker(p);
        // Queue groups per chip, each with its instructions in cycle order.
        std::map<std::pair<int, Unit>, std::vector<std::size_t>> groups;
        for (std::size_t k = 0; k < p.instructions.size(); ++k) {
            const auto& i = p.instructions[k];
            if (i.chip < 0 || i.chip >= p.chips)
                throw sim::ModelError("lpu: instruction #" + std::to_string(k) + " on chip " + std::to_string(i.chip) +
                                      " of a " + std::to_string(p.chips) + "-chip program");
            groups[{i.chip, isa::lpu::unit_of(i.op)}].push_back(k);
        }
        std::vector<MemSlices*> mems;
        for (int c = 0; c < p.chips; ++c) mems.push_back(sim::make_owned<MemSlices>(("chip" + std::to_string(c) + "_sram").c_str(), "chip" + std::to_string(c) + ".mem"));
        for (auto& [key, list] : groups) {
            std::stable_sort(list.begin(), list.end(),
                             [&](std::size_t a, std::size_t b) { return p.instructions[a].cycle < p.instructions[b].cycle; });
            const std::string name = "chip" + std::to_string(key.first) + "_" + isa::lpu::unit_name(key.second);
            sim::make_owned<QueueGroup>(name.c_str(), p, list, checker);
        }
        sim::SimulationContext::current()->run();
        checker.check();

        // Length: the latest end of any instruction, plus the skew to the last superlane.
        int64_t end = 0;
        std::vector<int64_t> chip_end(static_cast<std::size_t>(p.chips), 0);
        for (const auto& i : p.instructions) {
            const int64_t e = i.cycle + (i.repeat - 1) * i.stride + busy_cycles(spec, i);
            end = std::max(end, e);
            chip_end[static_cast<std::size_t>(i.chip)] = std::max(chip_end[static_cast<std::size_t>(i.chip)], e);
        }
        const int64_t skew = spec.lanes.superlanes - 1;
        r.clock_hz = spec.clock_hz();
        r.cycles = static_cast<uint64_t>(std::max<int64_t>(1, end + skew));
        r.trace.set_clock_hz(spec.clock_hz());
        const double seconds = static_cast<double>(*r.cycles) / spec.clock_hz();

        // Per node: its span from the lowering.
        for (const auto& s : p.spans) {
            sim::OpStats o;
            o.name = s.node;
            o.op_type = s.op_type;
            o.unit = s.op_type == "Conv" || s.op_type == "Gemm" || s.op_type == "MatMul" ? "mxm" : "vxm";
            o.start_cycle = static_cast<uint64_t>(s.start);
            o.end_cycle = static_cast<uint64_t>(s.end);
            o.compute_cycles = static_cast<uint64_t>(s.end - s.start);
            o.macs = s.macs;
            o.extra["chip"] = s.chip;
            o.extra["bound"] = s.bound;
            o.extra["lane_utilization"] = s.lane_utilization;
            r.ops.push_back(o);
        }

        // Units, memory and energy from the instructions, counted in one pass per chip.
        const double total = static_cast<double>(*r.cycles);
        sim::EnergyAccount energy;
        struct ChipCounts {
            std::map<Unit, double> issues;  // issue slots used, per queue group
            double macs = 0, reads = 0, writes = 0;
            std::map<int, std::pair<double, double>> links;  // link -> (bytes sent, cycles busy)
        };
        std::vector<ChipCounts> chip(static_cast<std::size_t>(p.chips));
        double vxm_ops = 0, c2c_bytes = 0, hops = 0;
        for (const auto& i : p.instructions) {
            const double n = static_cast<double>(i.repeat);
            const Unit u = isa::lpu::unit_of(i.op);
            ChipCounts& c = chip[static_cast<std::size_t>(i.chip)];
            c.issues[u] += n;
            if (i.op == Op::ABC) c.macs += n * static_cast<double>(i.length) * static_cast<double>(spec.mxm.cols);
            if (i.op == Op::Read || i.op == Op::Gather) c.reads += n;
            if (i.op == Op::Write || i.op == Op::Scatter) c.writes += n;
            if (u == Unit::Vxm) vxm_ops += n * static_cast<double>(i.length);
            if (i.op == Op::Send) {
                c2c_bytes += static_cast<double>(i.count);
                auto& l = c.links[i.link];
                l.first += static_cast<double>(i.count);
                l.second += static_cast<double>(spec.c2c_serialize_cycles(static_cast<uint64_t>(i.count)));
            }
            // A vector a unit consumes crossed the slices between it and the chip's centre on average.
            if (i.in.valid()) hops += n * static_cast<double>(spec.mem.per_hemisphere()) / 2.0 / static_cast<double>(spec.stream.slices_per_hop);
        }
        double macs = 0, mem_reads = 0, mem_writes = 0;
        for (const auto& c : chip) macs += c.macs, mem_reads += c.reads, mem_writes += c.writes;
        const double peak_macs = static_cast<double>(spec.mxm.planes * spec.mxm.rows * spec.mxm.cols) /
                                 (spec.precision == isa::lpu::Precision::Fp16 ? static_cast<double>(spec.mxm.fp16_vectors_per_cycle_divisor) : 1.0);
        // Each group's capacity in issue slots per cycle: MEM two ports a slice, 16 VXM queues,
        // 14 SXM queues a hemisphere, the links (C2C counts their busy cycles); the MXM as MACs over its peak.
        auto capacity = [&](Unit u) {
            switch (u) {
                case Unit::Mem:
                    return 2.0 * static_cast<double>(spec.mem.slices);
                case Unit::Vxm:
                    return 16.0;
                case Unit::Sxm:
                    return 28.0;
                case Unit::C2c:
                    return static_cast<double>(spec.c2c.links);
                default:
                    return 1.0;
            }
        };
        const int pid = r.trace.add_process("lpu");
        for (int c = 0; c < p.chips; ++c) {
            const ChipCounts& cc = chip[static_cast<std::size_t>(c)];
            for (Unit u : kUnits) {
                auto it = cc.issues.find(u);
                if (it == cc.issues.end()) continue;
                const std::string name = "chip" + std::to_string(c) + "." + isa::lpu::unit_name(u);
                double busy = it->second;  // issue slots; a link's busy cycles for C2C
                if (u == Unit::C2c) {
                    busy = 0;
                    for (const auto& [link, l] : cc.links) busy += l.second;
                }
                const double util = u == Unit::Mxm ? cc.macs / (peak_macs * total) : busy / (total * capacity(u));
                r.units.push_back({name, static_cast<uint64_t>(it->second), std::min(1.0, util)});
                const int track = r.trace.add_track(pid, name);
                for (std::size_t k : groups.at({c, u})) {
                    const auto& i = p.instructions[k];
                    if (i.op == Op::Nop) continue;
                    r.trace.complete(pid, track, std::string(isa::lpu::op_name(i.op)) + (i.node.empty() ? "" : " " + i.node),
                                     static_cast<uint64_t>(i.cycle),
                                     static_cast<uint64_t>(std::max<int64_t>(1, (i.repeat - 1) * i.stride + busy_cycles(spec, i))),
                                     {{"queue", i.queue}, {"repeat", i.repeat}});
                }
            }
            // The MEM slices as one memory: 320-byte vectors read and written, the ports' busy time.
            sim::MemoryReport m;
            m.kind = "sram";
            m.bytes_read = static_cast<uint64_t>(cc.reads * 320);
            m.bytes_written = static_cast<uint64_t>(cc.writes * 320);
            m.busy_ns = (cc.reads + cc.writes) / capacity(Unit::Mem) * spec.cycle_ns();
            m.peak_bytes_per_s = capacity(Unit::Mem) * 320.0 * spec.clock_hz();
            m.extra["slices"] = spec.mem.slices;
            mems[static_cast<std::size_t>(c)]->report = m;
        }
        const bool int8 = spec.precision == isa::lpu::Precision::Int8;
        energy.add("mxm", int8 ? "mac_int8" : "mac_fp16", macs, int8 ? spec.energy.mac_int8_pj : spec.energy.mac_fp16_pj);
        energy.add("mem", "vector_read", mem_reads, spec.energy.sram_vector_pj);
        energy.add("mem", "vector_write", mem_writes, spec.energy.sram_vector_pj);
        energy.add("streams", "vector_hop", hops, spec.energy.stream_hop_pj);
        energy.add("vxm", "lane_op", vxm_ops, spec.energy.vxm_op_pj);
        energy.add("c2c", "byte", c2c_bytes, spec.energy.c2c_byte_pj);
        energy.add_static(spec.energy.static_w * static_cast<double>(p.chips), seconds);
        r.energy_j = energy.total_joules();
        r.energy_breakdown = energy.breakdown();
        r.roofline = sim::Roofline{peak_macs * spec.clock_hz() * static_cast<double>(p.chips),
                                   static_cast<double>(spec.mem.slices) * 320.0 * spec.clock_hz()};
        auto& S = r.stats;
        S.declare("lpu.instructions", "", "instructions in the program (a Repeat counts once)").value =
            static_cast<double>(p.instructions.size());
        S.declare("lpu.mxm_utilization", "", "MACs / (MXM peak x cycles), all chips").value =
            macs / (peak_macs * total * static_cast<double>(p.chips));
        S.declare("lpu.average_power_w", "W", "energy / latency").value = r.energy_j.value_or(0) / std::max(1e-12, seconds);
        for (int c = 0; c < p.chips; ++c)
            for (const auto& [link, l] : chip[static_cast<std::size_t>(c)].links) {
                const std::string key = "lpu.chip" + std::to_string(c) + ".link" + std::to_string(link);
                S.declare(key + ".bytes", "B", "bytes this chip sent on this C2C link").value = l.first;
                S.declare(key + ".utilization", "", "cycles the link carries data / program cycles").value =
                    std::min(1.0, l.second / std::max(1.0, total));
            }
        int64_t slowest = 0;
        for (std::size_t c = 0; c < p.stage_cycles.size(); ++c) slowest = std::max(slowest, p.stage_cycles[c]);
        if (slowest == 0) slowest = *r.cycles;
        S.declare("lpu.throughput_per_s", "1/s", "inputs per second: one per slowest pipeline stage").value =
            spec.clock_hz() / static_cast<double>(slowest);
        for (std::size_t c = 0; c < p.stage_cycles.size(); ++c)
            S.declare("lpu.chip" + std::to_string(c) + ".stage_cycles", "cycles", "this chip's pipeline stage").value =
                static_cast<double>(p.stage_cycles[c]);

        if (!options.timing_only) {
            std::map<std::string, sim::Tensor> values = p.constants;
            for (const auto& name : p.graph_inputs) {
                auto it = inputs.find(name);
                if (it == inputs.end()) throw sim::ModelError("lpu run: no value for input '" + name + "'");
                values[name] = it->second;
            }
            if (p.functions.empty() && !p.graph_outputs.empty())
                throw sim::ModelError("lpu: this program has no node functions (a program read back from text runs timing-only)");
            for (const auto& [node, f] : p.functions) f(values);
            for (const auto& name : p.graph_outputs) {
                auto it = values.find(name);
                if (it == values.end()) throw sim::ModelError("lpu: no node produced output '" + name + "'");
                r.outputs[name] = it->second;
            }
            if (options.keep_values)
                for (const auto& [name, t] : values)
                    if (!p.constants.count(name) && !inputs.count(name)) r.keep_value(name, t, options.keep_values_bytes);
        }
    }
};

const sim::TargetModelRegistration s_model{"lpu", [] { return std::make_unique<LpuModel>(); }};

}  // namespace
}  // namespace xpusim::models::lpu
