#include "isa/gpu/gpu_spec.h"

#include "sim/config/fields.h"
#include "sim/error.h"

namespace xpusim::isa::gpu {

namespace {
const sim::config::SchemaRegistration s_schema{sim::config::spec_schema<GpuSpec>(
    "gpu", "SIMT GPU with tensor cores: SMs, L2 slices, HBM; kernels as a framework launches them")};
}

const char* precision_name(Precision p) {
    switch (p) {
        case Precision::Fp32:
            return "fp32";
        case Precision::Tf32:
            return "tf32";
        case Precision::Fp16:
            return "fp16";
        case Precision::Bf16:
            return "bf16";
        case Precision::Int8:
            return "int8";
        case Precision::Fp8:
            return "fp8";
    }
    return "?";
}

int64_t precision_bytes(Precision p) {
    switch (p) {
        case Precision::Fp32:
        case Precision::Tf32:
            return 4;
        case Precision::Fp16:
        case Precision::Bf16:
            return 2;
        case Precision::Int8:
        case Precision::Fp8:
            return 1;
    }
    return 4;
}

int64_t TensorSpec::rate(Precision p) const {
    switch (p) {
        case Precision::Fp32:
            return 0;
        case Precision::Tf32:
            return fma_per_cycle.tf32;
        case Precision::Fp16:
            return fma_per_cycle.fp16;
        case Precision::Bf16:
            return fma_per_cycle.bf16;
        case Precision::Int8:
            return fma_per_cycle.int8;
        case Precision::Fp8:
            return fma_per_cycle.fp8;
    }
    return 0;
}

void GpuSpec::validate(const sim::config::Config& c) const {
    const std::string where = " (config '" + c.source() + "')";
    if (sm.max_warps * 32 < sm.max_threads)
        throw sim::ConfigError("sm.max_threads = " + std::to_string(sm.max_threads) + " needs " +
                               std::to_string(sm.max_threads / 32) + " warps; sm.max_warps is " +
                               std::to_string(sm.max_warps) + where);
    if (l2.partitions > l2.slices)
        throw sim::ConfigError("l2.partitions exceeds l2.slices" + where);
}

}  // namespace xpusim::isa::gpu
