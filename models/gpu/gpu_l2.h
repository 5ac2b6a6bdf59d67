// The GPU's L2 in front of HBM: bandwidth servers, a residency model, and the miss path.
//
// Bandwidth. Addresses hash evenly over the slices, so the slices of one partition are
// symmetric and serve as one server of (slices / partitions) x bytes_per_cycle_per_slice; an
// SM's request splits evenly over the partitions, the near one answering after
// latency_near_cycles and the far one after latency_far_cycles:
//   done = max over partitions p of (max(now, free_p) + bytes / partitions / bw_p + latency_p)
// Misses (and write-backs of evicted dirty data) go to HBM (sim::Dram) as large sequential
// transfers from a few miss engines that keep several in flight; a request completes when its
// hits are served and its misses have arrived.
//
// Residency. LRU over segments of l2.segment_kib, kept across kernels, write-allocate. Data read
// by SMs of every partition is held in each (A100 whitepaper: each partition caches the data of
// the SMs attached to it), so the capacity read-shared data sees is l2.mib / partitions. At each
// kernel's start, for each buffer it reads:
//   misses = unique x (1 - resident share of it) + (total - unique) x spill
// where the resident share counts a segment only if it is still resident when the kernel's
// touches (its reads in argument order, each from the buffer's start) reach it: a buffer larger
// than the capacity left evicts its own resident tail first, as LRU does to a stream.
//   spill  = max(0, working - capacity) / working     (re-reads that find their data gone)
// where unique is the bytes the kernel touches, total what its CTAs request, and working the
// bytes one wave of CTAs re-reads (a GEMM's swizzled wave of tiles: the bands of A and B it
// touches; else the kernel's whole footprint). Then its buffers become most recently used (the
// written ones dirty), evicting the least recently used; evicted dirty segments are written back.
// `l2.initial: warm` starts from the steady state of back-to-back replays: what one untimed
// replay of the program's touches leaves (its dirty segments are written back when evicted).
#pragma once

#include <cstdint>
#include <deque>
#include <list>
#include <map>
#include <systemc>
#include <tlm>
#include <tlm_utils/multi_passthrough_target_socket.h>
#include <tlm_utils/simple_initiator_socket.h>
#include <unordered_map>
#include <vector>

#include "isa/gpu/gpu_program.h"
#include "sim/runtime/simulation_context.h"

namespace xpusim::models::gpu {

using isa::gpu::GpuProgram;
using isa::gpu::Kernel;

/// What one SM request carries (a TLM extension on the payload): bytes read and written, and the
/// share of the reads that misses.
struct L2Request : tlm::tlm_extension<L2Request> {
    uint64_t read_bytes = 0, write_bytes = 0;
    double miss_fraction = 0;
    tlm::tlm_extension_base* clone() const override { return new L2Request(*this); }
    void copy_from(const tlm::tlm_extension_base& e) override {
        *this = static_cast<const L2Request&>(e);
    }
};

/// A kernel's L2 outcome, for its stats row.
struct KernelL2 {
    uint64_t requested = 0, misses = 0, writebacks = 0;
    double miss_fraction = 0;  // of its read bytes
};

class L2Cache : public sc_core::sc_module, public sim::MemoryCounters {
  public:
    tlm_utils::multi_passthrough_target_socket<L2Cache> socket;  // from the SMs
    tlm_utils::simple_initiator_socket<L2Cache> hbm;             // to sim::Dram

    L2Cache(sc_core::sc_module_name name, const GpuProgram& program);

    /// @brief Plans kernel `k` against the residency and returns its miss share; queues the
    /// write-backs its evictions cause. Call when the kernel launches, in stream order.
    KernelL2 begin_kernel(const Kernel& k);

    std::string instance_name() const override { return "l2"; }
    sim::MemoryReport memory_report() const override;

  private:
    struct Segment {
        int buffer;
        uint64_t index;
    };
    struct MissJob {
        uint64_t bytes;
        bool write;
        sc_core::sc_event* done;  // null: a write-back nobody waits for
        uint64_t* left;
    };
    void b_transport(int id, tlm::tlm_generic_payload& p, sc_core::sc_time& delay);
    void miss_engine();
    void enqueue_miss(uint64_t bytes, bool write, sc_core::sc_event* done, uint64_t* left);
    int root(int buffer) const;
    uint64_t segments_of(uint64_t bytes) const;
    struct Touch {
        uint64_t segments = 0, hits = 0;  // of the buffer's first `bytes`, those found resident
        uint64_t evicted_dirty = 0;       // bytes to write back
    };
    // Brings a buffer's first `bytes` to the front of the LRU, segment by segment from its start.
    Touch touch(int buffer, uint64_t bytes, bool dirty);
    // A kernel's reads in argument order, then its writes (dirty); returns the dirty bytes
    // evicted and, per read argument, the share of its segments that were resident.
    uint64_t touch_arguments(const Kernel& k, std::vector<double>* read_hit_share = nullptr);
    uint64_t key(int buffer, uint64_t index) const { return (static_cast<uint64_t>(buffer) << 40) | index; }

    const GpuProgram& m_program;
    double m_cycle_ns;
    uint64_t m_segment_bytes, m_capacity_segments;
    std::vector<double> m_free_ns;  // per partition
    double m_partition_bytes_per_ns;
    std::vector<double> m_latency_ns;  // per partition
    // LRU: most recent at the front; the map finds a segment's place and whether it is dirty.
    std::list<uint64_t> m_lru;
    struct Entry {
        std::list<uint64_t>::iterator at;
        bool dirty;
    };
    std::unordered_map<uint64_t, Entry> m_resident;
    std::deque<MissJob> m_misses;
    sc_core::sc_event m_miss_queued;
    uint64_t m_next_address[2] = {0, 0};  // sequential streams for reads and writes
    uint64_t m_hbm_capacity;
    // counters
    uint64_t m_hit_bytes = 0, m_miss_bytes = 0, m_write_bytes = 0, m_writeback_bytes = 0;
    double m_busy_ns = 0;
};

}  // namespace xpusim::models::gpu
