#include "models/tpu/tpu_top.h"

#include <algorithm>
#include <string>

namespace xpusim::models::tpu {

namespace {

// Instructions the sequencer may run ahead of each unit.
constexpr int kQueueDepth = 16;

// The common memory (v4i CMEM) as a wide on-chip memory: one "row" per access, no misses.
sim::DramSpec cmem_spec(const TpuSpec& s) {
    sim::DramSpec d;
    d.impl = "simple";
    d.bandwidth_gbps = std::max(1.0, s.cmem.bandwidth_gbps);
    d.channels = 16;
    d.interleave_bytes = 4096;
    d.latency_ns = 10;
    d.capacity_mib = std::max<int64_t>(1, s.cmem.kib / 1024);
    return d;
}

}  // namespace

TpuTop::TpuTop(sc_core::sc_module_name name, TpuRun& run) : sc_core::sc_module(name) {
    const TpuSpec& spec = run.spec;
    for (std::size_t q = 0; q < queue_count(spec.mxu.count); ++q)
        m_queues.push_back(
            new InstructionQueue(("queue" + std::to_string(q)).c_str(), kQueueDepth));
    auto queue = [&](Queue q) -> InstructionQueue& {
        return *m_queues[static_cast<std::size_t>(q)];
    };
    for (int64_t m = 0; m < spec.mxu.count; ++m)
        m_weight_fifos.push_back(
            new sc_core::sc_fifo<int>(("weight_fifo" + std::to_string(m)).c_str(),
                                      static_cast<int>(spec.mxu.weight_fifo_tiles)));
    const int pid = run.trace_pid;
    new Sequencer("sequencer", run, m_queues);
    dram = new sim::Dram("dram", spec.dram);
    cmem = spec.cmem.kib > 0 ? new sim::Dram("cmem", cmem_spec(spec)) : nullptr;
    auto* fetcher = new WeightFetcher("weights", run, queue(Queue::Weights), m_weight_fifos,
                                      run.trace.add_track(pid, "weights"));
    fetcher->dram_socket.bind(dram->socket);
    if (cmem) fetcher->cmem_socket->bind(cmem->socket);
    for (int64_t m = 0; m < spec.mxu.count; ++m)
        new MatrixUnit(
            ("mxu" + std::to_string(m)).c_str(), run,
            *m_queues[static_cast<std::size_t>(Queue::Mxu0) + static_cast<std::size_t>(m)],
            *m_weight_fifos[static_cast<std::size_t>(m)],
            run.trace.add_track(pid, "mxu" + std::to_string(m)));
    auto* dma = new DmaEngine("dma", run, queue(Queue::Dma), run.trace.add_track(pid, "dma"));
    dma->dram_socket.bind(dram->socket);
    new SimpleUnit("host", run, queue(Queue::HostLink), run.trace.add_track(pid, "host"));
    new SimpleUnit("activate", run, queue(Queue::Activate), run.trace.add_track(pid, "activate"));
    new SimpleUnit("vector", run, queue(Queue::Vector), run.trace.add_track(pid, "vector"));
    new SimpleUnit("sync", run, queue(Queue::Sync), -1);
}

}  // namespace xpusim::models::tpu
