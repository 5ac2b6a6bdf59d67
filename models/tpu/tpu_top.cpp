#include "models/tpu/tpu_top.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace xpusim::models::tpu {

namespace {

// Instructions the sequencer may run ahead of each unit.
constexpr int kQueueDepth = 16;

// The common memory (v4i CMEM) as a wide on-chip SRAM: 16 banks, each a pipe at its share of
// the bandwidth, interleaved every 256 B (an estimate: fine enough that one stream of requests
// spreads over the banks, as an SRAM's address hashing does).
sim::DramSpec cmem_spec(const TpuSpec& s) {
    sim::DramSpec d;
    d.impl = "simple";
    d.bandwidth_gbps = std::max(1.0, s.cmem.bandwidth_gbps);
    d.channels = 16;
    d.interleave_bytes = 256;
    d.latency_ns = 10;
    d.capacity_mib = std::max<int64_t>(1, s.cmem.kib / 1024);
    return d;
}

// A DMA engine streaming from `mem` at `share` of its bandwidth: requests of kRequestBytes
// (simulation granularity), as many in flight as Little's law asks, an interface as fast as
// the whole memory (so the memory, not the engine, limits).
constexpr uint64_t kRequestBytes = 512;
sim::DmaConfig dma_config(const TpuSpec& s, const sim::DramSpec& mem, double share) {
    sim::DmaConfig c;
    c.cycle_ns = 1e3 / s.clock_mhz;
    c.bytes_per_cycle = mem.bandwidth_gbps * c.cycle_ns;
    c.request_bytes = kRequestBytes;
    const double in_flight = mem.bandwidth_gbps * share * mem.access_latency_ns();
    c.outstanding =
        2 + static_cast<int64_t>(std::ceil(in_flight / static_cast<double>(kRequestBytes)));
    return c;
}

}  // namespace

TpuTop::TpuTop(sc_core::sc_module_name name, TpuRun& run) : sc_core::sc_module(name) {
    const TpuSpec& spec = run.spec;
    for (std::size_t q = 0; q < queue_count(spec.mxu.count); ++q)
        m_queues.push_back(
            sim::make_owned<InstructionQueue>(("queue" + std::to_string(q)).c_str(), kQueueDepth));
    auto queue = [&](Queue q) -> InstructionQueue& {
        return *m_queues[static_cast<std::size_t>(q)];
    };
    const int pid = run.trace_pid;
    sim::make_owned<Sequencer>("sequencer", run, m_queues);
    dram = sim::make_owned<sim::Dram>("dram", spec.dram);
    cmem = spec.cmem.kib > 0 ? sim::make_owned<sim::Dram>("cmem", cmem_spec(spec)) : nullptr;
    const double share = 1.0 / static_cast<double>(spec.mxu.count);
    for (int64_t m = 0; m < spec.mxu.count; ++m) {
        const std::string n = std::to_string(m);
        const auto tiles = static_cast<int>(spec.mxu.weight_fifo_tiles);
        m_weight_fifos.push_back(sim::make_owned<sc_core::sc_fifo<int>>(("weight_fifo" + n).c_str(), tiles));
        m_fifo_slots.push_back(sim::make_owned<sc_core::sc_semaphore>(("weight_slots" + n).c_str(), tiles));
        auto* from_dram =
            sim::make_owned<sim::DmaEngine>(("weight_dma" + n).c_str(), dma_config(spec, spec.dram, share));
        from_dram->socket.bind(dram->socket);
        sim::DmaEngine* from_cmem = nullptr;
        if (cmem) {
            from_cmem = sim::make_owned<sim::DmaEngine>(("weight_cmem_dma" + n).c_str(),
                                           dma_config(spec, cmem_spec(spec), share));
            from_cmem->socket.bind(cmem->socket);
        }
        sim::make_owned<WeightFetcher>(("weights" + n).c_str(), run, *m_queues[weight_queue(m)],
                          *m_weight_fifos.back(), *m_fifo_slots.back(), from_dram, from_cmem,
                          run.trace.add_track(pid, "weights" + n));
        sim::make_owned<MatrixUnit>(("mxu" + n).c_str(), run, *m_queues[mxu_queue(m)], *m_weight_fifos.back(),
                       *m_fifo_slots.back(), run.trace.add_track(pid, "mxu" + n));
    }
    auto* spill = sim::make_owned<sim::DmaEngine>("spill_dma", dma_config(spec, spec.dram, 1.0));
    spill->socket.bind(dram->socket);
    sim::make_owned<ActivationDma>("dma", run, queue(Queue::Dma), *spill, run.trace.add_track(pid, "dma"));
    sim::make_owned<SimpleUnit>("host", run, queue(Queue::HostLink), run.trace.add_track(pid, "host"));
    sim::make_owned<SimpleUnit>("activate", run, queue(Queue::Activate), run.trace.add_track(pid, "activate"));
    sim::make_owned<SimpleUnit>("vector", run, queue(Queue::Vector), run.trace.add_track(pid, "vector"));
    sim::make_owned<SimpleUnit>("sync", run, queue(Queue::Sync), -1);
}

}  // namespace xpusim::models::tpu
