// The TPU's architectural parameters, parsed once per run from the config. Both the lowering
// (tiling, placement, quantization) and the model (timing, capacities) read this struct, so
// neither includes the other; the Program carries the Spec it was lowered for. Each field is
// declared once, in visit(), which drives the schema, the parse and the Program's text form
// (sim/config/fields.h). Defaults are TPU v1's (Jouppi et al., ISCA 2017); the presets in
// configs/tpu/ give every number's source.
#pragma once

#include <cstdint>
#include <string>

#include "sim/config/config.h"
#include "sim/energy/energy.h"
#include "sim/memory/dram.h"
#include "sim/runtime/host.h"
#include "sim/tensor/quant_spec.h"

namespace xpusim::isa::tpu {

enum class MxuPrecision { Int8, BFloat16 };

/// Matrix units: `count` weight-stationary arrays of rows x cols MACs each.
struct MxuSpec {
    int64_t rows = 256, cols = 256, count = 1;
    MxuPrecision precision = MxuPrecision::Int8;
    bool weight_double_buffer = true;  // a shadow weight tile shifts in while the array computes
    int64_t weight_fifo_tiles = 4;     // tiles queued between weight memory and each MXU
    int64_t weight_load_rows_per_cycle = 1;  // rows of a tile shifted into the array per cycle
    int64_t accumulator_rows = 4096;         // rows of cols 32-bit accumulators per MXU

    template <class V>
    void visit(V& v) {
        v.field("rows", rows, "PEs",
                "rows of each systolic array (the reduction dimension K maps here)", {1, 4096});
        v.field("cols", cols, "PEs", "columns of each systolic array (output channels N map here)",
                {1, 4096});
        v.field("count", count, "", "matrix units working in parallel on a layer's column tiles",
                {1, 64});
        v.choice("precision", precision,
                 "operand precision: int8 x int8 -> int32, or bf16 x bf16 -> fp32",
                 {{MxuPrecision::Int8, "int8"}, {MxuPrecision::BFloat16, "bf16"}});
        v.flag("weight_double_buffer", weight_double_buffer,
               "shift the next weight tile in while the array computes");
        v.field("weight_fifo_tiles", weight_fifo_tiles, "tiles",
                "depth of the weight FIFO in front of each MXU", {1, 64});
        v.field("weight_load_rows_per_cycle", weight_load_rows_per_cycle, "rows/cycle",
                "tile rows shifted from the FIFO into the array's weight registers per cycle",
                {1, 4096});
        v.field("accumulator_rows", accumulator_rows, "rows",
                "accumulator rows per MXU (each holds cols 32-bit sums)", {1, 1 << 20});
    }
};

/// Unified Buffer (v1) / vector memory (v4i): activations. It is `banks` equal address ranges,
/// each with `ports` ports of bytes_per_cycle; every access (MXU input rows, Activate results,
/// vector unit, DMA, host link) holds one port of each bank its buffer touches for
/// ceil(bytes / bytes_per_cycle) cycles, so concurrent accesses beyond the ports wait.
struct UnifiedBufferSpec {
    int64_t kib = 24 * 1024;
    int64_t bytes_per_cycle = 256;  // width of one port
    int64_t banks = 1;
    int64_t ports = 2;

    template <class V>
    void visit(V& v) {
        v.field("kib", kib, "KiB", "unified buffer / vector memory for activations",
                {1, double(int64_t{1} << 30)});
        v.field("bytes_per_cycle", bytes_per_cycle, "B/cycle", "width of one unified buffer port",
                {1, 1 << 20});
        v.field("banks", banks, "", "banks: equal address ranges, each with its own ports",
                {1, 4096});
        v.field("ports", ports, "", "ports per bank (accesses beyond them wait)", {1, 64});
    }
    uint64_t bytes() const { return static_cast<uint64_t>(kib) * 1024; }
};

/// The activation pipeline that drains the accumulators.
struct ActivateSpec {
    int64_t elements_per_cycle = 256;

