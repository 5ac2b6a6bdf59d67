// The GPU's architectural parameters, parsed once per run: a SIMT GPU with tensor cores (A100,
// H100, H200). The lowering (kernel templates, tiles, precision) and the model (occupancy, SM
// rates, L2, HBM) read this struct; the Program carries it. Each field is declared once in
// visit(). Defaults are H100 SXM's; the presets in configs/gpu/ give every number's source.
#pragma once

#include <cstdint>
#include <string>

#include "sim/config/config.h"
#include "sim/energy/energy.h"
#include "sim/memory/dram_spec.h"
#include "sim/runtime/host.h"
#include "sim/tensor/quant_spec.h"

namespace xpusim::isa::gpu {

/// The dtype a model runs in (like `model.half()`): weights and activations are cast to it.
enum class Precision { Fp32, Tf32, Fp16, Bf16, Int8, Fp8 };
const char* precision_name(Precision p);
/// @brief Bytes of one element stored in `p` (tf32 is stored as fp32).
int64_t precision_bytes(Precision p);

/// Which GEMM kernels the architecture's libraries launch.
enum class Arch { Ampere, Hopper };

/// One SM; the four sub-partitions fold into per-SM rates.
struct SmSpec {
    int64_t count = 132;
    int64_t max_threads = 2048;
    int64_t max_warps = 64;
    int64_t max_ctas = 32;
    int64_t registers = 65536;       // 32-bit registers
    int64_t register_granule = 256;  // registers allocated per warp in multiples of this
    int64_t smem_kib = 228;          // shared memory an SM can give its CTAs
    int64_t smem_per_cta_reserved = 1024;  // bytes the driver reserves per resident CTA
    int64_t fp32_lanes = 128;        // FP32 FMAs per cycle
    double fp32_clock_mhz = 0;       // the clock FP32 SIMT work sustains (power-limited); 0: clock_mhz
    int64_t int_lanes = 64;          // INT32 ops per cycle
    int64_t sfu_per_cycle = 16;      // transcendental ops per cycle
    int64_t issue_per_cycle = 4;     // warp instructions issued per cycle (4 schedulers)
    int64_t smem_bytes_per_cycle = 128;
    int64_t bytes_in_flight = 49152;  // outstanding global-memory bytes an SM can track
    int64_t smem_latency_cycles = 29;
    int64_t barrier_cycles = 30;     // bar.sync / mbarrier release
    int64_t cta_launch_cycles = 0;   // dispatching one CTA to an SM

    template <class V>
    void visit(V& v) {
        v.field("count", count, "SMs", "streaming multiprocessors", {1, 1024});
        v.field("max_threads", max_threads, "threads", "resident threads per SM", {32, 1 << 16});
        v.field("max_warps", max_warps, "warps", "resident warps per SM", {1, 1024});
        v.field("max_ctas", max_ctas, "CTAs", "resident CTAs per SM", {1, 1024});
        v.field("registers", registers, "regs", "32-bit registers per SM", {1024, 1 << 24});
        v.field("register_granule", register_granule, "regs",
                "registers are allocated per warp in multiples of this", {1, 4096});
        v.field("smem_kib", smem_kib, "KiB", "shared memory per SM available to CTAs", {0, 1 << 20});
        v.field("smem_per_cta_reserved", smem_per_cta_reserved, "B",
                "shared memory the driver reserves per resident CTA", {0, 1 << 20});
        v.field("fp32_lanes", fp32_lanes, "FMA/cycle", "FP32 FMAs per SM per cycle", {1, 1 << 16});
        v.field("fp32_clock_mhz", fp32_clock_mhz, "MHz",
                "clock FP32 SIMT work sustains: FFMAs take their lanes and issue slots at it (0: clock_mhz)",
                {0, 10000});
        v.field("int_lanes", int_lanes, "ops/cycle", "INT32 operations per SM per cycle", {1, 1 << 16});
        v.field("sfu_per_cycle", sfu_per_cycle, "ops/cycle", "special-function ops per SM per cycle",
                {1, 1 << 16});
        v.field("issue_per_cycle", issue_per_cycle, "instr/cycle", "warp instructions issued per SM per cycle",
                {1, 64});
        v.field("smem_bytes_per_cycle", smem_bytes_per_cycle, "B/cycle", "shared-memory bandwidth per SM",
                {1, 1 << 16});
        v.field("bytes_in_flight", bytes_in_flight, "B",
                "global-memory bytes an SM keeps outstanding at most (Little's law)", {1024, 1 << 30});
        v.field("smem_latency_cycles", smem_latency_cycles, "cycles", "shared-memory load latency", {0, 1e5});
        v.field("barrier_cycles", barrier_cycles, "cycles", "CTA barrier / mbarrier release", {0, 1e5});
        v.field("cta_launch_cycles", cta_launch_cycles, "cycles", "dispatching one CTA to an SM", {0, 1e6});
    }
    uint64_t smem_bytes() const { return static_cast<uint64_t>(smem_kib) * 1024; }
};

/// Dense tensor-core FMAs per SM per cycle by operand dtype (0: the dtype has no MMA).
struct TensorRates {
    int64_t fp16 = 2048, bf16 = 2048, tf32 = 1024, int8 = 4096, fp8 = 4096;

