#include "models/gpu/gpu_l2.h"

#include <algorithm>
#include <cmath>

#include "sim/error.h"
#include "sim/memory/dram.h"

namespace xpusim::models::gpu {

using sc_core::SC_NS;
using sc_core::sc_time;

namespace {
constexpr int kMissEngines = 4;                   // HBM transfers in flight at once
constexpr uint64_t kMissChunk = uint64_t{1} << 20;  // bytes per HBM transfer (simulation granule)
double now_ns() { return sc_core::sc_time_stamp().to_seconds() * 1e9; }
}  // namespace

L2Cache::L2Cache(sc_core::sc_module_name name, const GpuProgram& program)
    : sc_core::sc_module(name),
      socket("socket"),
      hbm("hbm"),
      m_program(program),
      m_cycle_ns(program.spec.cycle_ns()) {
    const auto& l2 = program.spec.l2;
    m_segment_bytes = static_cast<uint64_t>(l2.segment_kib) * 1024;
    // Read-shared data is held in every partition: the capacity it sees is one partition's.
    m_capacity_segments = std::max<uint64_t>(1, l2.bytes() / static_cast<uint64_t>(l2.partitions) / m_segment_bytes);
    m_free_ns.assign(static_cast<std::size_t>(l2.partitions), 0.0);
    m_partition_bytes_per_ns = static_cast<double>(l2.slices) / static_cast<double>(l2.partitions) *
                               l2.bytes_per_cycle_per_slice / m_cycle_ns;
    for (int64_t p = 0; p < l2.partitions; ++p)
        m_latency_ns.push_back(static_cast<double>(p == 0 ? l2.latency_near_cycles : l2.latency_far_cycles) *
                               m_cycle_ns);
    m_hbm_capacity = static_cast<uint64_t>(program.spec.hbm.capacity_mib) << 20;
    socket.register_b_transport(this, &L2Cache::b_transport);
    for (int e = 0; e < kMissEngines; ++e)
        sc_core::sc_spawn(sc_bind(&L2Cache::miss_engine, this), sc_core::sc_gen_unique_name("miss_engine"));
    if (auto* c = sim::SimulationContext::current()) c->add_memory(*this);
    // Warm: the steady state of back-to-back replays, so the L2 holds what the previous replay
    // left. One replay from empty leaves exactly that state (an LRU's content depends only on
    // the last capacity's worth of touches, and a replay that touches less keeps all of it), so
    // the program's touches run once, untimed, before the timed replay. What that replay left
    // dirty is written back when the timed one evicts it.
    if (l2.initial == "warm")
        for (const Kernel& k : program.kernels) touch_arguments(k);
}

int L2Cache::root(int buffer) const {
    for (int hops = 0; m_program.buffers.at(static_cast<std::size_t>(buffer)).alias >= 0; ++hops) {
        if (hops > static_cast<int>(m_program.buffers.size())) throw sim::ModelError("gpu: buffer alias cycle");
        buffer = m_program.buffers[static_cast<std::size_t>(buffer)].alias;
    }
    return buffer;
}

uint64_t L2Cache::segments_of(uint64_t bytes) const {
    return (bytes + m_segment_bytes - 1) / m_segment_bytes;
}

L2Cache::Touch L2Cache::touch(int buffer, uint64_t bytes, bool dirty) {
    Touch t;
    t.segments = segments_of(bytes);
    for (uint64_t i = 0; i < t.segments; ++i) {
        const uint64_t k = key(buffer, i);
        auto it = m_resident.find(k);
        if (it != m_resident.end()) {
            m_lru.splice(m_lru.begin(), m_lru, it->second.at);
            it->second.dirty = it->second.dirty || dirty;
            ++t.hits;
            continue;
        }
        m_lru.push_front(k);
        m_resident[k] = {m_lru.begin(), dirty};
        while (m_lru.size() > m_capacity_segments) {
            const uint64_t victim = m_lru.back();
            m_lru.pop_back();
            auto v = m_resident.find(victim);
            if (v->second.dirty) t.evicted_dirty += m_segment_bytes;
            m_resident.erase(v);
        }
    }
    return t;
}

uint64_t L2Cache::touch_arguments(const Kernel& k, std::vector<double>* read_hit_share) {
    uint64_t writebacks = 0;
    for (const auto& a : k.args) {
        if (a.write) continue;
        const Touch t = touch(root(a.buffer), a.unique_bytes, false);
        writebacks += t.evicted_dirty;
        if (read_hit_share)
            read_hit_share->push_back(t.segments ? static_cast<double>(t.hits) / static_cast<double>(t.segments) : 1.0);
    }
    for (const auto& a : k.args)
        if (a.write) writebacks += touch(root(a.buffer), a.unique_bytes, true).evicted_dirty;
    return writebacks;
}

KernelL2 L2Cache::begin_kernel(const Kernel& k) {
    KernelL2 out;
    uint64_t footprint = 0, reads = 0;
    for (const auto& a : k.args) footprint += a.unique_bytes;
    const double capacity = static_cast<double>(m_capacity_segments * m_segment_bytes);
    const double working = static_cast<double>(k.working_set > 0 ? k.working_set : footprint);
    const double spill = working > capacity ? (working - capacity) / working : 0.0;
    // First touches hit where their segment is still resident when the kernel reaches it: the
    // reads in argument order, each buffer from its start (so a buffer larger than what is
    // left evicts its own resident tail before it gets there, as LRU does to a stream).
    std::vector<double> hit_share;
    const uint64_t writebacks = touch_arguments(k, &hit_share);
    double misses = 0;
    std::size_t r = 0;
    for (const auto& a : k.args) {
        if (a.write) continue;
        const uint64_t rereads = a.total_bytes - std::min(a.total_bytes, a.unique_bytes);
        const uint64_t exposed = a.far_bytes < 0 ? rereads : std::min(rereads, static_cast<uint64_t>(a.far_bytes));
        misses += static_cast<double>(a.unique_bytes) * (1.0 - hit_share[r++]) + static_cast<double>(exposed) * spill;
        reads += a.total_bytes;
    }
    out.requested = reads;
    out.misses = static_cast<uint64_t>(misses);
    out.miss_fraction = reads ? std::min(1.0, misses / static_cast<double>(reads)) : 0.0;
    out.writebacks = writebacks;
    if (writebacks) enqueue_miss(writebacks, true, nullptr, nullptr);
    m_writeback_bytes += writebacks;
    return out;
}

void L2Cache::enqueue_miss(uint64_t bytes, bool write, sc_core::sc_event* done, uint64_t* left) {
    m_misses.push_back({bytes, write, done, left});
    m_miss_queued.notify(sc_core::SC_ZERO_TIME);
}

// Takes up to kMissChunk bytes of the oldest misses of one direction and moves them through
// the HBM model as one sequential transfer; requests whose last byte it carries are answered.
void L2Cache::miss_engine() {
    sim::SimulationContext::guard([this] {
        for (;;) {
            while (m_misses.empty()) sc_core::wait(m_miss_queued);
            const bool write = m_misses.front().write;
            uint64_t chunk = 0;
            std::vector<std::pair<MissJob, uint64_t>> carried;
            while (!m_misses.empty() && m_misses.front().write == write && chunk < kMissChunk) {
                MissJob& j = m_misses.front();
                const uint64_t n = std::min(j.bytes, kMissChunk - chunk);
                carried.push_back({j, n});
                chunk += n;
                j.bytes -= n;
                if (j.bytes == 0) m_misses.pop_front();
            }
            uint64_t& next = m_next_address[write ? 1 : 0];
            const uint64_t half = std::max<uint64_t>(kMissChunk, m_hbm_capacity / 2);
            if (next + chunk > half) next = 0;
            sim::dram_transfer(hbm, (write ? half : 0) + next, chunk, write);
            next += chunk;
            for (auto& [job, n] : carried)
                if (job.left && (*job.left -= n) == 0 && job.done) job.done->notify(sc_core::SC_ZERO_TIME);
        }
    });
}

void L2Cache::b_transport(int, tlm::tlm_generic_payload& p, sc_time& delay) {
    L2Request* r = nullptr;
    p.get_extension(r);
    if (!r) throw sim::ModelError("gpu: an L2 request without its L2Request extension");
    sc_core::wait(delay);
    delay = sc_core::SC_ZERO_TIME;
    const double start = now_ns();
    const uint64_t miss = static_cast<uint64_t>(std::llround(static_cast<double>(r->read_bytes) * r->miss_fraction));
    const uint64_t served = r->read_bytes + r->write_bytes;
    // Hits and writes on the slices of each partition.
    double done = start;
    const double share = static_cast<double>(served) / static_cast<double>(m_free_ns.size());
    for (std::size_t q = 0; q < m_free_ns.size(); ++q) {
        const double begin = std::max(start, m_free_ns[q]);
        m_free_ns[q] = begin + share / m_partition_bytes_per_ns;
        m_busy_ns += share / m_partition_bytes_per_ns;
        done = std::max(done, m_free_ns[q] + m_latency_ns[q]);
    }
    m_hit_bytes += r->read_bytes - miss;
    m_miss_bytes += miss;
    m_write_bytes += r->write_bytes;
    uint64_t left = miss;
    sc_core::sc_event arrived;
    if (miss) enqueue_miss(miss, false, &arrived, &left);
    if (done > now_ns()) sc_core::wait(sc_time(done - now_ns(), SC_NS));
    while (left > 0) sc_core::wait(arrived);
    p.set_response_status(tlm::TLM_OK_RESPONSE);
}

sim::MemoryReport L2Cache::memory_report() const {
    sim::MemoryReport r;
    r.kind = "l2";
    r.bytes_read = m_hit_bytes + m_miss_bytes;
    r.bytes_written = m_write_bytes;
    r.row_hits = 0;
    r.row_misses = 0;
    r.busy_ns = m_busy_ns / static_cast<double>(m_free_ns.size());
    r.peak_bytes_per_s = m_partition_bytes_per_ns * static_cast<double>(m_free_ns.size()) * 1e9;
    const uint64_t reads = m_hit_bytes + m_miss_bytes;
    r.extra = {{"hit_bytes", m_hit_bytes},
               {"miss_bytes", m_miss_bytes},
               {"writeback_bytes", m_writeback_bytes},
               {"hit_rate", reads ? static_cast<double>(m_hit_bytes) / static_cast<double>(reads) : 0.0}};
    return r;
}

}  // namespace xpusim::models::gpu
