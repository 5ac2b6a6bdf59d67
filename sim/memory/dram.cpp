#include "sim/memory/dram.h"

#include <algorithm>
#include <cstdint>

#include "sim/error.h"

namespace xpusim::sim {

using sc_core::SC_NS;
using sc_core::sc_time;

namespace {
double now_ns() {
    return sc_core::sc_time_stamp().to_seconds() * 1e9;
}
}  // namespace

struct Dram::Transaction {
    tlm::tlm_generic_payload* payload = nullptr;
    int initiator = 0;
    int parts_unqueued = 0;  // parts still waiting for room in a controller queue
    int parts_left = 0;      // parts whose data has not moved yet
    bool accepted = false;   // END_REQ given (or, blocking, nothing to give)
    bool blocking = false;
    double done_ns = 0;
    sc_core::sc_event done;  // blocking callers wait on it
};

Dram::Dram(sc_core::sc_module_name name, const DramSpec& spec)
    : sc_core::sc_module(name),
      socket("socket"),
      m_spec(spec),
      m_channels(static_cast<std::size_t>(spec.channels)),
      m_responses(this, &Dram::respond) {
    const ChannelFactory& make = channel_models().get(spec.impl);
    for (auto& c : m_channels) c.model = make(spec);
    socket.register_nb_transport_fw(this, &Dram::nb_transport_fw);
    socket.register_b_transport(this, &Dram::b_transport);
    for (std::size_t c = 0; c < m_channels.size(); ++c)
        sc_core::sc_spawn(sc_bind(&Dram::controller, this, c),
                          sc_core::sc_gen_unique_name("controller"));
    if (SimulationContext* context = SimulationContext::current()) context->add_memory(*this);
}

Dram::~Dram() = default;

Dram::Transaction* Dram::begin(int id, tlm::tlm_generic_payload& p, double arrival_ns,
                               bool blocking) {
    auto owned = std::make_unique<Transaction>();
    Transaction* t = owned.get();
    t->payload = &p;
    t->initiator = id;
    t->blocking = blocking;
    m_in_flight[&p] = std::move(owned);
    // Cut the transfer into parts, one per (channel, row stripe).
    const uint64_t il = static_cast<uint64_t>(m_spec.interleave_bytes);
    const uint64_t channels = static_cast<uint64_t>(m_spec.channels);
    const uint64_t stripe = static_cast<uint64_t>(m_spec.row_bytes * m_spec.bank_groups);
    const uint64_t burst = static_cast<uint64_t>(m_spec.burst_bytes());
    const bool write = p.get_command() == tlm::TLM_WRITE_COMMAND;
    const uint64_t a = p.get_address();
    const uint64_t end = a + p.get_data_length();
    // Chunk i of interleave_bytes goes to channel i mod channels at local address
    // (i / channels) x interleave_bytes, so a channel's share of one contiguous transfer is
    // contiguous in its local space: one part per channel (served stripe by stripe), from its
    // first chunk in the transfer to its last, in the order the transfer reaches the channels.
    std::vector<std::pair<std::size_t, Part>> parts;
    if (end > a) {
        const uint64_t first = a / il, last = (end - 1) / il;
        for (uint64_t j = 0; j < channels && first + j <= last; ++j) {
            const uint64_t i0 = first + j;  // this channel's first chunk
            const uint64_t i1 = i0 + (last - i0) / channels * channels;  // ... and its last
            const uint64_t local = (i0 / channels) * il + (i0 == first ? a % il : 0);
            const uint64_t local_end = (i1 / channels) * il + (i1 == last ? (end - 1) % il + 1 : il);
            const uint64_t s = local / stripe;
            ChannelAccess access;
            access.bank = static_cast<int64_t>(s % static_cast<uint64_t>(m_spec.banks_per_group));
            access.row = static_cast<int64_t>(s / static_cast<uint64_t>(m_spec.banks_per_group));
            access.first_burst = static_cast<int64_t>((local % stripe) / burst);
            access.bytes = static_cast<int64_t>(local_end - local);
            access.write = write;
            parts.push_back({static_cast<std::size_t>(i0 % channels), Part{t, access, arrival_ns, m_order++}});
        }
    }
    t->parts_unqueued = t->parts_left = static_cast<int>(parts.size());
    if (parts.empty()) {
        t->accepted = true;
        t->done_ns = arrival_ns;
        finish(*t);
        return t;
    }
    for (auto& [c, part] : parts) {
        Channel& ch = m_channels[c];
        if (ch.queue.size() < static_cast<std::size_t>(m_spec.queue_depth) && ch.overflow.empty()) {
            ch.queue.push_back(part);
            --t->parts_unqueued;
            ch.arrived.notify(sc_core::SC_ZERO_TIME);
        } else {
            ch.overflow.push_back(part);
        }
    }
    if (t->parts_unqueued == 0) t->accepted = true;
    return t;
}

tlm::tlm_sync_enum Dram::nb_transport_fw(int id, tlm::tlm_generic_payload& p, tlm::tlm_phase& phase,
                                         sc_time& delay) {
    if (phase == tlm::END_RESP) return tlm::TLM_COMPLETED;
    if (phase != tlm::BEGIN_REQ) throw Error("dram: unexpected TLM phase from an initiator");
    Transaction* t = begin(id, p, (sc_core::sc_time_stamp() + delay).to_seconds() * 1e9, false);
    if (!t->accepted) return tlm::TLM_ACCEPTED;  // END_REQ follows once every part is queued
    phase = tlm::END_REQ;
    return tlm::TLM_UPDATED;
}

void Dram::b_transport(int id, tlm::tlm_generic_payload& p, sc_time& delay) {
    Transaction* t = begin(id, p, (sc_core::sc_time_stamp() + delay).to_seconds() * 1e9, true);
    if (t->parts_left > 0) sc_core::wait(t->done);
    const double done = t->done_ns;
    m_in_flight.erase(&p);
    const double now = now_ns();
    delay = done > now ? sc_time(done - now, SC_NS) : sc_core::SC_ZERO_TIME;
    p.set_response_status(tlm::TLM_OK_RESPONSE);
}

void Dram::admitted(Transaction& t) {
    t.accepted = true;
    if (t.blocking) return;
    tlm::tlm_phase phase = tlm::END_REQ;
    sc_time zero = sc_core::SC_ZERO_TIME;
    socket[t.initiator]->nb_transport_bw(*t.payload, phase, zero);
}

void Dram::controller(std::size_t c) {
    Channel& ch = m_channels[c];
    for (;;) {
        if (ch.queue.empty()) {
            sc_core::wait(ch.arrived);
            continue;
        }
        const double now = now_ns();
        // FR-FCFS over the parts that have arrived: the oldest row hit, else the oldest.
        auto pick = ch.queue.end();
        bool pick_hit = false;
        double next_arrival = std::numeric_limits<double>::infinity();
        for (auto it = ch.queue.begin(); it != ch.queue.end(); ++it) {
            if (it->arrival_ns > now + 1e-9) {
                next_arrival = std::min(next_arrival, it->arrival_ns);
                continue;
            }
            const bool hit = ch.model->row_hit(it->access);
            if (pick == ch.queue.end() || (hit && !pick_hit) || (hit == pick_hit && it->order < pick->order)) {
                pick = it;
                pick_hit = hit;
            }
        }
        if (pick == ch.queue.end()) {
            sc_core::wait(sc_time(next_arrival - now, SC_NS), ch.arrived);
            continue;
        }
        const Part part = *pick;
        ch.queue.erase(pick);
        const ChannelService s = ch.model->serve(part.access, part.arrival_ns, now);
        // Room in the queue: the oldest waiting part comes in.
        if (!ch.overflow.empty()) {
            Transaction& waiting = *ch.overflow.front().txn;
            ch.queue.push_back(ch.overflow.front());
            ch.overflow.pop_front();
            if (--waiting.parts_unqueued == 0) admitted(waiting);
        }
        Transaction& t = *part.txn;
        t.done_ns = std::max(t.done_ns, s.data_end_ns);
        if (--t.parts_left == 0) finish(t);
        if (s.next_decision_ns > now) sc_core::wait(sc_time(s.next_decision_ns - now, SC_NS));
    }
}

void Dram::finish(Transaction& t) {
    t.done_ns += m_spec.latency_ns;
    const double wait = std::max(0.0, t.done_ns - now_ns());
    t.payload->set_response_status(tlm::TLM_OK_RESPONSE);
    if (t.blocking) {
        t.done.notify(sc_time(wait, SC_NS));
        return;
    }
    m_responses.notify(*t.payload, tlm::BEGIN_RESP, sc_time(wait, SC_NS));
}

void Dram::respond(tlm::tlm_generic_payload& p, const tlm::tlm_phase& phase) {
    auto it = m_in_flight.find(&p);
    if (it == m_in_flight.end()) return;
    const int initiator = it->second->initiator;
    m_in_flight.erase(it);
    tlm::tlm_phase ph = phase;
    sc_time zero = sc_core::SC_ZERO_TIME;
    socket[initiator]->nb_transport_bw(p, ph, zero);
}

ChannelCounters Dram::totals() const {
    ChannelCounters t;
    for (const auto& c : m_channels) {
        const ChannelCounters& k = c.model->counters();
        t.bytes_read += k.bytes_read;
        t.bytes_written += k.bytes_written;
        t.row_hits += k.row_hits;
        t.row_misses += k.row_misses;
        t.row_conflicts += k.row_conflicts;
        t.activates += k.activates;
        t.refreshes += k.refreshes;
        t.busy_ns += k.busy_ns;
    }
    return t;
}

MemoryReport Dram::memory_report() const {
    const ChannelCounters t = totals();
    MemoryReport r;
    r.kind = m_spec.impl;
    r.bytes_read = t.bytes_read;
    r.bytes_written = t.bytes_written;
    r.row_hits = t.row_hits;
    r.row_misses = t.row_misses + t.row_conflicts;
    r.busy_ns = t.busy_ns / static_cast<double>(m_spec.channels);
    r.peak_bytes_per_s = m_spec.bandwidth_gbps * 1e9;
    r.extra = {
        {"row_conflicts", t.row_conflicts}, {"activates", t.activates}, {"refreshes", t.refreshes}};
    return r;
}

void dram_transfer(tlm::tlm_initiator_socket<>& socket, uint64_t addr, uint64_t bytes, bool write) {
    // Larger transfers go as back-to-back requests of 1 MiB (each waits for the one before; the
    // latency this exposes is small against a MiB of data).
    constexpr uint64_t kMaxRequest = uint64_t{1} << 20;
    do {
        const uint64_t n = std::min(bytes, kMaxRequest);
        tlm::tlm_generic_payload p;
        p.set_command(write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
        p.set_address(addr);
        p.set_data_ptr(nullptr);
        p.set_data_length(static_cast<unsigned int>(n));
        p.set_streaming_width(static_cast<unsigned int>(n));
        sc_time delay = sc_core::SC_ZERO_TIME;
        socket->b_transport(p, delay);
        sc_core::wait(delay);
        addr += n;
        bytes -= n;
    } while (bytes > 0);
}

}  // namespace xpusim::sim
