// The DMA engine every target moves bulk data with, and the shared memory port engines may sit
// behind. Both are TLM-2.0 initiators of the approximately-timed protocol (see dram.h).
//
// DmaEngine: a transfer is cut into requests of request_bytes. Issuing a request holds the
// engine's interface for ceil(bytes / bytes_per_cycle) cycles; at most `outstanding` requests
// are in flight (the latency a real engine covers with its request buffer: to stream at
// bandwidth B over a memory of latency L it needs about B * L / request_bytes of them); a
// request also waits for the memory to accept it (END_REQ, the back-pressure of a full
// controller queue). issue() returns once every request is sent, with a ticket that completes
// when the last byte has moved, so one engine's consecutive transfers overlap their latency.
//
// MemoryPort: one interface shared by several engines (NVDLA's MCIF onto the primary memory
// bus). Requests go on to the memory in arrival order, each as soon as the memory has accepted
// the one before (its controller queue is the port's queue). The port's data channels, one for
// reads and one for writes as in AXI, move width bytes a cycle: a request's data crosses in
// ceil(bytes / width) cycles, cut through, so a request completes at
//   max(when the memory moved its data, when its channel is free + ceil(bytes / width) cycles)
// and the port limits bandwidth only where it is narrower than the memory.
#pragma once

#include <tlm_utils/multi_passthrough_target_socket.h>
#include <tlm_utils/peq_with_cb_and_phase.h>
#include <tlm_utils/simple_initiator_socket.h>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <systemc>
#include <tlm>
#include <vector>

namespace xpusim::sim {

/// Completion of one transfer: wait() from an SC_THREAD until its last byte has moved.
class DmaTicket {
  public:
    bool done() const { return m_pending == 0; }
    /// @brief When the last byte moved (valid once done()).
    double done_ns() const { return m_done_ns; }
    /// @brief Blocks the calling SystemC thread until done().
    void wait() const;

  private:
    friend class DmaEngine;
    int m_pending = 0;
    double m_done_ns = 0;
    sc_core::sc_event m_event;
};

using DmaHandle = std::shared_ptr<DmaTicket>;

/// @brief Waits for every ticket (null tickets are skipped).
void wait_all(const std::vector<DmaHandle>& tickets);

struct DmaConfig {
    uint64_t request_bytes = 256;  // one request on the bus
    int64_t outstanding = 16;      // requests in flight at most
    double bytes_per_cycle = 64;   // the engine's interface width
    double cycle_ns = 1;           // its clock
};

/// One finished transfer, for bandwidth counters and per-layer byte counts.
struct DmaRecord {
    double start_ns = 0, end_ns = 0;
    uint64_t bytes = 0;
    bool write = false;
    int32_t tag = -1;
};

class DmaEngine : public sc_core::sc_module {
  public:
    tlm_utils::simple_initiator_socket<DmaEngine> socket;

    DmaEngine(sc_core::sc_module_name name, const DmaConfig& config);

    /// @brief Sends `bytes` at `addr` as requests (call from an SC_THREAD); returns when every
    /// request is sent, with the transfer's ticket. `tag` labels its record (a layer).
    DmaHandle issue(uint64_t addr, uint64_t bytes, bool write, int32_t tag = -1);
    /// @brief issue() and wait for the last byte.
    void transfer(uint64_t addr, uint64_t bytes, bool write, int32_t tag = -1);

    uint64_t bytes_read() const { return m_bytes_read; }
    uint64_t bytes_written() const { return m_bytes_written; }
    /// Finished transfers, in completion order.
    const std::vector<DmaRecord>& records() const { return m_records; }
    const DmaConfig& config() const { return m_config; }

  private:
    struct Request {
        tlm::tlm_generic_payload payload;
        DmaHandle ticket;
        std::size_t record = 0;
    };
    tlm::tlm_sync_enum nb_transport_bw(tlm::tlm_generic_payload& p, tlm::tlm_phase& phase,
                                       sc_core::sc_time& delay);
    void complete(tlm::tlm_generic_payload& p);

    DmaConfig m_config;
    std::map<tlm::tlm_generic_payload*, std::unique_ptr<Request>> m_in_flight;
    std::vector<DmaRecord> m_records;
    std::vector<int> m_record_pending;  // requests of each record still in flight
    bool m_awaiting_end_req = false;
    sc_core::sc_event m_end_req, m_retired;
    uint64_t m_bytes_read = 0, m_bytes_written = 0;
};

class MemoryPort : public sc_core::sc_module {
  public:
    tlm_utils::multi_passthrough_target_socket<MemoryPort> clients;
    tlm_utils::simple_initiator_socket<MemoryPort> memory;

    /// @brief `width_bytes` per cycle of `cycle_ns`.
    MemoryPort(sc_core::sc_module_name name, double width_bytes, double cycle_ns);

    uint64_t bytes() const { return m_bytes; }
    double busy_ns() const { return m_busy_ns; }

  private:
    struct Pending {
        int client;
        tlm::tlm_generic_payload* payload;
    };
    tlm::tlm_sync_enum client_fw(int id, tlm::tlm_generic_payload& p, tlm::tlm_phase& phase,
                                 sc_core::sc_time& delay);
    tlm::tlm_sync_enum memory_bw(tlm::tlm_generic_payload& p, tlm::tlm_phase& phase,
                                 sc_core::sc_time& delay);
    void arbiter();
    void deliver(tlm::tlm_generic_payload& p, const tlm::tlm_phase& phase);

    double m_width, m_cycle_ns;
    std::deque<Pending> m_waiting;
    std::map<tlm::tlm_generic_payload*, int> m_owner;
    sc_core::sc_event m_request, m_memory_accepted;
    bool m_memory_busy = false;
    double m_channel_free_ns[2] = {0, 0};  // read, write data channels
    tlm_utils::peq_with_cb_and_phase<MemoryPort> m_responses;
    uint64_t m_bytes = 0;
    double m_busy_ns = 0;
};

}  // namespace xpusim::sim
