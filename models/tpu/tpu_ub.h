// The unified buffer's ports and banks as a reservation table. The UB is ub.banks equal
// address ranges, each with ub.ports ports that move ub.bytes_per_cycle a cycle. An access to
// the bytes [address, address + bytes) holds one port of every bank that range touches for
//   d = ceil(bytes / bytes_per_cycle) cycles (or longer, if the unit is slower: the MXU reads
//       one row of K elements per cycle of its stream)
// starting at the first cycle >= `earliest` where each of those banks has a port free for all
// d cycles. Reservations may lie in the future (the MXU books its input stream when it knows
// the fold's start), so each port keeps its busy intervals, not just a "free at" time.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "isa/tpu/tpu_spec.h"

namespace xpusim::models::tpu {

/// A byte range of the unified buffer an access reads or writes.
struct UbRange {
    uint64_t address = 0, bytes = 0;
    bool anywhere = false;  // a spilled buffer back from DRAM: charged to every bank
};

class UbPorts {
  public:
    explicit UbPorts(const isa::tpu::UnifiedBufferSpec& spec);

    /// @brief Books `cycles` cycles on one port of each bank the ranges touch, at the first
    /// cycle >= earliest where that is possible; returns that cycle. A zero-length access
    /// books nothing and returns `earliest`.
    uint64_t reserve(const std::vector<UbRange>& ranges, uint64_t earliest, uint64_t cycles);
    /// @brief Cycles an access of `bytes` holds its port.
    uint64_t port_cycles(uint64_t bytes) const;
    /// @brief Cycles accesses waited past their earliest cycle for a port, in all.
    uint64_t wait_cycles() const { return m_wait; }
    /// @brief Forgets intervals that ended before `now` (no later access can start before now).
    void retire(uint64_t now);

  private:
    using Intervals = std::map<uint64_t, uint64_t>;  // start -> end, disjoint
    static uint64_t earliest_fit(const Intervals& busy, uint64_t t, uint64_t d);
    std::vector<std::size_t> banks_of(const std::vector<UbRange>& ranges) const;

    uint64_t m_bank_bytes;
    uint64_t m_bytes_per_cycle;
    std::vector<std::vector<Intervals>> m_ports;  // [bank][port]
    uint64_t m_wait = 0;
};

}  // namespace xpusim::models::tpu
