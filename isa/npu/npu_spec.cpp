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
    sim::DramSpec d;
    d.kind = "lpddr4";
    d.bandwidth_gbps = 20;
    d.channels = 4;
    d.latency_ns = 100;
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
