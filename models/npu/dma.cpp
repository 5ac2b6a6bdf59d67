#include "models/npu/dma.h"

#include <algorithm>

namespace xpusim::models::npu {

using sc_core::SC_NS;
using sc_core::sc_time;

Mcif::Mcif(sc_core::sc_module_name name, const sim::DramSpec& spec, uint64_t queue_bytes)
    : sc_module(name),
      clients("clients"),
      dram("dram"),
      m_queue_ns(static_cast<double>(queue_bytes) / spec.bandwidth_gbps),
      m_latency_ns(spec.latency_ns) {
    clients.register_b_transport(this, &Mcif::b_transport);
}

void Mcif::b_transport(int, tlm::tlm_generic_payload& p, sc_time& delay) {
    const uint64_t ticket = m_next_ticket++;
    m_waiting.push_back(ticket);
    while (true) {
        const double now = sc_core::sc_time_stamp().to_seconds() * 1e9;
        const double backlog = m_busy_until_ns - now;
        // (a picosecond of slack: the kernel's time resolution)
        if (m_waiting.front() == ticket && backlog <= m_queue_ns + 1e-3) break;
        if (m_waiting.front() == ticket)
            sc_core::wait(sc_time(backlog - m_queue_ns, SC_NS));
        else
            sc_core::wait(m_turn);
    }
    m_waiting.pop_front();
    m_turn.notify(sc_core::SC_ZERO_TIME);
    const double now = sc_core::sc_time_stamp().to_seconds() * 1e9;
    dram->b_transport(p, delay);
    m_busy_until_ns = std::max(m_busy_until_ns, now + delay.to_seconds() * 1e9 - m_latency_ns);
}

DmaEngine::DmaEngine(sc_core::sc_module_name name, const isa::npu::DmaSpec& spec, double cycle_ns)
    : sc_module(name), socket("socket"), m_spec(spec), m_cycle_ns(cycle_ns) {}

void wait_until(const sc_time& t) {
    const sc_time now = sc_core::sc_time_stamp();
    if (t > now) sc_core::wait(t - now);
}

sc_time DmaEngine::issue(uint64_t addr, uint64_t bytes, bool write, int32_t desc) {
    const sc_time start = sc_core::sc_time_stamp();
    sc_time last = start;
    const uint64_t window = std::max<uint64_t>(m_spec.window_bytes(), 1);
    // A request never exceeds the latency buffer: a design sized for a short latency (nv_small:
    // 8 B x 50 cycles = 400 B) cannot stream at full rate from a slower memory.
    const uint64_t req = std::min<uint64_t>(static_cast<uint64_t>(m_spec.request_bytes), window);
    uint64_t done = 0;
    while (done < bytes) {
        const uint64_t n = std::min(req, bytes - done);
        // Retire completed requests; wait for the oldest while the latency buffer is full.
        while (!m_outstanding.empty()) {
            const sc_time now = sc_core::sc_time_stamp();
            if (m_outstanding.front().first <= now) {
                m_outstanding_bytes -= m_outstanding.front().second;
                m_outstanding.pop_front();
            } else if (m_outstanding_bytes + n > window) {
                sc_core::wait(m_outstanding.front().first - now);
            } else {
                break;
            }
        }
        tlm::tlm_generic_payload p;
        p.set_command(write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
        p.set_address(addr + done);
        p.set_data_ptr(nullptr);
        p.set_data_length(static_cast<unsigned int>(n));
        p.set_streaming_width(static_cast<unsigned int>(n));
        sc_time delay = sc_core::SC_ZERO_TIME;
        socket->b_transport(p, delay);
        const sc_time complete = sc_core::sc_time_stamp() + delay;
        m_outstanding.emplace_back(complete, n);
        m_outstanding_bytes += n;
        last = std::max(last, complete);
        done += n;
        // The interface moves width bytes per cycle: issuing n bytes holds it ceil(n / width).
        const uint64_t w = static_cast<uint64_t>(m_spec.width_bytes);
        sc_core::wait(sc_time(static_cast<double>((n + w - 1) / w) * m_cycle_ns, SC_NS));
    }
    (write ? m_bytes_written : m_bytes_read) += bytes;
    if (bytes > 0)
        m_records.push_back(
            {start.to_seconds() * 1e9, last.to_seconds() * 1e9, bytes, write, desc});
    return last;
}

void DmaEngine::transfer(uint64_t addr, uint64_t bytes, bool write, int32_t desc) {
    wait_until(issue(addr, bytes, write, desc));
}

}  // namespace xpusim::models::npu
