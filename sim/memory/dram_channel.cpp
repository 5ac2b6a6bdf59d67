#include "sim/memory/dram_channel.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace xpusim::sim {

namespace {

constexpr double kNever = -std::numeric_limits<double>::infinity();

int64_t bursts_of(int64_t bytes, int64_t burst_bytes) {
    return std::max<int64_t>(1, (bytes + burst_bytes - 1) / burst_bytes);
}

void count_bytes(ChannelCounters& c, const ChannelAccess& a) {
    (a.write ? c.bytes_written : c.bytes_read) += static_cast<uint64_t>(a.bytes);
}

// One data pipe at the channel's share of the bandwidth; no banks, no refresh.
class SimpleChannel : public ChannelModel {
  public:
    explicit SimpleChannel(const DramSpec& spec) : m_bytes_per_ns(spec.channel_bytes_per_ns()) {}

    bool row_hit(const ChannelAccess&) const override { return true; }

    ChannelService serve(const ChannelAccess& a, double, double now_ns) override {
        const double start = std::max(now_ns, m_bus_free);
        const double busy = static_cast<double>(a.bytes) / m_bytes_per_ns;
        m_bus_free = start + busy;
        count_bytes(m_counters, a);
        m_counters.busy_ns += busy;
        ++m_counters.row_hits;
        return {start, m_bus_free, m_bus_free, true};
    }

  private:
    double m_bytes_per_ns;
    double m_bus_free = 0;
};

class BankedChannel : public ChannelModel {
  public:
    explicit BankedChannel(const DramSpec& spec)
        : m_spec(spec),
          m_t(spec.timing),
          m_burst_ns(spec.burst_ns()),
          m_banks(static_cast<std::size_t>(spec.banks())),
          m_group(static_cast<std::size_t>(spec.bank_groups)),
          m_bank(static_cast<std::size_t>(spec.bank_groups)),
          m_last_act_in_group(static_cast<std::size_t>(spec.bank_groups), kNever),
          m_next_refresh(spec.timing.tREFI > 0 ? spec.timing.tREFI
                                               : std::numeric_limits<double>::infinity()) {
        m_act_window.fill(kNever);
    }

    bool row_hit(const ChannelAccess& a) const override {
        const int64_t groups =
            std::min(m_spec.bank_groups, bursts_of(a.bytes, m_spec.burst_bytes()));
        int64_t g = a.first_burst % m_spec.bank_groups;
        for (int64_t k = 0; k < groups; ++k) {
            if (m_banks[static_cast<std::size_t>(g * m_spec.banks_per_group + a.bank)].open_row != a.row) return false;
            if (++g == m_spec.bank_groups) g = 0;
        }
        return true;
    }

    // An access longer than what is left of its row stripe continues in the next stripes (the
    // next bank, then the next row), served back to back as separate segments.
    ChannelService serve(const ChannelAccess& a, double arrival_ns, double now_ns) override {
        const int64_t stripe_bytes = m_spec.row_bytes * m_spec.bank_groups;
        ChannelAccess seg = a;
        int64_t left = a.bytes;
        ChannelService total;
        bool first = true;
        for (;;) {
            seg.bytes = std::min(left, stripe_bytes - seg.first_burst * m_spec.burst_bytes());
            const ChannelService s = serve_segment(seg, arrival_ns, now_ns);
            if (first) total = s;
            total.data_end_ns = s.data_end_ns;
            total.next_decision_ns = s.next_decision_ns;
            total.row_hit = total.row_hit && s.row_hit;
            first = false;
            left -= seg.bytes;
            if (left <= 0) return total;
            const int64_t next = seg.row * m_spec.banks_per_group + seg.bank + 1;
            seg.bank = next % m_spec.banks_per_group;
            seg.row = next / m_spec.banks_per_group;
            seg.first_burst = 0;
            now_ns = s.next_decision_ns;
        }
    }

