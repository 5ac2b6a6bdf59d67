#include "models/npu/npu_results.h"

#include <algorithm>
#include <cmath>

#include "sim/energy/energy.h"
#include "sim/error.h"

namespace xpusim::models::npu {

using isa::npu::ConvDesc;
using isa::npu::Unit;

namespace {

struct Totals {
    uint64_t macs = 0, mac_cycles = 0, cbuf_write = 0, cbuf_read = 0;
    uint64_t sdp_ops = 0, pdp_ops = 0, cdp_ops = 0;
    std::map<std::string, uint64_t> busy;  // unit -> busy cycles
};

// Cycles covered by a set of [start, end) intervals (ns).
double union_ns(std::vector<std::pair<double, double>> iv) {
    std::sort(iv.begin(), iv.end());
    double total = 0, cur_s = -1, cur_e = -1;
    for (const auto& [s, e] : iv) {
        if (s > cur_e) {
            if (cur_e > cur_s) total += cur_e - cur_s;
            cur_s = s, cur_e = e;
        } else {
            cur_e = std::max(cur_e, e);
        }
    }
    if (cur_e > cur_s) total += cur_e - cur_s;
    return total;
}

// The trace track of a unit: the conv descriptor's work shows on the MAC array's track.
const char* unit_track(Unit u) {
    return u == Unit::Conv ? "cmac" : isa::npu::unit_name(u);
}

}  // namespace

void collect_results(const NpuContext& ctx, const NpuTop& top, sim::Results& r) {
    const auto& prog = ctx.program;
    const auto& spec = ctx.spec;
    const double cyc = spec.cycle_ns();
    auto to_cycles = [&](double ns) { return static_cast<uint64_t>(std::ceil(ns / cyc - 1e-9)); };

    double end_ns = 0;
    for (const auto& d : prog.descriptors) {
        const DescStats& st = ctx.all_stats()[static_cast<std::size_t>(d.id)];
        if (!st.done)
            throw sim::Error(
                "NPU model: " + std::string(isa::npu::unit_name(d.unit())) + " descriptor " +
                std::to_string(d.id) + (d.nodes.empty() ? "" : " ('" + d.nodes.front() + "')") +
                " never finished (the program deadlocks: check its fused links and surfaces)");
        end_ns = std::max(end_ns, st.end_ns);
    }
    end_ns = std::max(end_ns, top.host->io_end_ns);  // the outputs have reached the host
    const uint64_t total_cycles = std::max<uint64_t>(1, to_cycles(end_ns));
    r.clock_hz = spec.clock_hz();
    r.cycles = total_cycles;
    r.trace.set_clock_hz(spec.clock_hz());

    // DRAM bytes per descriptor from the DMA records.
    std::map<int32_t, std::pair<uint64_t, uint64_t>> dram_bytes;  // desc -> (read, written)
    std::vector<sim::DmaRecord> all_records;
    for (const auto& [name, e] : top.dmas)
        for (const auto& rec : e->records()) {
            auto& b = dram_bytes[rec.tag];
            (rec.write ? b.second : b.first) += rec.bytes;
            all_records.push_back(rec);
        }

    // Outputs.
    if (!ctx.timing_only)
        for (const auto& b : prog.outputs) {
            const auto& s = prog.surface(b.surface);
            r.outputs[b.name] = ctx.memory.read_real(b.surface).reshaped(s.shape);
        }

    // Per-descriptor totals and the ops table.
    Totals tot;
    std::map<std::string, std::vector<int32_t>> node_descs;
    for (const auto& d : prog.descriptors)
        for (const auto& n : d.nodes) node_descs[n].push_back(d.id);
    for (const auto& d : prog.descriptors) {
        const DescStats& st = ctx.all_stats()[static_cast<std::size_t>(d.id)];
        tot.busy[unit_track(d.unit())] += st.busy_cycles;
        if (d.unit() == Unit::Host) tot.busy["host"] += to_cycles(st.end_ns - st.start_ns);
        if (const auto* c = std::get_if<ConvDesc>(&d.payload)) {
            tot.macs += st.macs;
            tot.mac_cycles += st.busy_cycles;
            tot.cbuf_write += st.cbuf_bytes;
            // CSC reads one atomic_c data cube per atomic op and one weight cube per kernel and
            // stripe (a stripe lasts at least max(max_stripe, weight load) cycles nominally).
            const int64_t eb = isa::npu::precision_bytes(c->precision);
            const uint64_t ac = static_cast<uint64_t>(spec.conv.atomic_c);
            const uint64_t ak = static_cast<uint64_t>(spec.conv.kernels_per_atomic(c->precision));
            const uint64_t stripe = static_cast<uint64_t>(
                std::max(spec.conv.max_stripe, spec.conv.weight_load_cycles(c->precision)));
            tot.cbuf_read += st.busy_cycles * ac * static_cast<uint64_t>(eb) * (1 + ak / stripe);
        } else if (const auto* s = std::get_if<isa::npu::SdpDesc>(&d.payload)) {
            tot.sdp_ops += st.busy_cycles * static_cast<uint64_t>(spec.sdp.throughput) *
                           std::max<std::size_t>(1, s->stages.size());
        } else if (d.unit() == Unit::Pdp) {
            tot.pdp_ops += st.busy_cycles * static_cast<uint64_t>(spec.pdp.throughput);
        } else if (const auto* cd = std::get_if<isa::npu::CdpDesc>(&d.payload)) {
            tot.cdp_ops += st.busy_cycles * static_cast<uint64_t>(spec.cdp.throughput * cd->size);
        }
    }
    for (const auto& n : prog.nodes) {
        sim::OpStats op;
        op.name = n.name;
        op.op_type = n.op_type;
        op.placement = n.placement;
        op.unit = n.unit;
        auto it = node_descs.find(n.name);
        if (it == node_descs.end()) {  // a free view: no hardware work
            op.extra["note"] = n.reason.empty() ? "no hardware work" : n.reason;
            r.ops.push_back(std::move(op));
            continue;
        }
        double s_ns = 1e300, e_ns = 0;
        for (int32_t id : it->second) {
            const DescStats& st = ctx.all_stats()[static_cast<std::size_t>(id)];
            s_ns = std::min(s_ns, st.start_ns);
            e_ns = std::max(e_ns, st.end_ns);
        }
        op.start_cycle = static_cast<uint64_t>(std::floor(s_ns / cyc));
        op.end_cycle = to_cycles(e_ns);
        const int32_t id = it->second.front();
        const auto& d = prog.descriptors[static_cast<std::size_t>(id)];
        op.extra["descriptor"] = id;
        op.extra["mode"] = (d.source >= 0 || ctx.downstream(id) >= 0) ? "fused" : "independent";
        if (d.nodes.front() != n.name) {  // implemented inside another node's register group
            op.extra["fused_into"] = d.nodes.front();
            r.ops.push_back(std::move(op));
            continue;
        }
        const DescStats& st = ctx.all_stats()[static_cast<std::size_t>(id)];
        op.compute_cycles = st.busy_cycles;
        op.macs = st.macs;
        const auto b =
            dram_bytes.count(id) ? dram_bytes.at(id) : std::pair<uint64_t, uint64_t>{0, 0};
        op.bytes = b.first + b.second;
        op.bytes_by_level = {
            {"dram_read", b.first}, {"dram_write", b.second}, {"cbuf_write", st.cbuf_bytes}};
        op.stall_cycles = {{"cbuf_data_wait", to_cycles(st.stall_data_ns)},
                           {"cbuf_weight_wait", to_cycles(st.stall_weight_ns)},
                           {"output_backpressure", to_cycles(st.stall_output_ns)},
                           {"input_wait", to_cycles(st.stall_input_ns)},
                           {"dependency", to_cycles(st.stall_dependency_ns)}};
        if (const auto* c = std::get_if<ConvDesc>(&d.payload)) {
            const uint64_t peak = static_cast<uint64_t>(spec.macs_per_cycle(c->precision));
            op.extra["mac_utilization"] =
                st.busy_cycles
                    ? static_cast<double>(st.macs) / static_cast<double>(st.busy_cycles * peak)
                    : 0.0;
            op.extra["conv_mode"] = c->mode;
            op.extra["groups"] = c->groups;
            op.extra["kernel"] = std::to_string(c->r) + "x" + std::to_string(c->s);
            op.extra["cbuf_plan"] = {{"data_banks", c->data_banks},
                                     {"weight_banks", c->weight_banks},
                                     {"k_chunks", c->k_chunks},
                                     {"h_strips", c->h_strips},
                                     {"weights_resident", c->weights_resident != 0}};
            const auto& plan = const_cast<NpuContext&>(ctx).conv_plan(id);
            const uint64_t once =
                plan.input_bytes * static_cast<uint64_t>(c->n) + plan.weight_bytes;
            op.extra["refetch_bytes"] = b.first > once ? b.first - once : 0;
        }
        r.ops.push_back(std::move(op));
    }

    // Units.
    const double total = static_cast<double>(total_cycles);
    const uint64_t peak = static_cast<uint64_t>(spec.macs_per_cycle(prog.precision()));
    r.units.push_back({"cmac", tot.mac_cycles,
                       static_cast<double>(tot.macs) / (static_cast<double>(peak) * total)});
    for (const char* u : {"sdp", "pdp", "cdp", "bdma", "host"})
        r.units.push_back({u, tot.busy[u], static_cast<double>(tot.busy[u]) / total});
    // Each DMA engine is a unit of its own, named as its trace track; BDMA's engine is the
    // BDMA unit itself. The DRAM reports itself under memory.dram.
    for (const auto& [name, e] : top.dmas) {
        if (name == "bdma") continue;
        std::vector<std::pair<double, double>> iv;
        for (const auto& rec : e->records()) iv.emplace_back(rec.start_ns, rec.end_ns);
        const uint64_t busy = to_cycles(union_ns(iv));
        r.units.push_back({name, busy, static_cast<double>(busy) / total});
    }
    const sim::ChannelCounters dt = top.dram->totals();
    const double seconds = total * cyc * 1e-9;

    r.roofline =
        sim::Roofline{static_cast<double>(peak) * spec.clock_hz(), spec.dram.bandwidth_gbps * 1e9};

    // Energy.
    sim::EnergyAccount energy;
    const auto& e = spec.energy;
    const bool fp16 = prog.precision() == isa::npu::Precision::Fp16;
    energy.add("cmac", fp16 ? "mac_fp16" : "mac_int8", static_cast<double>(tot.macs),
               fp16 ? e.mac_fp16_pj : e.mac_int8_pj);
    energy.add("cbuf", "byte_write", static_cast<double>(tot.cbuf_write), e.cbuf_byte_pj);
    energy.add("cbuf", "byte_read", static_cast<double>(tot.cbuf_read), e.cbuf_byte_pj);
    energy.add("sdp", "op", static_cast<double>(tot.sdp_ops), e.sdp_op_pj);
    energy.add("pdp", "op", static_cast<double>(tot.pdp_ops), e.pdp_op_pj);
    energy.add("cdp", "op", static_cast<double>(tot.cdp_ops), e.cdp_op_pj);
    energy.add("dram", "byte", static_cast<double>(dt.bytes_read + dt.bytes_written),
               e.dram_byte_pj);
    energy.add("host", "link_byte", static_cast<double>(top.host->link_bytes), e.host_link_byte_pj);
    energy.add_static(e.static_w, seconds);
    r.energy_j = energy.total_joules();
    r.energy_breakdown = energy.breakdown();

    // Trace: one process, a track per unit and DMA engine, a DRAM bandwidth counter.
    const int pid = r.trace.add_process("npu");
    std::map<std::string, int> tracks;
    for (const char* t :
         {"sequencer", "cdma.dat", "cdma.wt", "cmac", "cacc", "sdp.rdma", "sdp", "sdp.wdma",
          "pdp.rdma", "pdp", "pdp.wdma", "cdp.rdma", "cdp", "cdp.wdma", "bdma", "host"})
        tracks[t] = r.trace.add_track(pid, t);
    for (const auto& ev : ctx.trace_events()) {
        auto t = tracks.find(ev.track);
        if (t == tracks.end() || ev.start_ns < 0) continue;
        const uint64_t s = static_cast<uint64_t>(std::floor(ev.start_ns / cyc));
        const uint64_t dur =
            std::max<uint64_t>(to_cycles(ev.end_ns) - std::min(s, to_cycles(ev.end_ns)), 1);
        if (ev.desc < 0) {  // the host's graph input and output transfers
            r.trace.complete(pid, t->second, ev.name, s, dur, {});
            continue;
        }
        nlohmann::json args = {{"descriptor", ev.desc}};
        const auto& st = ctx.all_stats()[static_cast<std::size_t>(ev.desc)];
        if (ev.track == "cmac" && st.busy_cycles)
            args["mac_utilization"] =
                static_cast<double>(st.macs) /
                static_cast<double>(st.busy_cycles *
                                    static_cast<uint64_t>(spec.macs_per_cycle(prog.precision())));
        r.trace.complete(pid, t->second, ev.name, s, dur, args);
    }
    // Bandwidth counter: each transfer's bytes spread over its duration, in ~400 bins.
    const double bin_ns = std::max(cyc * 100.0, end_ns / 400.0);
    const std::size_t bins = static_cast<std::size_t>(end_ns / bin_ns) + 1;
    std::vector<double> bytes_in_bin(bins, 0.0);
    for (const auto& rec : all_records) {
        const double len = std::max(rec.end_ns - rec.start_ns, 1e-3);
        for (std::size_t b = static_cast<std::size_t>(rec.start_ns / bin_ns);
             b < bins && b * bin_ns < rec.end_ns; ++b) {
            const double lo = std::max(rec.start_ns, b * bin_ns),
                         hi = std::min(rec.end_ns, (b + 1) * bin_ns);
            if (hi > lo) bytes_in_bin[b] += static_cast<double>(rec.bytes) * (hi - lo) / len;
        }
    }
    for (std::size_t b = 0; b < bins; ++b)
        r.trace.counter(pid, "dram GB/s", static_cast<uint64_t>(b * bin_ns / cyc),
                        bytes_in_bin[b] / bin_ns);

    // Named statistics.
    auto& S = r.stats;
    S.declare("cmac.macs", "MACs", "useful multiply-accumulates").value =
        static_cast<double>(tot.macs);
    S.declare("cmac.busy_cycles", "cycles", "cycles the MAC array ran atomic ops").value =
        static_cast<double>(tot.mac_cycles);
    S.declare("cmac.utilization", "", "useful MACs / (peak MACs x all cycles)").value =
        r.units.front().utilization;
    S.declare("cmac.active_utilization", "", "useful MACs / (peak MACs x busy cycles)").value =
        tot.mac_cycles ? static_cast<double>(tot.macs) / static_cast<double>(tot.mac_cycles * peak)
                       : 0.0;
    S.declare("cbuf.bytes_written", "B", "bytes the CDMA wrote into CBUF").value =
        static_cast<double>(tot.cbuf_write);
    S.declare("host.link_bytes", "B", "bytes over the host link").value =
        static_cast<double>(top.host->link_bytes);
    S.declare("sequencer.descriptors", "", "register groups executed").value =
        static_cast<double>(prog.descriptors.size());
    for (const auto& [name, eng] : top.dmas)
        S.declare("dma." + name + ".bytes", "B", "bytes moved by this DMA engine").value =
            static_cast<double>(eng->bytes_read() + eng->bytes_written());
}

}  // namespace xpusim::models::npu
