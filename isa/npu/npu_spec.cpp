#include "isa/npu/npu_spec.h"

#include "sim/error.h"

namespace xpusim::isa::npu {

namespace cfg = sim::config;

const char* precision_name(Precision p) {
    return p == Precision::Fp16 ? "fp16" : "int8";
}

Precision precision_from_name(const std::string& name) {
    if (name == "int8") return Precision::Int8;
    if (name == "fp16") return Precision::Fp16;
    throw sim::ConfigError("unknown NPU precision '" + name + "' (int8 or fp16)");
}

int64_t ConvSpec::weight_load_cycles(Precision p) const {
    const int64_t bytes = atomic_c * kernels_per_atomic(p) * precision_bytes(p);
    return (bytes + weight_read_bytes - 1) / weight_read_bytes;
}

cfg::Schema NpuSpec::make_schema() {
    const NpuSpec d;  // defaults: NVDLA nv_full
    cfg::Schema s("npu", "NVDLA-style convolution engine (CDMA/CBUF/CSC/CMAC/CACC + SDP/PDP/CDP)");
    s.add_float("clock_mhz", "MHz", "core clock", d.clock_mhz, 1, 1e5);
    s.add_int("conv.atomic_c", "channels", "input channels per atomic op (MAC cell width)",
              d.conv.atomic_c, 1, 4096);
    s.add_int("conv.atomic_k", "kernels", "int8 kernels per atomic op (MAC cells x 2)",
              d.conv.atomic_k, 2, 4096);
    s.add_int("conv.max_stripe", "atomic ops", "longest stripe (bounded by the CACC buffer)",
              d.conv.max_stripe, 1, 4096);
    s.add_int("conv.weight_read_bytes", "B/cycle",
              "CBUF->CSC weight bandwidth; sets the shortest stripe that hides a weight load",
              d.conv.weight_read_bytes, 1, 1 << 20);
    s.add_bool("conv.image_input", "first layer reads pixel format with channel pre/post-extension",
               d.conv.image_input);
    s.add_bool("conv.winograd", "3x3 stride-1 convolutions in Winograd mode (timing only)",
               d.conv.winograd);
    s.add_bool("conv.fp16", "fp16 datapath present (half the int8 MAC rate)", d.conv.fp16);
    s.add_int("cbuf.kib", "KiB", "convolution buffer size", d.cbuf.kib, 1, 1 << 20);
    s.add_int("cbuf.banks", "banks", "CBUF banks, split between data and weights per layer",
              d.cbuf.banks, 2, 1024);
    s.add_int("sdp.throughput", "elements/cycle", "SDP bias/BN/ALU outputs per cycle",
              d.post.sdp_throughput, 1, 4096);
    s.add_bool("sdp.lut", "SDP lookup table for sigmoid/tanh/... present", d.post.sdp_lut);
    s.add_int("sdp.lut_throughput", "elements/cycle", "SDP lookup-table outputs per cycle",
              d.post.sdp_lut_throughput, 1, 4096);
    s.add_bool("sdp.eltwise", "SDP reads a second tensor for element-wise ops", d.post.sdp_eltwise);
    s.add_int("sdp.max_stages", "stages", "SDP operations fused after a conv (X1, X2, Y)",
              d.post.sdp_max_stages, 1, 16);
    s.add_bool("pdp.enabled", "planar data processor (pooling) present", d.post.pdp);
    s.add_int("pdp.throughput", "elements/cycle", "PDP elements per cycle", d.post.pdp_throughput,
              1, 4096);
    s.add_bool("cdp.enabled", "cross-channel data processor (LRN) present", d.post.cdp);
    s.add_int("cdp.throughput", "elements/cycle", "CDP elements per cycle", d.post.cdp_throughput,
              1, 4096);
    s.add_bool("bdma.enabled", "bridge DMA present (memory-to-memory copies)", d.post.bdma);
    s.add_int("bdma.bytes_per_cycle", "B/cycle", "BDMA copy rate", d.post.bdma_bytes_per_cycle, 1,
              1 << 20);
    s.add_int("dma.width_bytes", "B/cycle", "memory interface data width per DMA engine",
              d.dma.width_bytes, 1, 1 << 20);
    s.add_int("dma.latency_tolerance_cycles", "cycles",
              "read latency the DMA engines cover with outstanding requests",
              d.dma.latency_tolerance_cycles, 1, 1 << 24);
    s.add_int("dma.request_bytes", "B", "DMA request size modelled (simulation granularity)",
              d.dma.request_bytes, 64, 1 << 26);
    s.add_int("dma.mcif_queue_bytes", "B",
              "DRAM work accepted ahead of service; beyond it MCIF arbitrates clients round-robin",
              d.dma.mcif_queue_bytes, 0, int64_t{1} << 40);
    s.add_int("dma.atom_bytes", "B", "memory atom: a surface pads its channels to this many bytes",
              d.dma.atom_bytes, 1, 4096);
    s.add_int("sequencer.program_cycles", "cycles", "CSB writes to program one register group",
              d.sequencer.program_cycles, 0, 1 << 24);
    s.add_int("sequencer.dependency_cycles", "cycles",
              "layer completion interrupt to its dependents being enabled",
              d.sequencer.dependency_cycles, 0, 1 << 30);
    sim::DramSpec dram;
    dram.kind = "lpddr4";
    dram.bandwidth_gbps = 20;
    dram.channels = 4;
    dram.latency_ns = 100;
    sim::DramSpec::declare(s, "dram", dram);
    sim::HostSpec::declare(s, sim::HostSpec{});
    s.add_float("energy.mac_int8_pj", "pJ", "one int8 multiply-accumulate", d.energy.mac_int8_pj,
                0);
    s.add_float("energy.mac_fp16_pj", "pJ", "one fp16 multiply-accumulate", d.energy.mac_fp16_pj,
                0);
    s.add_float("energy.cbuf_byte_pj", "pJ", "one byte written to or read from CBUF",
                d.energy.cbuf_byte_pj, 0);
    s.add_float("energy.sdp_op_pj", "pJ", "one SDP element operation", d.energy.sdp_op_pj, 0);
    s.add_float("energy.pdp_op_pj", "pJ", "one PDP input element", d.energy.pdp_op_pj, 0);
    s.add_float("energy.cdp_op_pj", "pJ", "one CDP (LRN) element", d.energy.cdp_op_pj, 0);
    s.add_float("energy.dram_byte_pj", "pJ", "one byte of DRAM traffic", d.energy.dram_byte_pj, 0);
    s.add_float("energy.host_link_byte_pj", "pJ", "one byte over the host link",
                d.energy.host_link_byte_pj, 0);
    s.add_float("energy.static_w", "W", "leakage and clock tree, charged for the whole run",
                d.energy.static_w, 0);
    s.add_string("quant.precision", "numeric mode of the program (int8, or fp16 where present)",
                 "int8", {"int8", "fp16"});
    s.add_string("quant.calibration", "activation range calibration on the run's inputs",
                 d.quant.calibration, {"minmax", "percentile"});
    s.add_float("quant.percentile", "%", "percentile of |x| kept by percentile calibration",
                d.quant.percentile, 50, 100);
    s.add_bool("lower.fuse", "fuse CACC->SDP->PDP on the fly (false: every op through memory)",
               d.lower.fuse);
    return s;
}

NpuSpec NpuSpec::from_config(const cfg::Config& c) {
    NpuSpec s;
    s.clock_mhz = c.get_double("clock_mhz");
    s.conv.atomic_c = c.get_int("conv.atomic_c");
    s.conv.atomic_k = c.get_int("conv.atomic_k");
    s.conv.max_stripe = c.get_int("conv.max_stripe");
    s.conv.weight_read_bytes = c.get_int("conv.weight_read_bytes");
    s.conv.image_input = c.get_bool("conv.image_input");
    s.conv.winograd = c.get_bool("conv.winograd");
    s.conv.fp16 = c.get_bool("conv.fp16");
    s.cbuf.kib = c.get_int("cbuf.kib");
    s.cbuf.banks = c.get_int("cbuf.banks");
    s.post.sdp_throughput = c.get_int("sdp.throughput");
    s.post.sdp_lut = c.get_bool("sdp.lut");
    s.post.sdp_lut_throughput = c.get_int("sdp.lut_throughput");
    s.post.sdp_eltwise = c.get_bool("sdp.eltwise");
    s.post.sdp_max_stages = c.get_int("sdp.max_stages");
    s.post.pdp = c.get_bool("pdp.enabled");
    s.post.pdp_throughput = c.get_int("pdp.throughput");
    s.post.cdp = c.get_bool("cdp.enabled");
    s.post.cdp_throughput = c.get_int("cdp.throughput");
    s.post.bdma = c.get_bool("bdma.enabled");
    s.post.bdma_bytes_per_cycle = c.get_int("bdma.bytes_per_cycle");
    s.dma.width_bytes = c.get_int("dma.width_bytes");
    s.dma.latency_tolerance_cycles = c.get_int("dma.latency_tolerance_cycles");
    s.dma.request_bytes = c.get_int("dma.request_bytes");
    s.dma.mcif_queue_bytes = c.get_int("dma.mcif_queue_bytes");
    s.dma.atom_bytes = c.get_int("dma.atom_bytes");
    s.sequencer.program_cycles = c.get_int("sequencer.program_cycles");
    s.sequencer.dependency_cycles = c.get_int("sequencer.dependency_cycles");
    s.dram = sim::DramSpec::from_config(c, "dram");
    s.host = sim::HostSpec::from_config(c);
    s.energy.mac_int8_pj = c.get_double("energy.mac_int8_pj");
    s.energy.mac_fp16_pj = c.get_double("energy.mac_fp16_pj");
    s.energy.cbuf_byte_pj = c.get_double("energy.cbuf_byte_pj");
    s.energy.sdp_op_pj = c.get_double("energy.sdp_op_pj");
    s.energy.pdp_op_pj = c.get_double("energy.pdp_op_pj");
    s.energy.cdp_op_pj = c.get_double("energy.cdp_op_pj");
    s.energy.dram_byte_pj = c.get_double("energy.dram_byte_pj");
    s.energy.host_link_byte_pj = c.get_double("energy.host_link_byte_pj");
    s.energy.static_w = c.get_double("energy.static_w");
    s.quant.precision = precision_from_name(c.get_string("quant.precision"));
    s.quant.calibration = c.get_string("quant.calibration");
    s.quant.percentile = c.get_double("quant.percentile");
    s.lower.fuse = c.get_bool("lower.fuse");

    const std::string where = " (config '" + c.source() + "')";
    if (s.cbuf.bytes() % static_cast<uint64_t>(s.cbuf.banks) != 0)
        throw sim::ConfigError("cbuf.kib = " + std::to_string(s.cbuf.kib) +
                               " KiB is not a whole number of bytes per bank over cbuf.banks = " +
                               std::to_string(s.cbuf.banks) + where);
    if (s.quant.precision == Precision::Fp16 && !s.conv.fp16)
        throw sim::ConfigError(
            "quant.precision = fp16 but this chip has no fp16 datapath "
            "(conv.fp16 = false)" +
            where);
    if (s.quant.precision == Precision::Fp16 && s.conv.atomic_k % 2 != 0)
        throw sim::ConfigError("fp16 pairs int8 multipliers: conv.atomic_k must be even" + where);
    return s;
}

namespace {
const cfg::SchemaRegistration s_npu_schema{NpuSpec::make_schema()};
}

}  // namespace xpusim::isa::npu