    template <class V>
    void visit(V& v) {
        v.field("fp16", fp16, "FMA/cycle", "dense fp16 tensor FMAs per SM per cycle", {0, 1 << 20});
        v.field("bf16", bf16, "FMA/cycle", "dense bf16 tensor FMAs per SM per cycle", {0, 1 << 20});
        v.field("tf32", tf32, "FMA/cycle", "dense tf32 tensor FMAs per SM per cycle", {0, 1 << 20});
        v.field("int8", int8, "MAC/cycle", "dense int8 tensor MACs per SM per cycle", {0, 1 << 20});
        v.field("fp8", fp8, "FMA/cycle", "dense fp8 tensor FMAs per SM per cycle (0: none)", {0, 1 << 20});
    }
};

/// Tensor cores: their rates, the clock they sustain and an MMA's completion tail.
struct TensorSpec {
    TensorRates fma_per_cycle;
    double clock_mhz = 1830;  // the clock tensor-core work sustains (power-limited below boost)
    int64_t mma_latency_cycles = 66;  // a (w)gmma's completion tail after its last issue

    template <class V>
    void visit(V& v) {
        v.group("fma_per_cycle", fma_per_cycle);
        v.field("clock_mhz", clock_mhz, "MHz", "clock tensor-core work sustains", {1, 10000});
        v.field("mma_latency_cycles", mma_latency_cycles, "cycles", "an MMA's completion tail", {0, 1e5});
    }
    /// @brief FMAs per SM per cycle for operands of `p` (fp32: 0, SIMT only).
    int64_t rate(Precision p) const;
};

/// The L2: slices serving bytes, two partitions on Hopper (near and far), LRU residency.
struct L2Spec {
    double mib = 50;
    int64_t slices = 80;
    int64_t partitions = 2;
    double bytes_per_cycle_per_slice = 64;  // at the SM clock
    int64_t latency_near_cycles = 262;
    int64_t latency_far_cycles = 412;
    int64_t segment_kib = 256;  // residency granule of the LRU
    std::string initial = "warm";

    template <class V>
    void visit(V& v) {
        v.field("mib", mib, "MiB", "L2 capacity", {0.0625, 1 << 20});
        v.field("slices", slices, "", "L2 slices, each a bandwidth server", {1, 4096});
        v.field("partitions", partitions, "", "L2 partitions (read-shared data is held in each)", {1, 16});
        v.field("bytes_per_cycle_per_slice", bytes_per_cycle_per_slice, "B/cycle",
                "bytes one slice serves per SM cycle", {1, 4096});
        v.field("latency_near_cycles", latency_near_cycles, "cycles", "L2 hit latency, near partition",
                {0, 1e5});
        v.field("latency_far_cycles", latency_far_cycles, "cycles", "L2 hit latency, far partition", {0, 1e5});
        v.field("segment_kib", segment_kib, "KiB", "granule of the LRU residency model", {1, 1 << 20});
        v.text("initial", initial,
               "L2 at the start: cold (empty) or warm (the steady state of back-to-back replays: what one replay of the program leaves, dirty data included)",
               {"cold", "warm"});
    }
    uint64_t bytes() const { return static_cast<uint64_t>(mib * 1024 * 1024); }
};

struct LaunchSpec {
    double gap_us = 1.0;            // between dependent kernels in a CUDA-graph replay
    double host_overhead_us = 0.0;  // per op on the host (eager mode); 0: graph replay

    template <class V>
    void visit(V& v) {
        v.field("gap_us", gap_us, "us", "gap between consecutive kernels (CUDA-graph replay)", {0, 1e6});
        v.field("host_overhead_us", host_overhead_us, "us",
                "host time per op before its kernels launch (eager mode; 0 = graph replay)", {0, 1e6});
    }
};

struct KernelsSpec {
    std::string profile = "pytorch_eager";  // pytorch_eager | fused
    std::string layout = "nchw";            // nchw | nhwc (pytorch_eager only)

