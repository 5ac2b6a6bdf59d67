// Off-chip memory timing shared by every target: DDR3/DDR4/LPDDR/HBM as channels x banks with
// one open row per bank, peak bandwidth split evenly over channels.
//
// A transfer of B bytes at address A is cut into interleave-sized chunks; chunk i lives on
// channel (i mod channels), bank ((i / channels) mod banks), row (A_i / (row_bytes * channels *
// banks)). Each chunk is served on its channel after the channel's previous work:
//   start_i  = max(t_request, channel_free[c]) + (row open in bank ? 0 : row_miss_ns)
//   finish_i = start_i + chunk_bytes / (bandwidth / channels)
// and the transfer completes at max_i finish_i + latency_ns. Requests from several engines
// interleave in simulated time, so contention and bandwidth stalls come out of the simulation.
#pragma once

#include <tlm_utils/multi_passthrough_target_socket.h>
#include <cstdint>
#include <memory>
#include <string>
#include <systemc>
#include <tlm>
#include <vector>

#include "sim/runtime/simulation_context.h"

namespace xpusim::sim {

struct DramSpec {
    std::string kind;           // "ddr3", "hbm2", ... (documentation only)
    double bandwidth_gbps = 0;  // peak, all channels, GB/s (1e9 bytes/s)
    int64_t channels = 1;
    int64_t banks = 8;               // per channel
    int64_t row_bytes = 2048;        // row buffer (page) size per bank
    int64_t interleave_bytes = 256;  // consecutive bytes on one channel
    double row_miss_ns = 28;         // precharge + activate (tRP + tRCD)
    double latency_ns = 50;          // request to first data (tCL, controller, interconnect)
    int64_t capacity_mib = 8192;

    template <class V>
    void visit(V& v) {
        v.text("kind", kind, "memory technology (documentation)");
        v.field("bandwidth_gbps", bandwidth_gbps, "GB/s", "peak bandwidth over all channels",
                {0.001, 1e6});
        v.field("channels", channels, "", "independent channels (bandwidth splits evenly)",
                {1, 1024});
        v.field("banks", banks, "", "banks per channel, each with one open row", {1, 1024});
        v.field("row_bytes", row_bytes, "B", "row-buffer (page) size", {64, 1 << 20});
        v.field("interleave_bytes", interleave_bytes, "B",
                "consecutive bytes mapped to one channel", {16, 1 << 20});
        v.field("row_miss_ns", row_miss_ns, "ns",
                "row miss penalty: precharge + activate (tRP + tRCD)", {0, 1e4});
        v.field("latency_ns", latency_ns, "ns", "request-to-first-data latency", {0, 1e6});
        v.field("capacity_mib", capacity_mib, "MiB", "capacity", {1, double(int64_t{1} << 30)});
    }
};

/// The timing state of one DRAM: plain C++, usable without SystemC.
class DramTimingModel {
  public:
    explicit DramTimingModel(const DramSpec& spec);
    /// @brief Serves `bytes` at `addr` requested at `t_ns`; returns the completion time in ns.
    double access(uint64_t addr, uint64_t bytes, double t_ns, bool write);

    uint64_t bytes_read() const { return m_bytes_read; }
    uint64_t bytes_written() const { return m_bytes_written; }
    uint64_t row_hits() const { return m_row_hits; }
    uint64_t row_misses() const { return m_row_misses; }
    /// @brief Sum over channels of the time each spent transferring, in ns.
    double busy_ns() const { return m_busy_ns; }
    const DramSpec& spec() const { return m_spec; }

  private:
    DramSpec m_spec;
    double m_channel_bytes_per_ns;
    std::vector<double> m_channel_free;  // ns
    std::vector<int64_t> m_open_row;     // channel * banks + bank -> row (-1: closed)
    uint64_t m_bytes_read = 0, m_bytes_written = 0, m_row_hits = 0, m_row_misses = 0;
    double m_busy_ns = 0;
};

/// The DRAM as a loosely-timed TLM-2.0 target: b_transport adds the access time to the
/// annotated delay. Data is not stored here (targets keep their memory images); the payload's
/// address and length drive the timing. Any number of initiators (DMA engines) may bind to the
/// socket; their requests share the channels. Built inside a SimulationContext, it reports its
/// own counters as stats.json `memory.<name>`.
class Dram : public sc_core::sc_module, public MemoryCounters {
  public:
    tlm_utils::multi_passthrough_target_socket<Dram> socket;

    Dram(sc_core::sc_module_name name, const DramSpec& spec);
    const DramTimingModel& timing() const { return m_timing; }

    std::string instance_name() const override { return basename(); }
    MemoryReport memory_report() const override;

  private:
    void b_transport(int initiator, tlm::tlm_generic_payload& payload, sc_core::sc_time& delay);
    DramTimingModel m_timing;
};

/// @brief Issues one blocking read or write of `bytes` at `addr` through `socket` and waits
/// until it completes. For DMA engines.
void dram_transfer(tlm::tlm_initiator_socket<>& socket, uint64_t addr, uint64_t bytes, bool write);

}  // namespace xpusim::sim
