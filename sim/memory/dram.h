// Off-chip memory shared by every target: DDR3/DDR4/LPDDR/HBM behind a TLM-2.0 target socket.
//
// Address mapping: interleave_bytes-sized chunks go to the channels in turn; within a channel,
// a row stripe holds one row of the same index in every bank group, bursts interleaved over the
// groups; stripes go to the banks in turn, then to the next row:
//   channel = (addr / interleave) mod C,   local = (addr / (interleave * C)) * interleave + addr
//   mod interleave stripe  = local / (row_bytes * bank_groups):   bank = stripe mod
//   banks_per_group, row = stripe / banks_per_group burst   = (local mod (row_bytes * bank_groups))
//   / burst_bytes:   bank group = burst mod bank_groups
// A transaction is cut into parts, one per (channel, stripe). Each channel has a controller
// queue of queue_depth parts, served in simulated-time order by FR-FCFS: among the parts that
// have arrived, row hits first, then the oldest. The channel's timing model (dram_channel.h,
// chosen by `impl`) says when each part's data moves; the transaction completes when its last
// part has, plus latency_ns.
//
// Initiators use the approximately-timed protocol (nb_transport_fw BEGIN_REQ; END_REQ once
// every part is queued, which is the back-pressure of a full controller; BEGIN_RESP at
// completion), or b_transport, which blocks until the data has moved. Data is not stored here:
// targets keep their memory images; the payload's address and length drive the timing.
#pragma once

#include <tlm_utils/multi_passthrough_target_socket.h>
#include <tlm_utils/peq_with_cb_and_phase.h>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <systemc>
#include <tlm>
#include <vector>

#include "sim/memory/dram_channel.h"
#include "sim/memory/dram_spec.h"
#include "sim/runtime/simulation_context.h"

namespace xpusim::sim {

class Dram : public sc_core::sc_module, public MemoryCounters {
  public:
    tlm_utils::multi_passthrough_target_socket<Dram> socket;

    /// @brief UnsupportedError for an unknown `spec.impl`.
    Dram(sc_core::sc_module_name name, const DramSpec& spec);
    ~Dram() override;

    const DramSpec& spec() const { return m_spec; }
    /// @brief The counters summed over the channels.
    ChannelCounters totals() const;

    std::string instance_name() const override { return basename(); }
    MemoryReport memory_report() const override;

  private:
    struct Transaction;
    struct Part {
        Transaction* txn;
        ChannelAccess access;
        double arrival_ns;
        uint64_t order;  // arrival order among equal times
    };
    struct Channel {
        std::unique_ptr<ChannelModel> model;
        std::deque<Part> queue;     // at most queue_depth
        std::deque<Part> overflow;  // waiting for room, in arrival order
        sc_core::sc_event arrived;
    };

    tlm::tlm_sync_enum nb_transport_fw(int id, tlm::tlm_generic_payload& p, tlm::tlm_phase& phase,
                                       sc_core::sc_time& delay);
    void b_transport(int id, tlm::tlm_generic_payload& p, sc_core::sc_time& delay);
    Transaction* begin(int id, tlm::tlm_generic_payload& p, double arrival_ns, bool blocking);
    void enqueue(Part part);
    void admitted(Transaction& t);
    void controller(std::size_t c);
    void finish(Transaction& t);
    void respond(tlm::tlm_generic_payload& p, const tlm::tlm_phase& phase);

    DramSpec m_spec;
    std::vector<Channel> m_channels;
    std::map<tlm::tlm_generic_payload*, std::unique_ptr<Transaction>> m_in_flight;
    tlm_utils::peq_with_cb_and_phase<Dram> m_responses;
    uint64_t m_order = 0;
};

/// @brief Issues one blocking read or write of `bytes` at `addr` through `socket` and waits
/// until it completes (b_transport). For initiators that keep one request in flight.
void dram_transfer(tlm::tlm_initiator_socket<>& socket, uint64_t addr, uint64_t bytes, bool write);

}  // namespace xpusim::sim
