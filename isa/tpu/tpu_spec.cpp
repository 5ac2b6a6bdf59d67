#include "isa/tpu/tpu_spec.h"

#include <cmath>

namespace xpusim::isa::tpu {
namespace {

namespace cfg = sim::config;

cfg::Schema make_schema() {
    const TpuSpec d;
    cfg::Schema s("tpu", "TPU-style chip: weight-stationary systolic MXUs, unified buffer, vector unit");
    s.add_float("clock_mhz", "MHz", "core clock", d.clock_mhz, 1, 10000);
    s.add_int("mxu.rows", "PEs", "rows of each systolic array (the reduction dimension K maps here)", d.mxu_rows, 1, 4096);
    s.add_int("mxu.cols", "PEs", "columns of each systolic array (output channels N map here)", d.mxu_cols, 1, 4096);
    s.add_int("mxu.count", "", "matrix units working in parallel on a layer's column tiles", d.mxu_count, 1, 64);
    s.add_string("mxu.precision", "operand precision: int8 x int8 -> int32, or bf16 x bf16 -> fp32", "int8", {"int8", "bf16"});
    s.add_bool("mxu.weight_double_buffer", "shift the next weight tile in while the array computes", d.weight_double_buffer);
    s.add_int("mxu.weight_fifo_tiles", "tiles", "depth of the weight FIFO in front of each MXU", d.weight_fifo_tiles, 1, 64);
    s.add_int("mxu.accumulator_rows", "rows", "accumulator rows per MXU (each holds cols 32-bit sums)", d.accumulator_rows, 1, 1 << 20);
    s.add_int("ub.kib", "KiB", "unified buffer / vector memory for activations", d.ub_kib, 1, int64_t{1} << 30);
    s.add_int("ub.bytes_per_cycle", "B/cycle", "unified buffer datapath width", d.ub_bytes_per_cycle, 1, 1 << 20);
    s.add_int("activate.elements_per_cycle", "elements/cycle", "accumulator values the activation pipeline drains per cycle", d.activate_elements_per_cycle, 1, 1 << 20);
    s.add_int("vector.lanes", "lanes", "vector unit lanes", d.vector_lanes, 1, 1 << 20);
    s.add_int("vector.ops_per_lane", "ops/cycle", "operations per lane per cycle", d.vector_ops_per_lane, 1, 1024);
    s.add_int("vector.latency_cycles", "cycles", "vector pipeline latency per instruction", d.vector_latency_cycles, 0, 1 << 20);
    sim::DramSpec dram;
    dram.kind = "ddr3";
    dram.bandwidth_gbps = 34;
    dram.channels = 4;
    dram.banks = 8;
    sim::DramSpec::declare(s, "dram", dram);
    s.add_int("cmem.kib", "KiB", "on-chip common memory holding weights when they fit (0: none)", d.cmem_kib, 0, int64_t{1} << 30);
    s.add_float("cmem.bandwidth_gbps", "GB/s", "common memory read bandwidth", 0.0, 0, 1e7);
    s.add_int("sequencer.issue_cycles", "cycles", "cycles the sequencer spends issuing one instruction", d.instruction_issue_cycles, 0, 1000);
    sim::HostSpec::declare(s, sim::HostSpec{100, 12.0, 2.0});
    s.add_bool("quant.per_channel", "int8 weight scales per output channel (else per tensor)", d.quant_per_channel);
    s.add_string("quant.calibration", "activation range: min/max or a percentile of |x|", d.calibration, {"minmax", "percentile"});
    s.add_float("quant.percentile", "%", "percentile of |x| used by percentile calibration", d.calibration_percentile, 50, 100);
    s.add_float("energy.mac_pj", "pJ", "one MAC at the MXU precision", d.mac_pj, 0, 1e6);
    s.add_float("energy.ub_byte_pj", "pJ", "one byte read or written in the unified buffer", d.ub_byte_pj, 0, 1e6);
    s.add_float("energy.accumulator_byte_pj", "pJ", "one byte of accumulator traffic", d.accumulator_byte_pj, 0, 1e6);
    s.add_float("energy.dram_byte_pj", "pJ", "one byte of off-chip memory traffic", d.dram_byte_pj, 0, 1e6);
    s.add_float("energy.cmem_byte_pj", "pJ", "one byte read from the common memory", d.cmem_byte_pj, 0, 1e6);
    s.add_float("energy.host_link_byte_pj", "pJ", "one byte over the host link", d.host_link_byte_pj, 0, 1e6);
    s.add_float("energy.vector_op_pj", "pJ", "one vector-unit operation", d.vector_op_pj, 0, 1e6);
    s.add_float("energy.static_w", "W", "static power (leakage, clocks, idle units)", d.static_watts, 0, 1e5);
    return s;
}

const cfg::SchemaRegistration s_schema{make_schema()};

}  // namespace

uint64_t TpuSpec::cycles(double seconds) const {
    return static_cast<uint64_t>(std::ceil(seconds * clock_hz() - 1e-9));
}

TpuSpec TpuSpec::from_config(const cfg::Config& c) {
    TpuSpec s;
    s.clock_mhz = c.get_double("clock_mhz");
    s.mxu_rows = c.get_int("mxu.rows");
    s.mxu_cols = c.get_int("mxu.cols");
    s.mxu_count = c.get_int("mxu.count");
    s.precision = c.get_string("mxu.precision") == "int8" ? MxuPrecision::Int8 : MxuPrecision::BFloat16;
    s.weight_double_buffer = c.get_bool("mxu.weight_double_buffer");
    s.weight_fifo_tiles = c.get_int("mxu.weight_fifo_tiles");
    s.accumulator_rows = c.get_int("mxu.accumulator_rows");
    s.ub_kib = c.get_int("ub.kib");
    s.ub_bytes_per_cycle = c.get_int("ub.bytes_per_cycle");
    s.activate_elements_per_cycle = c.get_int("activate.elements_per_cycle");
    s.vector_lanes = c.get_int("vector.lanes");
    s.vector_ops_per_lane = c.get_int("vector.ops_per_lane");
    s.vector_latency_cycles = c.get_int("vector.latency_cycles");
    s.dram = sim::DramSpec::from_config(c, "dram");
    s.cmem_kib = c.get_int("cmem.kib");
    s.cmem_bandwidth_gbps = c.get_double("cmem.bandwidth_gbps");
    if (s.cmem_kib > 0 && s.cmem_bandwidth_gbps <= 0)
        throw sim::ConfigError(c.origin("cmem.bandwidth_gbps").str() +
                               ": cmem.bandwidth_gbps: must be > 0 when cmem.kib is set");
    s.instruction_issue_cycles = c.get_int("sequencer.issue_cycles");
    s.host = sim::HostSpec::from_config(c);
    s.quant_per_channel = c.get_bool("quant.per_channel");
    s.calibration = c.get_string("quant.calibration");
    s.calibration_percentile = c.get_double("quant.percentile");
    s.mac_pj = c.get_double("energy.mac_pj");
    s.ub_byte_pj = c.get_double("energy.ub_byte_pj");
    s.accumulator_byte_pj = c.get_double("energy.accumulator_byte_pj");
    s.dram_byte_pj = c.get_double("energy.dram_byte_pj");
    s.cmem_byte_pj = c.get_double("energy.cmem_byte_pj");
    s.host_link_byte_pj = c.get_double("energy.host_link_byte_pj");
    s.vector_op_pj = c.get_double("energy.vector_op_pj");
    s.static_watts = c.get_double("energy.static_w");
    return s;
}

}  // namespace xpusim::isa::tpu