  private:
    ChannelService serve_segment(const ChannelAccess& a, double arrival_ns, double now_ns) {
        refresh_until(now_ns);
        const int64_t n = bursts_of(a.bytes, m_spec.burst_bytes());
        const int64_t groups = std::min(m_spec.bank_groups, n);
        // The access's k-th burst group and its bank, k < groups (one division, not one per use).
        int64_t g = a.first_burst % m_spec.bank_groups;
        for (int64_t k = 0; k < groups; ++k) {
            m_group[static_cast<std::size_t>(k)] = g;
            m_bank[static_cast<std::size_t>(k)] = &m_banks[static_cast<std::size_t>(g * m_spec.banks_per_group + a.bank)];
            if (++g == m_spec.bank_groups) g = 0;
        }
        bool hit = true;
        // Rows: an ACT may go as soon as the access arrived, under other banks' data.
        const double earliest_act = std::max(arrival_ns, m_refresh_end);
        for (int64_t k = 0; k < groups; ++k) {
            Bank& b = *m_bank[static_cast<std::size_t>(k)];
            if (b.open_row == a.row) continue;
            hit = false;
            double act = std::max(earliest_act, b.act_ready);
            if (b.open_row >= 0) {  // conflict: precharge the open row first
                act = std::max(act, std::max(earliest_act, b.pre_ready) + m_t.tRP);
                ++m_counters.row_conflicts;
            } else {
                ++m_counters.row_misses;
            }
            act = activate(act, m_group[static_cast<std::size_t>(k)]);
            b.open_row = a.row;
            b.col_ready = act + m_t.tRCD;
            b.pre_ready = act + m_t.tRAS;
            b.act_ready = act + m_t.tRC;
        }
        if (hit) ++m_counters.row_hits;
        // Columns: n bursts at spacing s, each no earlier than its bank's tRCD.
        const double s = std::max(m_burst_ns, groups > 1 ? m_t.tCCD_S : m_t.tCCD_L);
        double first = std::max(now_ns, m_refresh_end);
        if (m_last_col > kNever)
            first = std::max(
                first, m_last_col + (m_group[0] == m_last_col_group ? m_t.tCCD_L : m_t.tCCD_S));
        for (int64_t k = 0; k < groups; ++k)
            first = std::max(first, m_bank[static_cast<std::size_t>(k)]->col_ready - static_cast<double>(k) * s);
        if (a.write && m_last_read_col > kNever)
            first = std::max(first, m_last_read_col + m_t.tCL + m_burst_ns + m_t.tRTW - m_t.tCWL);
        if (!a.write && m_last_write_end > kNever)
            first = std::max(first, m_last_write_end + m_t.tWTR);
        const double latency = a.write ? m_t.tCWL : m_t.tCL;
        const double data_start = std::max(first + latency, m_bus_free);
        first = data_start - latency;
        const double last_col = first + static_cast<double>(n - 1) * s;
        const double data_end = data_start + static_cast<double>(n - 1) * s + m_burst_ns;
        m_bus_free = data_end;
        m_last_col = last_col;
        m_last_col_group = m_group[static_cast<std::size_t>((n - 1) % std::max<int64_t>(groups, 1))];
        for (int64_t k = 0; k < groups; ++k) {
            Bank& b = *m_bank[static_cast<std::size_t>(k)];
            b.pre_ready = std::max(b.pre_ready, a.write ? data_end + m_t.tWR : last_col + m_t.tRTP);
        }
        (a.write ? m_last_write_end : m_last_read_col) = a.write ? data_end : last_col;
        count_bytes(m_counters, a);
        m_counters.busy_ns += static_cast<double>(n) * m_burst_ns;
        return {data_start, data_end, last_col, hit};
    }

    struct Bank {
        int64_t open_row = -1;
        double act_ready = kNever;  // tRC after its last ACT, tRFC after a refresh
        double pre_ready = kNever;  // tRAS after ACT, tWR after write data, tRTP after a read
        double col_ready = kNever;  // tRCD after ACT
    };

    // The earliest ACT at or after `t` in bank group `g` that keeps tRRD and tFAW.
    double activate(double t, int64_t g) {
        for (std::size_t i = 0; i < m_last_act_in_group.size(); ++i)
            if (m_last_act_in_group[i] > kNever)
                t = std::max(t, m_last_act_in_group[i] +
                                    (static_cast<int64_t>(i) == g ? m_t.tRRD_L : m_t.tRRD_S));
        // The oldest of the last four ACTs opens the window.
        const auto oldest = std::min_element(m_act_window.begin(), m_act_window.end());
        if (*oldest > kNever) t = std::max(t, *oldest + m_t.tFAW);
        *oldest = t;
        m_last_act_in_group[static_cast<std::size_t>(g)] = t;
        ++m_counters.activates;
        return t;
    }

    // All-bank refreshes due by `t`: every row closes and the channel is blocked for tRFC.
    void refresh_until(double t) {
        while (m_next_refresh <= t) {
            double start = m_next_refresh;
            for (const Bank& b : m_banks)
                if (b.open_row >= 0) start = std::max(start, b.pre_ready + m_t.tRP);
            m_refresh_end = std::max(m_refresh_end, start + m_t.tRFC);
            for (Bank& b : m_banks) {
                b.open_row = -1;
                b.act_ready = std::max(b.act_ready, m_refresh_end);
            }
            m_bus_free = std::max(m_bus_free, m_refresh_end);
            m_next_refresh += m_t.tREFI;
            ++m_counters.refreshes;
        }
    }

    DramSpec m_spec;
    DramTimings m_t;
    double m_burst_ns;
    std::vector<Bank> m_banks;
    std::vector<int64_t> m_group;  // serve_segment's scratch: burst k's bank group ...
    std::vector<Bank*> m_bank;     // ... and bank
    std::vector<double> m_last_act_in_group;
    std::array<double, 4> m_act_window{};
    double m_bus_free = 0;
    double m_last_col = kNever;
    int64_t m_last_col_group = -1;
    double m_last_read_col = kNever, m_last_write_end = kNever;
    double m_next_refresh;
    double m_refresh_end = kNever;
};

const bool s_registered = [] {
    channel_models().add("simple",
                         [](const DramSpec& s) { return std::make_unique<SimpleChannel>(s); });
    channel_models().add("banked",
                         [](const DramSpec& s) { return std::make_unique<BankedChannel>(s); });
    return true;
}();

}  // namespace

Registry<ChannelFactory>& channel_models() {
    static Registry<ChannelFactory> registry("DRAM timing model");
    return registry;
}

}  // namespace xpusim::sim
