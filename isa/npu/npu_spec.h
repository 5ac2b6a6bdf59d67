// The architectural parameters of an NVDLA-style NPU, parsed once from the config (Timeloop's
// two phases: YAML -> Spec -> model). Both the lowering (tiling, quantization, placement) and
// the SystemC model (timing) read this Spec, so neither includes the other. The schema that
// validates `target: npu` configs is registered from npu_spec.cpp.
#pragma once

#include <cstdint>
#include <string>

#include "sim/config/config.h"
#include "sim/memory/dram.h"
#include "sim/runtime/host.h"

namespace xpusim::isa::npu {

/// Numeric mode of the convolution pipeline for a whole program.
enum class Precision { Int8, Fp16 };
const char* precision_name(Precision p);
inline int64_t precision_bytes(Precision p) {
    return p == Precision::Fp16 ? 2 : 1;
}
Precision precision_from_name(const std::string& name);

struct ConvSpec {
    int64_t atomic_c = 64;            // input channels per atomic op (MAC cell width), int8
    int64_t atomic_k = 32;            // kernels per atomic op (MAC cells x 2 for int8)
    int64_t max_stripe = 32;          // atomic ops per stripe, bounded by the CACC buffer
    int64_t weight_read_bytes = 128;  // CBUF -> CSC weight bytes per cycle
    bool image_input = true;          // pixel-format first layer with channel pre/post-extension
    bool winograd = false;            // 3x3 stride-1 convolutions in Winograd mode (timing only)
    bool fp16 = true;                 // fp16 datapath at half the int8 MAC rate
    /// Kernels per atomic op in the given precision (fp16/int16 pair two int8 multipliers).
    int64_t kernels_per_atomic(Precision p) const {
        return p == Precision::Fp16 ? atomic_k / 2 : atomic_k;
    }
    /// Cycles the CSC needs to load the next stripe's weights into the MAC cells:
    /// ceil(atomic_c * kernels_per_atomic * bytes_per_weight / weight_read_bytes). A stripe
    /// shorter than this cannot hide the load (NVDLA: at least 16 atomics for 2048 int8 MACs).
    int64_t weight_load_cycles(Precision p) const;
};

struct CbufSpec {
    int64_t kib = 512;
    int64_t banks = 16;
    uint64_t bytes() const { return static_cast<uint64_t>(kib) * 1024; }
    uint64_t bank_bytes() const { return bytes() / static_cast<uint64_t>(banks); }
};

struct PostSpec {
    int64_t sdp_throughput = 16;     // SDP bias/BN/ALU outputs per cycle (NVDLA_SDP_BS_THROUGHPUT)
    bool sdp_lut = true;             // SDP Y stage lookup table (sigmoid, tanh, ...)
    int64_t sdp_lut_throughput = 4;  // Y stage outputs per cycle (NVDLA_SDP_EW_THROUGHPUT)
    bool sdp_eltwise = true;         // element-wise operand read by SDP RDMA
    int64_t sdp_max_stages = 3;      // X1, X2, Y
    bool pdp = true;
    int64_t pdp_throughput = 8;
    bool cdp = true;
    int64_t cdp_throughput = 8;
    bool bdma = true;
    int64_t bdma_bytes_per_cycle = 64;
};

struct DmaSpec {
    int64_t width_bytes = 64;  // memory interface data width (bytes per cycle per engine)
    int64_t latency_tolerance_cycles = 1200;  // outstanding window = width * tolerance bytes
    int64_t request_bytes = 4096;             // simulation granularity of DMA requests
    int64_t mcif_queue_bytes = 8192;  // DRAM work the controller accepts ahead; MCIF holds the rest
    int64_t atom_bytes = 32;          // NVDLA_MEMORY_ATOMIC_SIZE: surfaces pad C to this many bytes
    uint64_t window_bytes() const {
        return static_cast<uint64_t>(width_bytes) * static_cast<uint64_t>(latency_tolerance_cycles);
    }
};

struct SequencerSpec {
    int64_t program_cycles = 100;     // CSB writes of one register group
    int64_t dependency_cycles = 500;  // completion interrupt -> dependent layer enabled
};

struct EnergySpec {
    double mac_int8_pj = 0.23;
    double mac_fp16_pj = 1.5;
    double cbuf_byte_pj = 1.25;
    double sdp_op_pj = 0.5;
    double pdp_op_pj = 0.3;
    double cdp_op_pj = 2.0;
    double dram_byte_pj = 20.0;
    double host_link_byte_pj = 10.0;
    double static_w = 0.1;
};

struct QuantSpec {
    Precision precision = Precision::Int8;
    std::string calibration = "minmax";  // minmax | percentile
    double percentile = 99.99;
};

struct LowerSpec {
    bool fuse = true;  // CACC -> SDP -> PDP on the fly where the graph allows
};

struct NpuSpec {
    double clock_mhz = 1000;
    ConvSpec conv;
    CbufSpec cbuf;
    PostSpec post;
    DmaSpec dma;
    SequencerSpec sequencer;
    sim::DramSpec dram;
    sim::HostSpec host;
    EnergySpec energy;
    QuantSpec quant;
    LowerSpec lower;

    double clock_hz() const { return clock_mhz * 1e6; }
    double cycle_ns() const { return 1e3 / clock_mhz; }
    int64_t macs_per_cycle(Precision p) const { return conv.atomic_c * conv.kernels_per_atomic(p); }

    /// @brief Reads every `npu` parameter; ConfigError where values contradict each other
    /// (CBUF not a whole number of banks, fp16 asked of a chip without it, ...).
    static NpuSpec from_config(const sim::config::Config& config);
    /// @brief The schema registered under "npu" (also used by tests).
    static sim::config::Schema make_schema();
};

}  // namespace xpusim::isa::npu
