#include "isa/npu/npu_spec.h"

#include "sim/error.h"

namespace xpusim::isa::npu {

namespace {
const sim::config::SchemaRegistration s_npu_schema{sim::config::spec_schema<NpuSpec>(
    "npu", "NVDLA-style convolution engine (CDMA/CBUF/CSC/CMAC/CACC + SDP/PDP/CDP)")};
}

const char* precision_name(Precision p) {
    return p == Precision::Fp16 ? "fp16" : "int8";
}

int64_t ConvSpec::weight_load_cycles(Precision p) const {
    const int64_t bytes = atomic_c * kernels_per_atomic(p) * precision_bytes(p);
    return (bytes + weight_read_bytes - 1) / weight_read_bytes;
}

sim::DramSpec NpuSpec::soc_dram() {
    // LPDDR4 at 20 GB/s as four x16 channels (configs/memory/lpddr4_3200.yaml has the sources).
    sim::DramSpec d;
    d.bandwidth_gbps = 20;
    d.channels = 4;
    d.width_bits = 16;
    d.burst_length = 16;
    d.bank_groups = 1;
    d.banks_per_group = 8;
    d.row_bytes = 2048;
    d.interleave_bytes = 2048;
    d.latency_ns = 30;
    d.capacity_mib = 4096;
    d.timing.tRCD = 18;
    d.timing.tRP = 18;
    d.timing.tCL = 17.5;
    d.timing.tCWL = 8.75;
    d.timing.tRAS = 42;
    d.timing.tRC = 60;
    d.timing.tRRD_S = d.timing.tRRD_L = 10;
    d.timing.tFAW = 40;
    d.timing.tCCD_S = d.timing.tCCD_L = 5;
    d.timing.tWTR = 10;
    d.timing.tRTW = 1.25;
    d.timing.tWR = 18;
    d.timing.tRTP = 7.5;
    d.timing.tREFI = 3904;
    d.timing.tRFC = 280;
    return d;
}

void NpuSpec::validate(const sim::config::Config& c) const {
    const std::string where = " (config '" + c.source() + "')";
    if (cbuf.bytes() % static_cast<uint64_t>(cbuf.banks) != 0)
        throw sim::ConfigError("cbuf.kib = " + std::to_string(cbuf.kib) +
                               " KiB is not a whole number of bytes per bank over cbuf.banks = " +
                               std::to_string(cbuf.banks) + where);
    if (quant.precision == Precision::Fp16 && !conv.fp16)
        throw sim::ConfigError(
            "quant.precision = fp16 but this chip has no fp16 datapath (conv.fp16 = false)" +
            where);
    if (quant.precision == Precision::Fp16 && conv.atomic_k % 2 != 0)
        throw sim::ConfigError("fp16 pairs int8 multipliers: conv.atomic_k must be even" + where);
}

}  // namespace xpusim::isa::npu
