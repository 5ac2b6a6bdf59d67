// A GPU program: global buffers and the kernels a framework would launch, in stream order.
// A kernel is a template name and the ONNX nodes it serves, its grid and resources, its tile,
// and the instruction stream one CTA runs, in a small PTX/SASS-like set. Each instruction's
// cost on an SM (models/gpu/gpu_sm.h) is
//   ld/st.global, cp.async, tma.load/store, red.global   bytes through L2 / HBM (TLM)
//   ldmatrix, ld/st.shared                  bytes / sm.smem_bytes_per_cycle
//   mma.sync, wgmma (m, n, k)               m * n * k / tensor.fma_per_cycle[dtype]
//   ffma, alu, sfu, cvt, shfl (thread ops)  count / the unit's lanes
//   bar.sync, mbarrier                      sm.barrier_cycles each
// A SIMT thread op issues count / 32 warp instructions, every other instruction `count`; the SM
// issues sm.issue_per_cycle warp instructions per cycle, at most one per warp.
// A CTA runs a prologue, `iterations` of a loop body pipelined `stages` deep, and an epilogue.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "isa/gpu/gpu_spec.h"
#include "sim/runtime/host.h"
#include "sim/runtime/program.h"
#include "sim/tensor/tensor.h"

namespace xpusim::isa::gpu {

enum class Op {
    LdGlobal, StGlobal, CpAsync, TmaLoad, TmaStore, RedGlobal,  // global memory
    Ldmatrix, LdShared, StShared,                               // shared memory
    MmaSync, Wgmma,                                             // tensor cores
    Ffma, Alu, Sfu, Cvt, Shfl,                                  // SIMT lanes
    BarSync, Mbarrier                                           // synchronisation
};
const char* op_name(Op op);
bool is_global(Op op);
bool is_global_write(Op op);

struct Instr {
    Op op = Op::Ffma;
    int64_t count = 1;  // thread ops (SIMT), instructions (MMA, barriers) or transfers (memory)
    int64_t bytes = 0;  // per transfer (memory ops)
    int64_t m = 0, n = 0, k = 0;  // MMA shape
    int buffer = -1;              // global memory ops: the buffer read or written
};

/// What one CTA runs: a prologue, a loop of `iterations` bodies whose loads run `stages` ahead
/// of their use (a K-loop), and an epilogue. Warp-specialised kernels issue the loop's loads
/// from a producer warp group and its MMAs from consumers; the timing is the same pipeline.
struct CtaProgram {
    std::vector<Instr> prologue, body, epilogue;
    int64_t iterations = 0;
    int64_t stages = 1;
    bool warp_specialized = false;
};

/// A kernel's global traffic per buffer: the bytes it touches (its footprint in the L2) and
/// the bytes all its CTAs request (footprint plus re-reads), for the L2's hit/miss split.
/// far_bytes: of the re-reads, those a later wave makes, a wave's working set after the
/// buffer's last touch (only they can have spilled out of the L2; CTAs of one wave re-read
/// what their neighbours fetched moments before); -1: every re-read.
struct KernelArg {
    int buffer = -1;
    uint64_t unique_bytes = 0;
    uint64_t total_bytes = 0;
    bool write = false;
    int64_t far_bytes = -1;
};

struct Kernel {
    int id = 0;
    std::string name;                // template: "gemm_wgmma_tma", "elementwise", ...
    std::vector<std::string> nodes;  // ONNX nodes it serves
    int64_t grid = 1;                // CTAs
    int64_t cluster = 1;
    int64_t threads = 128;      // per CTA
    int64_t registers = 32;     // per thread
    int64_t smem_bytes = 0;     // per CTA
    int64_t tile_m = 0, tile_n = 0, tile_k = 0, split_k = 1;
    Precision dtype = Precision::Fp32;  // operand dtype of its MMAs / SIMT math
    bool persistent = false;    // CTAs loop over tiles: one prologue per resident CTA
    int64_t bytes_in_flight = 4096;  // global bytes one CTA keeps outstanding (its loads' depth)
    uint64_t working_set = 0;   // bytes one wave of CTAs re-reads (0: the whole footprint)
    double flops = 0;           // useful FLOPs (2 per FMA), for stats
    int host_call = -1;         // >= 0: not a kernel but an op the host runs (GpuProgram::host_calls)
    CtaProgram cta;
    std::vector<KernelArg> args;
};

struct GpuBuffer {
    int id = 0;
    std::string name;  // the ONNX value (or a workspace)
    sim::Shape shape;
    sim::DType dtype = sim::DType::Float32;  // as stored (the run's precision for activations)
    uint64_t bytes = 0;
    uint64_t address = 0;
    std::string kind = "act";  // input | weight | act | output | workspace
    int alias = -1;            // a view of another buffer's bytes
};

/// The numbers one kernel computes, on the run's values by ONNX value name (fp32 tensors holding
/// the precision's values); bound by the lowering, absent in a program read back from text.
using KernelFunction = std::function<void(std::map<std::string, sim::Tensor>& values)>;

class GpuProgram : public sim::Program {
  public:
    std::string target() const override { return "gpu"; }
    std::string to_asm() const override;
    /// @brief Reads the text form back (no kernel functions: it runs timing-only).
    static GpuProgram from_asm(const std::string& text);

    GpuSpec spec;
    std::vector<GpuBuffer> buffers;
    std::vector<Kernel> kernels;  // in stream order
    std::vector<sim::HostCall> host_calls;
    std::map<int, KernelFunction> functions;  // kernel id -> its numbers
    // Numbers no kernel computes (views: a reshape's values), run after kernel id (-1: first).
    std::map<int, std::vector<KernelFunction>> followups;
    // Values no later kernel or followup reads, by the kernel after which they may be freed
    // (numerics runs hold only the live values, as a caching allocator would).
    std::map<int, std::vector<std::string>> release_after;
    std::vector<std::string> graph_inputs, graph_outputs;
    std::vector<std::string> weights;  // constant values the program holds (for the L2's warm start)
    std::map<std::string, sim::Tensor> constants;  // weights in the run's precision (numerics runs)
};

}  // namespace xpusim::isa::gpu
