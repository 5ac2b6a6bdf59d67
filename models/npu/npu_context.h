// State one NPU run shares between its SystemC units: the program and Spec, the DRAM contents,
// which surfaces have been written (and when), the per-layer numeric intermediates, and the
// per-descriptor statistics. Owned by NpuTop; the units hold a reference. Only units touch it,
// from their SC_THREADs, so no locking is needed (one kernel, one OS thread).
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <systemc>
#include <vector>

#include "isa/npu/program.h"
#include "models/npu/conv_plan.h"
#include "models/npu/npu_memory.h"
#include "sim/memory/dma.h"

namespace xpusim::models::npu {

using isa::npu::Descriptor;
using sc_core::sc_time;

/// What flows between pipeline units through the bounded FIFOs: one work item of a layer.
struct PipeItem {
    int32_t desc = -1;
    int64_t index = 0;
    uint64_t elems = 0;      // output elements of the item
    uint64_t out_bytes = 0;  // bytes it will occupy in the output surface
    bool last = false;
    std::vector<sim::DmaHandle> reads;  // read DMA tickets: the item's data has arrived when done
};
std::ostream& operator<<(std::ostream& os, const PipeItem& item);

/// A queue of descriptor ids for one unit thread, filled by the sequencer (never bounded: the
/// ping-pong register groups bound how far ahead the sequencer runs).
class IdQueue {
  public:
    void push(int32_t id) {
        m_ids.push_back(id);
        m_event.notify(sc_core::SC_ZERO_TIME);
    }
    int32_t pop() {
        while (m_ids.empty()) sc_core::wait(m_event);
        const int32_t id = m_ids.front();
        m_ids.pop_front();
        return id;
    }

  private:
    std::deque<int32_t> m_ids;
    sc_core::sc_event m_event;
};

/// Statistics of one descriptor (one hardware layer on one unit).
struct DescStats {
    double start_ns = -1, end_ns = -1;
    uint64_t busy_cycles = 0;  // the unit's compute cycles (CMAC for a conv)
    uint64_t macs = 0;
    uint64_t atomic_cycles = 0;  // CMAC cycles including partly used atomic ops
    double stall_data_ns = 0, stall_weight_ns = 0, stall_output_ns = 0, stall_input_ns = 0;
    double stall_dependency_ns = 0;
    uint64_t cbuf_bytes = 0;
    bool done = false;
    void touch(double t_ns) {
        if (start_ns < 0 || t_ns < start_ns) start_ns = t_ns;
        end_ns = std::max(end_ns, t_ns);
    }
};

/// One complete event for the trace: unit track, [start, end) in ns, a name and details.
struct TraceEvent {
    std::string track;
    std::string name;
    double start_ns = 0, end_ns = 0;
    int32_t desc = -1;
};

class NpuContext {
  public:
    /// @brief The chip's parameters are the Spec the program carries.
    NpuContext(const isa::npu::NpuProgram& program, bool timing_only);

    const isa::npu::NpuProgram& program;
    const isa::npu::NpuSpec& spec;  // == program.spec
    const bool timing_only;
    NpuMemory memory;

    const Descriptor& desc(int32_t id) const {
        return program.descriptors.at(static_cast<std::size_t>(id));
    }
    /// @brief The conv plan of a conv descriptor (built on first use).
    const ConvPlan& conv_plan(int32_t id);
    /// @brief The descriptor fused downstream of `id` (source == id), or -1.
    int32_t downstream(int32_t id) const { return m_downstream.at(static_cast<std::size_t>(id)); }

    sc_time cycles(double n) const { return sc_time(n * spec.cycle_ns(), sc_core::SC_NS); }
    static double now_ns() { return sc_core::sc_time_stamp().to_seconds() * 1e9; }

    /// @brief Waits until every byte of surface `id` has been written, plus the interrupt-to-
    /// enable latency when another layer wrote it; the wait counts as a dependency stall of `desc`.
    void wait_ready(int32_t surface, int32_t desc);
    /// @brief Marks surface `id` written now.
    void mark_ready(int32_t surface);

    DescStats& stats(int32_t id) { return m_stats.at(static_cast<std::size_t>(id)); }
    const std::vector<DescStats>& all_stats() const { return m_stats; }
    void trace(const std::string& track, const std::string& name, double start_ns, double end_ns,
               int32_t desc) {
        m_trace.push_back({track, name, start_ns, end_ns, desc});
    }
    const std::vector<TraceEvent>& trace_events() const { return m_trace; }

    /// Numeric intermediates handed along a fused chain (CMAC accumulators, SDP output for PDP).
    std::map<int32_t, sim::Tensor> intermediate;

  private:
    std::vector<int32_t> leaves(int32_t surface) const;

    std::vector<int32_t> m_downstream;
    std::vector<std::unique_ptr<ConvPlan>> m_plans;
    std::vector<char> m_ready;
    std::vector<double> m_ready_ns;
    std::vector<char> m_external;  // written before the run (inputs, constants)
    std::vector<std::unique_ptr<sc_core::sc_event>> m_events;
    std::vector<std::vector<int32_t>> m_slices;  // parent -> slice surfaces
    std::vector<DescStats> m_stats;
    std::vector<TraceEvent> m_trace;
};

}  // namespace xpusim::models::npu
