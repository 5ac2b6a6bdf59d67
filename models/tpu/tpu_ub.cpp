#include "models/tpu/tpu_ub.h"

#include <algorithm>

namespace xpusim::models::tpu {

UbPorts::UbPorts(const isa::tpu::UnifiedBufferSpec& spec)
    : m_bank_bytes(std::max<uint64_t>(1, spec.bytes() / static_cast<uint64_t>(spec.banks))),
      m_bytes_per_cycle(static_cast<uint64_t>(spec.bytes_per_cycle)),
      m_ports(static_cast<std::size_t>(spec.banks),
              std::vector<Intervals>(static_cast<std::size_t>(spec.ports))) {}

uint64_t UbPorts::port_cycles(uint64_t bytes) const {
    return (bytes + m_bytes_per_cycle - 1) / m_bytes_per_cycle;
}

std::vector<std::size_t> UbPorts::banks_of(const std::vector<UbRange>& ranges) const {
    const std::size_t n = m_ports.size();
    std::vector<char> touched(n, 0);
    for (const UbRange& r : ranges) {
        if (r.bytes == 0) continue;
        const uint64_t first = r.address / m_bank_bytes,
                       last = (r.address + r.bytes - 1) / m_bank_bytes;
        if (r.anywhere || last - first + 1 >= n) {
            std::fill(touched.begin(), touched.end(), 1);
            break;
        }
        for (uint64_t b = first; b <= last; ++b) touched[static_cast<std::size_t>(b % n)] = 1;
    }
    std::vector<std::size_t> out;
    for (std::size_t b = 0; b < n; ++b)
        if (touched[b]) out.push_back(b);
    return out;
}

// The first t' >= t with [t', t' + d) clear of every interval.
uint64_t UbPorts::earliest_fit(const Intervals& busy, uint64_t t, uint64_t d) {
    auto it = busy.upper_bound(t);
    if (it != busy.begin()) {
        auto prev = std::prev(it);
        if (prev->second > t) t = prev->second;
    }
    for (; it != busy.end(); ++it) {
        if (it->first >= t + d) break;
        t = std::max(t, it->second);
    }
    return t;
}

uint64_t UbPorts::reserve(const std::vector<UbRange>& ranges, uint64_t earliest, uint64_t cycles) {
    if (cycles == 0) return earliest;
    const std::vector<std::size_t> banks = banks_of(ranges);
    if (banks.empty()) return earliest;
    // Each bank's earliest port; the start is the latest of them. Moving the start later can
    // only move each bank's fit later, so the loop settles on the first common start.
    uint64_t t = earliest;
    std::vector<std::size_t> chosen(banks.size());
    for (bool settled = false; !settled;) {
        settled = true;
        for (std::size_t i = 0; i < banks.size(); ++i) {
            const auto& ports = m_ports[banks[i]];
            uint64_t best = UINT64_MAX;
            for (std::size_t p = 0; p < ports.size(); ++p) {
                const uint64_t f = earliest_fit(ports[p], t, cycles);
                if (f < best) best = f, chosen[i] = p;
            }
            if (best > t) {
                t = best;
                settled = false;
            }
        }
    }
    for (std::size_t i = 0; i < banks.size(); ++i) m_ports[banks[i]][chosen[i]][t] = t + cycles;
    m_wait += t - earliest;
    return t;
}

void UbPorts::retire(uint64_t now) {
    for (auto& bank : m_ports)
        for (auto& port : bank)
            while (!port.empty() && port.begin()->second <= now) port.erase(port.begin());
}

}  // namespace xpusim::models::tpu
