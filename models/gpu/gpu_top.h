// The GPU as a SystemC top module: it creates and wires the parts.
//
//   launcher --(per kernel: L2 plan, CTAs per SM)--> SM i work FIFO (bounded) --> SM i
//   SM i --TLM--> L2 (partition servers, residency) --TLM--> HBM (sim::Dram)
//
// The launcher walks the kernels in stream order: after the previous kernel has finished (the
// first kernel too) it waits launch.gap_us (the gap a CUDA-graph replay shows; plus launch.host_overhead_us before
// each node's first kernel in eager mode), plans the kernel's L2 hits and misses, and deals its
// CTAs to the SMs round-robin (SM i gets ceil or floor of grid / sm.count), so waves and tails
// come out of the SMs' batches (133 CTAs of occupancy 1 on 132 SMs: SM 0 runs two). A host op
// runs on the host: its inputs cross the link, the host computes (HostSpec::op_seconds), the
// outputs cross back.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <systemc>
#include <vector>

#include "models/gpu/gpu_l2.h"
#include "models/gpu/gpu_sm.h"
#include "sim/memory/dram.h"

namespace xpusim::models::gpu {

/// What happened to one kernel, for its stats row.
struct KernelRecord {
    double start_ns = 0, end_ns = 0;
    int64_t occupancy = 0, waves = 0, sms_used = 0;
    KernelL2 l2;
};

class GpuTop : public sc_core::sc_module {
  public:
    SC_HAS_PROCESS(GpuTop);
    /// @brief `on_kernel_done(k)` runs at each kernel's end (the numbers, in a full run).
    GpuTop(sc_core::sc_module_name name, const GpuProgram& program, std::function<void(int)> on_kernel_done);

    const GpuProgram& program;
    std::vector<KernelCost> costs;
    std::vector<KernelRecord> records;
    std::vector<Sm*> sms;
    L2Cache* l2;
    sim::Dram* hbm;
    double end_ns = 0;

  private:
    void launcher();
    void run_host_call(const isa::gpu::Kernel& k);

    std::function<void(int)> m_on_done;
    std::vector<std::unique_ptr<sc_core::sc_fifo<SmWork>>> m_work;
    sc_core::sc_event m_kernel_done;
    int m_busy = 0;
};

}  // namespace xpusim::models::gpu
