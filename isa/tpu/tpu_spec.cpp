#include "isa/tpu/tpu_spec.h"

#include <cmath>

#include "sim/config/fields.h"

namespace xpusim::isa::tpu {
namespace {

const sim::config::SchemaRegistration s_schema{sim::config::spec_schema<TpuSpec>(
    "tpu", "TPU-style chip: weight-stationary systolic MXUs, unified buffer, vector unit")};

}  // namespace

sim::DramSpec TpuSpec::v1_weight_memory() {
    // [J17] 34 GB/s DDR3: two x64 DDR3-2133 channels (the DramSpec defaults are DDR3-2133's).
    sim::DramSpec d;
    d.bandwidth_gbps = 34;
    d.channels = 2;
    return d;
}

void TpuSpec::validate(const sim::config::Config& c) const {
    if (cmem.kib > 0 && cmem.bandwidth_gbps <= 0)
        throw sim::ConfigError(c.origin("cmem.bandwidth_gbps").str() +
                               ": cmem.bandwidth_gbps: must be > 0 when cmem.kib is set");
}

uint64_t TpuSpec::cycles(double seconds) const {
    return static_cast<uint64_t>(std::ceil(seconds * clock_hz() - 1e-9));
}

}  // namespace xpusim::isa::tpu
