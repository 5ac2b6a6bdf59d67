// One SM as a SystemC process. Time advances per CTA phase, never per thread: the CTAs a
// kernel places on this SM run in batches of its occupancy, and identical batches merge into
// one run, so the events grow with SMs x phases, not with the grid.
//
// A CTA's cost comes from its instruction stream (isa/gpu/gpu_program.h), per block (prologue,
// loop body, epilogue), as demands on the SM's shared rates and as latencies:
//   throughput(c) = max over units u of c x demand_u / rate_u     (c co-resident CTAs share them)
//   units: tensor cores (m n k / fma_per_cycle[dtype], at the tensor clock), FP32 lanes, INT
//   lanes, SFU, shuffles, shared memory (bytes / smem_bytes_per_cycle), issue (warp
//   instructions / min(issue_per_cycle, c x warps per CTA): a warp issues at most one per
//   cycle); latencies: barriers, the MMA completion tail.
// A batch of c CTAs takes, with I loop iterations,
//   T = throughput_pro(c) + latency_pro + fill + I x throughput_body(c) + throughput_epi(c)
//       + latency_epi,   fill = the first stage's load latency (L2 hit, or HBM on a miss)
// against the memory side: the batch's global bytes go to the L2 as TLM transactions (a few
// chunks per run, so contention with other SMs shows), no faster than Little's law lets
// min(sm.bytes_in_flight, c x the CTA's bytes in flight) bytes outstanding over the latency.
// Each chunk lasts the longer of its compute share and its memory time. A run of r identical
// batches pays the latencies and fill r times, once when the kernel is persistent (its CTAs
// prefetch the next tile under the current epilogue).
#pragma once

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <vector>

#include "isa/gpu/gpu_program.h"
#include "models/gpu/gpu_l2.h"

namespace xpusim::models::gpu {

/// The per-CTA demands of one block of a kernel's CTA program (SM cycles at full rates).
struct BlockCost {
    double tensor = 0, fp32 = 0, alu = 0, sfu = 0, shfl = 0, smem = 0, issue = 0;
    double latency = 0;  // barriers and MMA tails: paid once per batch, not shared
    double warps = 1, issue_per_cycle = 4;  // issue is in warp instructions, at most one per warp per cycle
    uint64_t read_bytes = 0, write_bytes = 0;
    /// @brief Cycles c co-resident CTAs take on the shared rates.
    double throughput(double c) const;
};

struct KernelCost {
    BlockCost prologue, body, epilogue;
    int64_t iterations = 0;
    int64_t occupancy = 0;        // CTAs per SM
    uint64_t read_bytes = 0, write_bytes = 0;  // per CTA, all blocks
    double tensor_fmas = 0, simt_fmas = 0, smem_bytes = 0;  // per CTA, for energy
};

/// @brief The costs of kernel `k` on `spec`'s SM (occupancy included; 0 means it cannot fit).
KernelCost kernel_cost(const isa::gpu::GpuSpec& spec, const isa::gpu::Kernel& k);
/// @brief Resident CTAs per SM: the minimum over threads, warps, registers (allocated per warp
/// in sm.register_granule), shared memory (plus sm.smem_per_cta_reserved) and sm.max_ctas.
int64_t occupancy(const isa::gpu::GpuSpec& spec, const isa::gpu::Kernel& k);

/// Work the dispatcher gives one SM for one kernel.
struct SmWork {
    int kernel = -1;
    int64_t ctas = 0;
    double miss_fraction = 0;
    friend std::ostream& operator<<(std::ostream& os, const SmWork& w) {
        return os << "kernel " << w.kernel << " x" << w.ctas;
    }
    bool operator==(const SmWork& o) const { return kernel == o.kernel && ctas == o.ctas; }
};

/// What an SM did during one kernel, for the trace and the stats.
struct SmSpan {
    int kernel;
    double start_ns, end_ns;
};

class Sm : public sc_core::sc_module {
  public:
    SC_HAS_PROCESS(Sm);
    tlm_utils::simple_initiator_socket<Sm> l2;

    Sm(sc_core::sc_module_name name, int index, const GpuProgram& program,
       const std::vector<KernelCost>& costs, sc_core::sc_fifo<SmWork>& work, sc_core::sc_event& done,
       int& busy_count);

    std::vector<SmSpan> spans;

  private:
    void run();
    void run_kernel(const SmWork& w);
    void batches(const isa::gpu::Kernel& k, const KernelCost& c, double ctas, int64_t repeats,
                 double miss_fraction);

    int m_index;
    const GpuProgram& m_program;
    const std::vector<KernelCost>& m_costs;
    sc_core::sc_fifo<SmWork>& m_work;
    sc_core::sc_event& m_done;
    int& m_busy;
};

}  // namespace xpusim::models::gpu
