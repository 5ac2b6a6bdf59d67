#include "sim/memory/dram.h"

#include <algorithm>
#include <cmath>

namespace xpusim::sim {

DramTimingModel::DramTimingModel(const DramSpec& spec)
    : m_spec(spec),
      m_channel_bytes_per_ns(spec.bandwidth_gbps / static_cast<double>(spec.channels)),
      m_channel_free(static_cast<std::size_t>(spec.channels), 0.0),
      m_open_row(static_cast<std::size_t>(spec.channels * spec.banks), -1) {}

double DramTimingModel::access(uint64_t addr, uint64_t bytes, double t_ns, bool write) {
    (write ? m_bytes_written : m_bytes_read) += bytes;
    if (bytes == 0) return t_ns;
    const uint64_t il = static_cast<uint64_t>(m_spec.interleave_bytes);
    const uint64_t channels = static_cast<uint64_t>(m_spec.channels);
    const uint64_t banks = static_cast<uint64_t>(m_spec.banks);
    // Bytes of one row across every channel and bank: the row index changes every stripe.
    const uint64_t stripe = static_cast<uint64_t>(m_spec.row_bytes) * channels * banks;
    double done = t_ns;
    uint64_t a = addr;
    const uint64_t end = addr + bytes;
    while (a < end) {
        const uint64_t chunk_index = a / il;
        const uint64_t chunk_end = std::min(end, (chunk_index + 1) * il);
        const uint64_t n = chunk_end - a;
        const std::size_t c = static_cast<std::size_t>(chunk_index % channels);
        const std::size_t bank = static_cast<std::size_t>((chunk_index / channels) % banks);
        const int64_t row = static_cast<int64_t>(a / stripe);
        double start = std::max(t_ns, m_channel_free[c]);
        int64_t& open = m_open_row[c * banks + bank];
        if (open != row) {
            start += m_spec.row_miss_ns;
            open = row;
            ++m_row_misses;
        } else {
            ++m_row_hits;
        }
        const double transfer = static_cast<double>(n) / m_channel_bytes_per_ns;
        m_channel_free[c] = start + transfer;
        m_busy_ns += transfer;
        done = std::max(done, m_channel_free[c]);
        a = chunk_end;
    }
    return done + m_spec.latency_ns;
}

Dram::Dram(sc_core::sc_module_name name, const DramSpec& spec)
    : sc_core::sc_module(name), socket("socket"), m_timing(spec) {
    socket.register_b_transport(this, &Dram::b_transport);
    if (SimulationContext* context = SimulationContext::current()) context->add_memory(*this);
}

MemoryReport Dram::memory_report() const {
    MemoryReport r;
    r.kind = m_timing.spec().kind;
    r.bytes_read = m_timing.bytes_read();
    r.bytes_written = m_timing.bytes_written();
    r.row_hits = m_timing.row_hits();
    r.row_misses = m_timing.row_misses();
    r.busy_ns = m_timing.busy_ns() / static_cast<double>(m_timing.spec().channels);
    r.peak_bytes_per_s = m_timing.spec().bandwidth_gbps * 1e9;
    return r;
}

void Dram::b_transport(int, tlm::tlm_generic_payload& p, sc_core::sc_time& delay) {
    const double now_ns = (sc_core::sc_time_stamp() + delay).to_seconds() * 1e9;
    const double done_ns = m_timing.access(p.get_address(), p.get_data_length(), now_ns,
                                           p.get_command() == tlm::TLM_WRITE_COMMAND);
    delay += sc_core::sc_time(done_ns - now_ns, sc_core::SC_NS);
    p.set_response_status(tlm::TLM_OK_RESPONSE);
}

void dram_transfer(tlm::tlm_initiator_socket<>& socket, uint64_t addr, uint64_t bytes, bool write) {
    // The payload's length is 32-bit: larger transfers go as back-to-back 1 GiB requests.
    constexpr uint64_t kMaxRequest = uint64_t{1} << 30;
    sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
    do {
        const uint64_t n = std::min(bytes, kMaxRequest);
        tlm::tlm_generic_payload p;
        p.set_command(write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
        p.set_address(addr);
        p.set_data_ptr(nullptr);
        p.set_data_length(static_cast<unsigned int>(n));
        p.set_streaming_width(static_cast<unsigned int>(n));
        socket->b_transport(p, delay);
        addr += n;
        bytes -= n;
    } while (bytes > 0);
    sc_core::wait(delay);
}

}  // namespace xpusim::sim
