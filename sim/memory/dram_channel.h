// The timing of one DRAM channel: plain C++, no SystemC, so unit tests drive it directly with
// hand-derived times. The controller in dram.h decides which queued access a channel serves
// next (FR-FCFS); a ChannelModel says when that access's commands and data happen. Two
// implementations are registered by name and chosen with `dram.impl`:
//
//   simple  one data pipe: start = max(now, bus free); end = start + bytes / (bandwidth / C)
//   banked  per-bank state. An access within one row stripe (a row of the same index in each
//           bank group, bursts interleaved over the groups) needs, for each group it touches:
//             row open            nothing (a hit)
//             bank closed         ACT, then the columns tRCD later (a miss)
//             another row open    PRE (no earlier than tRAS after its ACT, tWR after write data,
//                                 tRTP after a read), tRP, then ACT (a conflict)
//           An ACT waits for the bank (tRC after its last ACT), tRRD_S/L after the channel's
//           last ACT, and the four-ACT window tFAW; it may issue as soon as the access has
//           arrived, under other banks' transfers (bank parallelism). The n bursts then
//           stream at s = max(t_burst, tCCD_S) across groups (tCCD_L within one), the first
//           no earlier than its bank's tRCD, than tCCD after the channel's last column, than
//           the turnaround (a read tWTR after write data; a write tCL + t_burst + tRTW - tCWL
//           after a read command), and with its data on a free bus:
//             data_start = first_column + (write ? tCWL : tCL)
//             data_end   = data_start + (n - 1) * s + t_burst
//           Every tREFI the channel refreshes: rows close and every bank waits tRFC.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "sim/memory/dram_spec.h"
#include "sim/registry.h"

namespace xpusim::sim {

/// Where one access lands in a channel, by the address mapping of dram.h.
struct ChannelAccess {
    int64_t bank = 0;  // within its bank group
    int64_t row = 0;
    int64_t first_burst = 0;  // burst index within the row stripe: its bank group is
                              // first_burst mod bank_groups
    int64_t bytes = 0;        // within the stripe
    bool write = false;
};

/// When an access's data moved.
struct ChannelService {
    double data_start_ns = 0;
    double data_end_ns = 0;
    double next_decision_ns = 0;  // when the controller may pick the next access
    bool row_hit = false;         // every row it needed was open
};

struct ChannelCounters {
    uint64_t bytes_read = 0, bytes_written = 0;
    uint64_t row_hits = 0, row_misses = 0, row_conflicts = 0, activates = 0, refreshes = 0;
    double busy_ns = 0;  // data bus occupied
};

class ChannelModel {
  public:
    virtual ~ChannelModel() = default;
    /// @brief Whether every row `a` needs is open now (FR-FCFS serves such accesses first).
    virtual bool row_hit(const ChannelAccess& a) const = 0;
    /// @brief Serves `a`, which arrived at `arrival_ns` and is picked at `now_ns` >= arrival.
    virtual ChannelService serve(const ChannelAccess& a, double arrival_ns, double now_ns) = 0;
    const ChannelCounters& counters() const { return m_counters; }

  protected:
    ChannelCounters m_counters;
};

using ChannelFactory = std::function<std::unique_ptr<ChannelModel>(const DramSpec&)>;

/// @brief The channel implementations, by `dram.impl` name ("banked", "simple").
Registry<ChannelFactory>& channel_models();

}  // namespace xpusim::sim
