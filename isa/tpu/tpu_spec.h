// The TPU's architectural parameters, parsed once from the config. Both the lowering (tiling,
// placement, quantization) and the model (timing, capacities) read this struct, so neither
// includes the other. Defaults are TPU v1's (Jouppi et al., ISCA 2017); the presets in
// configs/tpu/ give every number's source.
#pragma once

#include <cstdint>
#include <string>

#include "sim/config/config.h"
#include "sim/memory/dram.h"
#include "sim/runtime/host.h"

namespace xpusim::isa::tpu {

enum class MxuPrecision { Int8, BFloat16 };

struct TpuSpec {
    double clock_mhz = 700;

    // Matrix units: `count` weight-stationary arrays of rows x cols MACs each.
    int64_t mxu_rows = 256, mxu_cols = 256, mxu_count = 1;
    MxuPrecision precision = MxuPrecision::Int8;
    bool weight_double_buffer = true;  // a shadow weight tile shifts in while the array computes
    int64_t weight_fifo_tiles = 4;     // tiles queued between weight memory and each MXU
    int64_t accumulator_rows = 4096;   // rows of cols 32-bit accumulators per MXU

    // Unified Buffer (v1) / vector memory (v4i): activations.
    int64_t ub_kib = 24 * 1024;
    int64_t ub_bytes_per_cycle = 256;  // internal datapath width

    // Activation pipeline (drains accumulators) and vector unit (element-wise, pooling, softmax,
    // layernorm, data movement).
    int64_t activate_elements_per_cycle = 256;
    int64_t vector_lanes = 256;
    int64_t vector_ops_per_lane = 1;
    int64_t vector_latency_cycles = 16;

    // Where weights stream from: off-chip memory, or the on-chip common memory (v4i CMEM) when
    // they fit there.
    sim::DramSpec dram;
    int64_t cmem_kib = 0;
    double cmem_bandwidth_gbps = 0;
    int64_t instruction_issue_cycles = 1;

    sim::HostSpec host;

    // Quantization (int8 MXUs): weight scales per output channel or per tensor; activation
    // ranges from min/max or a percentile of |x| over the run's inputs.
    bool quant_per_channel = true;
    std::string calibration = "minmax";
    double calibration_percentile = 99.99;

    // Energy per event (pJ) and static power (W).
    double mac_pj = 0.2;
    double ub_byte_pj = 0.3;
    double accumulator_byte_pj = 0.3;
    double dram_byte_pj = 20;
    double cmem_byte_pj = 1.0;
    double host_link_byte_pj = 10;
    double vector_op_pj = 0.5;
    double static_watts = 28;

    double clock_hz() const { return clock_mhz * 1e6; }
    int64_t element_bytes() const { return precision == MxuPrecision::Int8 ? 1 : 2; }
    /// @brief Cycles (rounded up) for `seconds` at this clock.
    uint64_t cycles(double seconds) const;

    static TpuSpec from_config(const sim::config::Config& config);
};

}  // namespace xpusim::isa::tpu
