#include "sim/memory/dma.h"

#include <algorithm>
#include <cmath>

#include "sim/error.h"

namespace xpusim::sim {

using sc_core::SC_NS;
using sc_core::sc_time;

namespace {
double now_ns() {
    return sc_core::sc_time_stamp().to_seconds() * 1e9;
}

sc_time cycles_for(uint64_t bytes, double bytes_per_cycle, double cycle_ns) {
    return sc_time(std::ceil(static_cast<double>(bytes) / bytes_per_cycle) * cycle_ns, SC_NS);
}
}  // namespace

void DmaTicket::wait() const {
    while (m_pending > 0) sc_core::wait(m_event);
}

void wait_all(const std::vector<DmaHandle>& tickets) {
    for (const auto& t : tickets)
        if (t) t->wait();
}

DmaEngine::DmaEngine(sc_core::sc_module_name name, const DmaConfig& config)
    : sc_core::sc_module(name), socket("socket"), m_config(config) {
    if (config.request_bytes == 0 || config.outstanding < 1 || config.bytes_per_cycle <= 0)
        throw Error(std::string("DMA engine '") + basename() +
                    "': needs a request size, a window and a width");
    socket.register_nb_transport_bw(this, &DmaEngine::nb_transport_bw);
}

DmaHandle DmaEngine::issue(uint64_t addr, uint64_t bytes, bool write, int32_t tag) {
    auto ticket = std::make_shared<DmaTicket>();
    const std::size_t record = m_records.size();
    m_records.push_back({now_ns(), now_ns(), bytes, write, tag});
    m_record_pending.push_back(1);  // held until every request is sent
    ticket->m_pending = 1;
    (write ? m_bytes_written : m_bytes_read) += bytes;
    for (uint64_t done = 0; done < bytes;) {
        const uint64_t n = std::min<uint64_t>(m_config.request_bytes, bytes - done);
        while (static_cast<int64_t>(m_in_flight.size()) >= m_config.outstanding)
            sc_core::wait(m_retired);
        auto req = std::make_unique<Request>();
        tlm::tlm_generic_payload& p = req->payload;
        p.set_command(write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
        p.set_address(addr + done);
        p.set_data_ptr(nullptr);
        p.set_data_length(static_cast<unsigned int>(n));
        p.set_streaming_width(static_cast<unsigned int>(n));
        req->ticket = ticket;
        req->record = record;
        ++ticket->m_pending;
        ++m_record_pending[record];
        m_in_flight[&p] = std::move(req);
        // The interface is held for the request's bytes from the moment it is sent; the
        // memory's acceptance (END_REQ) may come later, when its queue is full.
        const sc_time paced =
            sc_core::sc_time_stamp() + cycles_for(n, m_config.bytes_per_cycle, m_config.cycle_ns);
        tlm::tlm_phase phase = tlm::BEGIN_REQ;
        sc_time delay = sc_core::SC_ZERO_TIME;
        m_awaiting_end_req = true;
        const tlm::tlm_sync_enum status = socket->nb_transport_fw(p, phase, delay);
        if (status == tlm::TLM_COMPLETED) {
            m_awaiting_end_req = false;
            complete(p);
        } else if (status == tlm::TLM_UPDATED && phase == tlm::END_REQ) {
            m_awaiting_end_req = false;
        }
        while (m_awaiting_end_req) sc_core::wait(m_end_req);  // the memory's back-pressure
        if (paced > sc_core::sc_time_stamp()) sc_core::wait(paced - sc_core::sc_time_stamp());
        done += n;
    }
    // Every request is sent: release the hold.
    if (--m_record_pending[record] == 0) m_records[record].end_ns = now_ns();
    if (--ticket->m_pending == 0) {
        ticket->m_done_ns = now_ns();
        ticket->m_event.notify(sc_core::SC_ZERO_TIME);
    }
    return ticket;
}

void DmaEngine::transfer(uint64_t addr, uint64_t bytes, bool write, int32_t tag) {
    issue(addr, bytes, write, tag)->wait();
}

tlm::tlm_sync_enum DmaEngine::nb_transport_bw(tlm::tlm_generic_payload& p, tlm::tlm_phase& phase,
                                              sc_time&) {
    if (phase == tlm::END_REQ) {
        m_awaiting_end_req = false;
        m_end_req.notify(sc_core::SC_ZERO_TIME);
        return tlm::TLM_ACCEPTED;
    }
    if (phase == tlm::BEGIN_RESP) {
        complete(p);
        return tlm::TLM_COMPLETED;
    }
    throw Error(std::string("DMA engine '") + basename() +
                "': unexpected TLM phase from the memory");
}

void DmaEngine::complete(tlm::tlm_generic_payload& p) {
    auto it = m_in_flight.find(&p);
    if (it == m_in_flight.end())
        throw Error(std::string("DMA engine '") + basename() + "': a reply for no request");
    Request& r = *it->second;
    if (--m_record_pending[r.record] == 0) m_records[r.record].end_ns = now_ns();
    DmaTicket& t = *r.ticket;
    if (--t.m_pending == 0) {
        t.m_done_ns = now_ns();
        t.m_event.notify(sc_core::SC_ZERO_TIME);
    }
    m_in_flight.erase(it);
    m_retired.notify(sc_core::SC_ZERO_TIME);
}

MemoryPort::MemoryPort(sc_core::sc_module_name name, double width_bytes, double cycle_ns)
    : sc_core::sc_module(name),
      clients("clients"),
      memory("memory"),
      m_width(width_bytes),
      m_cycle_ns(cycle_ns),
      m_responses(this, &MemoryPort::deliver) {
    if (width_bytes <= 0 || cycle_ns <= 0)
        throw Error(std::string("memory port '") + basename() + "': needs a width and a clock");
    clients.register_nb_transport_fw(this, &MemoryPort::client_fw);
    memory.register_nb_transport_bw(this, &MemoryPort::memory_bw);
    sc_core::sc_spawn(sc_bind(&MemoryPort::arbiter, this), "arbiter");
}

tlm::tlm_sync_enum MemoryPort::client_fw(int id, tlm::tlm_generic_payload& p, tlm::tlm_phase& phase,
                                         sc_time&) {
    if (phase == tlm::END_RESP) return tlm::TLM_COMPLETED;
    if (phase != tlm::BEGIN_REQ)
        throw Error(std::string("memory port '") + basename() + "': unexpected TLM phase");
    m_waiting.push_back({id, &p});
    m_request.notify(sc_core::SC_ZERO_TIME);
    return tlm::TLM_ACCEPTED;  // END_REQ once the memory has accepted it
}

void MemoryPort::arbiter() {
    for (;;) {
        while (m_waiting.empty()) sc_core::wait(m_request);
        const Pending next = m_waiting.front();
        m_waiting.pop_front();
        m_owner[next.payload] = next.client;
        tlm::tlm_phase phase = tlm::BEGIN_REQ;
        sc_time delay = sc_core::SC_ZERO_TIME;
        m_memory_busy = true;
        const tlm::tlm_sync_enum status = memory->nb_transport_fw(*next.payload, phase, delay);
        if (status == tlm::TLM_UPDATED && phase == tlm::END_REQ) m_memory_busy = false;
        if (status == tlm::TLM_COMPLETED)
            throw Error(std::string("memory port '") + basename() + "': early completion");
        while (m_memory_busy) sc_core::wait(m_memory_accepted);
        tlm::tlm_phase end = tlm::END_REQ;
        sc_time zero = sc_core::SC_ZERO_TIME;
        clients[next.client]->nb_transport_bw(*next.payload, end, zero);
    }
}

tlm::tlm_sync_enum MemoryPort::memory_bw(tlm::tlm_generic_payload& p, tlm::tlm_phase& phase,
                                         sc_time& delay) {
    if (phase == tlm::END_REQ) {
        m_memory_busy = false;
        m_memory_accepted.notify(sc_core::SC_ZERO_TIME);
        return tlm::TLM_ACCEPTED;
    }
    if (phase != tlm::BEGIN_RESP)
        throw Error(std::string("memory port '") + basename() + "': unexpected TLM phase");
    // The data crosses the port's channel for this direction, cut through.
    const double hold = cycles_for(p.get_data_length(), m_width, m_cycle_ns).to_seconds() * 1e9;
    double& channel = m_channel_free_ns[p.get_command() == tlm::TLM_WRITE_COMMAND ? 1 : 0];
    const double arrived = now_ns() + delay.to_seconds() * 1e9;
    const double done = std::max(arrived, channel + hold);
    channel = done;
    m_busy_ns += hold;
    m_bytes += p.get_data_length();
    m_responses.notify(p, phase, sc_time(done - now_ns(), SC_NS));
    return tlm::TLM_ACCEPTED;
}

void MemoryPort::deliver(tlm::tlm_generic_payload& p, const tlm::tlm_phase& phase) {
    auto it = m_owner.find(&p);
    if (it == m_owner.end())
        throw Error(std::string("memory port '") + basename() + "': a reply for no request");
    const int client = it->second;
    m_owner.erase(it);
    tlm::tlm_phase ph = phase;
    sc_time zero = sc_core::SC_ZERO_TIME;
    clients[client]->nb_transport_bw(p, ph, zero);
}

}  // namespace xpusim::sim
