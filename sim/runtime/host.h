// The host a chip hangs off: a CPU that runs the ops the chip cannot (with its own time) and the
// link (PCIe-like) every transfer between them crosses. Every target declares it under `host.`.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "sim/tensor/tensor.h"

namespace xpusim::sim {

/// The work of one op on the host: floating-point operations and the bytes its memory moves
/// (inputs read plus outputs written). frontends/lower/host_fallback.h derives both per op.
struct HostCost {
    double flops = 0;
    double bytes = 0;
};

struct HostSpec {
    double gflops = 100;         // sustained host compute for fallback ops
    double memory_gbps = 20;     // sustained host memory bandwidth for fallback ops
    double op_overhead_us = 1;   // dispatching one op (a kernel call on the host)
    double link_gbps = 12.0;     // link bandwidth per direction, GB/s
    double link_latency_us = 2;  // per transfer

    template <class V>
    void visit(V& v) {
        v.field("gflops", gflops, "GFLOP/s", "sustained host compute for ops placed on the host",
                {0.001, 1e6});
        v.field("memory_gbps", memory_gbps, "GB/s",
                "sustained host memory bandwidth for ops placed on the host", {0.001, 1e6});
        v.field("op_overhead_us", op_overhead_us, "us", "host time to dispatch one op", {0, 1e6});
        v.field("link_gbps", link_gbps, "GB/s", "host link bandwidth per direction (PCIe-like)",
                {0.001, 1e4});
        v.field("link_latency_us", link_latency_us, "us", "host link latency per transfer",
                {0, 1e6});
    }

    /// @brief Seconds to move `bytes` over the link (one direction): latency + bytes / bandwidth.
    double link_seconds(uint64_t bytes) const {
        return bytes == 0 ? 0.0
                          : link_latency_us * 1e-6 + static_cast<double>(bytes) / (link_gbps * 1e9);
    }
    /// @brief Seconds the host takes for one op, as a roofline on the host:
    ///   op_overhead + max(flops / gflops, bytes / memory_gbps)
    double op_seconds(const HostCost& cost) const {
        return op_overhead_us * 1e-6 +
               std::max(cost.flops / (gflops * 1e9), cost.bytes / (memory_gbps * 1e9));
    }
};

/// An op the chip cannot run, computed on the host by the reference kernel of its ONNX node. The
/// program carries it so the model can run it in order without knowing what it is. `compute`
/// is empty in a program read back from text (frontends/lower re-binds it from the graph).
struct HostCall {
    std::string node;  // graph node name, for stats and traces
    std::string op_type;
    HostCost cost;
    std::function<std::vector<Tensor>(const std::vector<Tensor>&)> compute;
};

}  // namespace xpusim::sim
