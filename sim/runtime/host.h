// The host a chip hangs off: a CPU that runs the ops the chip cannot (with its own time) and the
// link (PCIe-like) every transfer between them crosses. Targets declare it under `host.`.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "sim/config/config.h"
#include "sim/tensor/tensor.h"

namespace xpusim::sim {

struct HostSpec {
    double gflops = 100;        // sustained host compute for fallback ops
    double link_gbps = 12.0;    // link bandwidth per direction, GB/s
    double link_latency_us = 2;  // per transfer

    static void declare(config::Schema& schema, const HostSpec& defaults);
    static HostSpec from_config(const config::Config& config);

    /// @brief Seconds to move `bytes` over the link (one direction): latency + bytes / bandwidth.
    double link_seconds(uint64_t bytes) const {
        return bytes == 0 ? 0.0 : link_latency_us * 1e-6 + static_cast<double>(bytes) / (link_gbps * 1e9);
    }
    /// @brief Seconds the host takes for `flops` floating-point operations (at least 1 us: a
    /// kernel launch on the host is never free).
    double compute_seconds(double flops) const { return std::max(1e-6, flops / (gflops * 1e9)); }
};

/// An op the chip cannot run, computed on the host by the lowering's fp32 implementation. The
/// program carries it so the model can run it in order without knowing what it is.
struct HostCall {
    std::string node;     // graph node name, for stats and traces
    std::string op_type;
    double flops = 0;     // for the host's time
    std::function<std::vector<Tensor>(const std::vector<Tensor>&)> compute;
};

}  // namespace xpusim::sim