    template <class V>
    void visit(V& v) {
        v.field("elements_per_cycle", elements_per_cycle, "elements/cycle",
                "accumulator values the activation pipeline drains per cycle", {1, 1 << 20});
    }
};

/// The vector unit: element-wise, pooling, softmax, layernorm, data movement.
struct VectorSpec {
    int64_t lanes = 256;
    int64_t ops_per_lane = 1;
    int64_t latency_cycles = 16;

    template <class V>
    void visit(V& v) {
        v.field("lanes", lanes, "lanes", "vector unit lanes", {1, 1 << 20});
        v.field("ops_per_lane", ops_per_lane, "ops/cycle", "operations per lane per cycle",
                {1, 1024});
        v.field("latency_cycles", latency_cycles, "cycles",
                "vector pipeline latency per instruction", {0, 1 << 20});
    }
};

/// The on-chip common memory (v4i CMEM) that holds the weights when they fit.
struct CmemSpec {
    int64_t kib = 0;
    double bandwidth_gbps = 0;

    template <class V>
    void visit(V& v) {
        v.field("kib", kib, "KiB", "on-chip common memory holding weights when they fit (0: none)",
                {0, double(int64_t{1} << 30)});
        v.field("bandwidth_gbps", bandwidth_gbps, "GB/s", "common memory read bandwidth", {0, 1e7});
    }
};

struct SequencerSpec {
    int64_t issue_cycles = 1;

    template <class V>
    void visit(V& v) {
        v.field("issue_cycles", issue_cycles, "cycles",
                "cycles the sequencer spends issuing one instruction", {0, 1000});
    }
};

/// Energy per event (pJ) on top of the prices every target has.
struct TpuEnergy : sim::EnergyCommon {
    double mac_pj = 0.2;
    double ub_byte_pj = 0.3;
    double accumulator_byte_pj = 0.3;
    double cmem_byte_pj = 1.0;
    double vector_op_pj = 0.5;

    TpuEnergy() { static_w = 28; }

    template <class V>
    void visit(V& v) {
        v.field("mac_pj", mac_pj, "pJ", "one MAC at the MXU precision", {0, 1e6});
        v.field("ub_byte_pj", ub_byte_pj, "pJ", "one byte read or written in the unified buffer",
                {0, 1e6});
        v.field("accumulator_byte_pj", accumulator_byte_pj, "pJ", "one byte of accumulator traffic",
                {0, 1e6});
        v.field("cmem_byte_pj", cmem_byte_pj, "pJ", "one byte read from the common memory",
                {0, 1e6});
        v.field("vector_op_pj", vector_op_pj, "pJ", "one vector-unit operation", {0, 1e6});
        EnergyCommon::visit(v);
    }
};

struct TpuSpec {
    double clock_mhz = 700;
    MxuSpec mxu;
    UnifiedBufferSpec ub;
    ActivateSpec activate;
    VectorSpec vector;
    sim::DramSpec dram = v1_weight_memory();  // where weights stream from (and spills go)
    CmemSpec cmem;
    SequencerSpec sequencer;
    sim::HostSpec host;
    sim::QuantSpec quant;  // int8 MXUs: weight scales and activation calibration
    TpuEnergy energy;

    template <class V>
    void visit(V& v) {
        v.field("clock_mhz", clock_mhz, "MHz", "core clock", {1, 10000});
        v.group("mxu", mxu);
        v.group("ub", ub);
        v.group("activate", activate);
        v.group("vector", vector);
        v.group("dram", dram);
        v.group("cmem", cmem);
        v.group("sequencer", sequencer);
        v.group("host", host);
        v.group("quant", quant);
        v.group("energy", energy);
    }
    /// @brief ConfigError where values contradict each other (a CMEM without bandwidth).
    void validate(const sim::config::Config& config) const;

    double clock_hz() const { return clock_mhz * 1e6; }
    int64_t element_bytes() const { return mxu.precision == MxuPrecision::Int8 ? 1 : 2; }
    /// @brief Cycles (rounded up) for `seconds` at this clock.
    uint64_t cycles(double seconds) const;

  private:
    static sim::DramSpec v1_weight_memory();
};

}  // namespace xpusim::isa::tpu