    template <class V>
    void visit(V& v) {
        v.text("profile", profile,
               "which kernels a graph becomes: pytorch_eager (the kernels PyTorch launches: one per node, "
               "BatchNorm unfolded, but one per exported decomposition of one PyTorch op: Linear's bias, "
               "erf GELU, scaled_dot_product_attention) or fused (TensorRT-like)",
               {"pytorch_eager", "fused"});
        v.text("layout", layout,
               "activation layout in pytorch_eager: nchw (cuDNN transposes around tensor-core convs) or "
               "nhwc (channels-last)",
               {"nchw", "nhwc"});
    }
};

/// Energy per event (pJ) on top of the prices every target has (dram_byte_pj is HBM's).
struct GpuEnergy : sim::EnergyCommon {
    double fma_fp32_pj = 1.0, fma_fp16_pj = 0.5, fma_tf32_pj = 0.7, fma_int8_pj = 0.25,
           fma_fp8_pj = 0.25;
    double register_byte_pj = 0.02, smem_byte_pj = 0.1, l2_byte_pj = 0.5;

    GpuEnergy() {
        static_w = 100;
        dram_byte_pj = 32;
    }
    template <class V>
    void visit(V& v) {
        v.field("fma_fp32_pj", fma_fp32_pj, "pJ", "one FP32 FMA on the SIMT lanes", {0, 1e6});
        v.field("fma_fp16_pj", fma_fp16_pj, "pJ", "one fp16/bf16 tensor FMA", {0, 1e6});
        v.field("fma_tf32_pj", fma_tf32_pj, "pJ", "one tf32 tensor FMA", {0, 1e6});
        v.field("fma_int8_pj", fma_int8_pj, "pJ", "one int8 tensor MAC", {0, 1e6});
        v.field("fma_fp8_pj", fma_fp8_pj, "pJ", "one fp8 tensor FMA", {0, 1e6});
        v.field("register_byte_pj", register_byte_pj, "pJ", "one byte of register-file traffic", {0, 1e6});
        v.field("smem_byte_pj", smem_byte_pj, "pJ", "one byte read or written in shared memory", {0, 1e6});
        v.field("l2_byte_pj", l2_byte_pj, "pJ", "one byte served by the L2", {0, 1e6});
        EnergyCommon::visit(v);
    }
};

struct GpuSpec {
    double clock_mhz = 1980;  // SM clock for SIMT work
    Arch arch = Arch::Hopper;
    Precision precision = Precision::Fp32;
    SmSpec sm;
    TensorSpec tensor;
    L2Spec l2;
    sim::DramSpec hbm;
    LaunchSpec launch;
    KernelsSpec kernels;
    sim::HostSpec host;
    sim::QuantSpec quant;
    GpuEnergy energy;

    template <class V>
    void visit(V& v) {
        v.field("clock_mhz", clock_mhz, "MHz", "SM clock (SIMT work, L2, latencies)", {1, 10000});
        v.choice("arch", arch, "architecture: which GEMM kernels its libraries launch",
                 {{Arch::Ampere, "ampere"}, {Arch::Hopper, "hopper"}});
        v.choice("precision", precision, "dtype the model runs in (weights and activations cast to it)",
                 {{Precision::Fp32, "fp32"},
                  {Precision::Tf32, "tf32"},
                  {Precision::Fp16, "fp16"},
                  {Precision::Bf16, "bf16"},
                  {Precision::Int8, "int8"},
                  {Precision::Fp8, "fp8"}});
        v.group("sm", sm);
        v.group("tensor", tensor);
        v.group("l2", l2);
        v.group("hbm", hbm);
        v.group("launch", launch);
        v.group("kernels", kernels);
        v.group("host", host);
        v.group("quant", quant);
        v.group("energy", energy);
    }
    void validate(const sim::config::Config& config) const;

    double clock_hz() const { return clock_mhz * 1e6; }
    double cycle_ns() const { return 1e3 / clock_mhz; }
    /// @brief The clock FFMAs run at: sm.fp32_clock_mhz, or the SM clock when that is 0.
    double fp32_clock_mhz() const { return sm.fp32_clock_mhz > 0 ? sm.fp32_clock_mhz : clock_mhz; }
    bool fused() const { return kernels.profile == "fused"; }
    /// @brief Whether activations sit channels-last (fused profile, or nhwc eager).
    bool nhwc() const { return fused() || kernels.layout == "nhwc"; }
};

}  // namespace xpusim::isa::gpu
