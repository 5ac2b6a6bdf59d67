// The NPU's DMA engines and its memory interface. Every engine (CDMA data and weight channels,
// SDP/PDP/CDP read and write DMAs, BDMA) is a TLM-2.0 initiator into the MCIF, which forwards to
// the shared DRAM target, so the engines contend for the DRAM's channels and banks in simulated
// time and bandwidth stalls come out of the simulation.
//
// An engine streams: a transfer is cut into `dma.request_bytes` requests; issuing one occupies
// the engine's interface for ceil(bytes / dma.width_bytes) cycles, and at most
// dma.width_bytes * dma.latency_tolerance_cycles bytes may be outstanding (the latency buffer
// NVDLA sizes from its latency assumption). A request completes when the DRAM model says
// (queueing behind earlier requests on its channel, row misses, then latency). issue() returns
// the completion time of the transfer's last byte without waiting for it, so consecutive
// transfers of one engine overlap their latency, as a real DMA's outstanding requests do.
#pragma once

#include <tlm_utils/multi_passthrough_target_socket.h>
#include <tlm_utils/simple_initiator_socket.h>
#include <deque>
#include <string>
#include <systemc>
#include <tlm>
#include <vector>

#include "isa/npu/npu_spec.h"
#include "sim/memory/dram.h"

namespace xpusim::models::npu {

/// NVDLA's memory-client interface: arbitrates the DMA engines onto the DRAM port. The DRAM
/// controller accepts at most dma.mcif_queue_bytes of work ahead of what it is serving; further
/// requests wait in MCIF and are granted in arrival order. Each engine has at most one request
/// waiting (its thread blocks in b_transport), so arrival order is round-robin among the
/// engines that are streaming: a weight stream cannot book the DRAM far ahead of a data stream.
class Mcif : public sc_core::sc_module {
  public:
    tlm_utils::multi_passthrough_target_socket<Mcif> clients;
    tlm_utils::simple_initiator_socket<Mcif> dram;

    Mcif(sc_core::sc_module_name name, const sim::DramSpec& dram_spec, uint64_t queue_bytes);

  private:
    void b_transport(int id, tlm::tlm_generic_payload& p, sc_core::sc_time& delay);

    double m_queue_ns;               // queue_bytes at the DRAM's peak bandwidth
    double m_latency_ns;             // the DRAM's access latency (not queue occupancy)
    double m_busy_until_ns = 0;      // when the DRAM finishes the work it has accepted
    std::deque<uint64_t> m_waiting;  // tickets of held requests, oldest first
    uint64_t m_next_ticket = 0;
    sc_core::sc_event m_turn;
};

/// One completed transfer, for the DRAM bandwidth counter and per-layer byte counts.
struct DmaRecord {
    double start_ns = 0, end_ns = 0;
    uint64_t bytes = 0;
    bool write = false;
    int32_t desc = -1;
};

class DmaEngine : public sc_core::sc_module {
  public:
    tlm_utils::simple_initiator_socket<DmaEngine> socket;

    DmaEngine(sc_core::sc_module_name name, const isa::npu::DmaSpec& spec, double cycle_ns);

    /// @brief Issues `bytes` at `addr` for descriptor `desc`; call from an SC_THREAD. Returns the
    /// completion time of the last byte (blocks only for interface pacing and the window).
    sc_core::sc_time issue(uint64_t addr, uint64_t bytes, bool write, int32_t desc);
    /// @brief issue() and wait for the completion.
    void transfer(uint64_t addr, uint64_t bytes, bool write, int32_t desc);

    uint64_t bytes_read() const { return m_bytes_read; }
    uint64_t bytes_written() const { return m_bytes_written; }
    const std::vector<DmaRecord>& records() const { return m_records; }

  private:
    isa::npu::DmaSpec m_spec;
    double m_cycle_ns;
    std::deque<std::pair<sc_core::sc_time, uint64_t>> m_outstanding;
    uint64_t m_outstanding_bytes = 0;
    uint64_t m_bytes_read = 0, m_bytes_written = 0;
    std::vector<DmaRecord> m_records;
};

/// @brief Waits until simulated time `t` (no-op if it has passed).
void wait_until(const sc_core::sc_time& t);

}  // namespace xpusim::models::npu
