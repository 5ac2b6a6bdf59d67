#include "sim/runtime/host.h"

namespace xpusim::sim {

void HostSpec::declare(config::Schema& s, const HostSpec& d) {
    s.add_float("host.gflops", "GFLOP/s", "sustained host compute for ops placed on the host", d.gflops, 0.001, 1e6);
    s.add_float("host.link_gbps", "GB/s", "host link bandwidth per direction (PCIe-like)", d.link_gbps, 0.001, 1e4);
    s.add_float("host.link_latency_us", "us", "host link latency per transfer", d.link_latency_us, 0, 1e6);
}

HostSpec HostSpec::from_config(const config::Config& c) {
    HostSpec h;
    h.gflops = c.get_double("host.gflops");
    h.link_gbps = c.get_double("host.link_gbps");
    h.link_latency_us = c.get_double("host.link_latency_us");
    return h;
}

}  // namespace xpusim::sim
