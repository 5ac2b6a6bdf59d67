// Helpers for the NPU tests: configs from inline YAML through the real loader, and small
// hand-built programs (a conv with its SDP, optionally a fused PDP) run through the registered
// "npu" model.
#pragma once

#include <string>
#include <vector>

#include "isa/npu/program.h"
#include "sim/config/config.h"
#include "sim/runtime/target_model.h"

namespace npu_test {

using namespace xpusim;
using isa::npu::ConvDesc;
using isa::npu::Descriptor;
using isa::npu::NpuProgram;
using isa::npu::SdpDesc;
using isa::npu::SdpStage;
using isa::npu::Surface;

// 1 GHz (1 cycle = 1 ns), DRAM at 1 GB/s (1 byte per cycle) on one channel of the simple
// bandwidth model with no latency, no CSB or interrupt overheads: every cycle count in the tests
// can be derived from bytes and the closed forms by hand. The DRAM controller queue holds 65536
// requests, so requests are served in the order they are issued.
// Everything else is nv_full.
inline const char* kTestYaml = R"(
target: npu
name: npu_test
clock_mhz: 1000
conv:
  atomic_c: 64
  atomic_k: 32
  max_stripe: 32
  weight_read_bytes: 128
  image_input: true
cbuf:
  kib: 512
  banks: 16
sdp:
  throughput: 16
pdp:
  throughput: 8
dma:
  width_bytes: 64
  latency_tolerance_cycles: 1200
  request_bytes: 4096
  atom_bytes: 32
sequencer:
  program_cycles: 0
  dependency_cycles: 0
dram:
  impl: simple
  bandwidth_gbps: 1
  channels: 1
  queue_depth: 65536
  latency_ns: 0
)";

inline sim::config::Config test_config(const std::vector<std::string>& overrides = {}) {
    sim::config::ConfigLoader loader({});
    return loader.load_string(kTestYaml, "npu_test.yaml", overrides);
}

inline int32_t add_surface(NpuProgram& p, const std::string& name, const std::string& kind,
                           sim::Shape shape, uint64_t addr, uint64_t bytes,
                           sim::DType dtype = sim::DType::Int8, double scale = 1.0) {
    Surface s;
    s.name = name, s.kind = kind, s.shape = std::move(shape), s.addr = addr, s.bytes = bytes;
    s.dtype = dtype, s.scale = scale;
    return p.add_surface(std::move(s));
}

/// A conv and its SDP (a single cvt stage with a scalar multiplier of 1: no parameter reads).
inline int32_t add_conv(NpuProgram& p, const ConvDesc& c, int32_t dst, const std::string& name,
                        std::vector<SdpStage> extra = {}) {
    Descriptor cd;
    cd.nodes = {name};
    cd.payload = c;
    const int32_t conv = p.add_descriptor(std::move(cd));
    SdpDesc s;
    s.dst = dst, s.n = c.n, s.c = c.k, s.h = c.p, s.w = c.q;
    SdpStage cvt;
    cvt.op = "cvt";
    cvt.m = isa::npu::FixedMultiplier::from_double(256.0);  // frac_bits 8: output = accumulator
    s.stages.push_back(cvt);
    for (auto& st : extra) s.stages.push_back(st);
    Descriptor sd;
    sd.nodes = {name + ".sdp", name};
    sd.source = conv;
    sd.payload = s;
    return p.add_descriptor(std::move(sd));
}

/// Runs `p` on the chip `c` describes (the program's Spec is set from it, as a lowering would).
inline sim::Results run(const NpuProgram& p, const sim::config::Config& c, bool timing_only = true,
                        const std::map<std::string, sim::Tensor>& inputs = {}) {
    NpuProgram program = p;
    const auto precision = p.spec.quant.precision;
    program.spec = sim::config::parse_spec<isa::npu::NpuSpec>(c);
    program.spec.quant.precision = precision;  // the program's numeric mode stays its own
    auto model = sim::target_models().get("npu").create();
    sim::RunOptions o;
    o.timing_only = timing_only;
    return model->simulate(program, inputs, o);
}

inline const sim::OpStats& op(const sim::Results& r, const std::string& name) {
    for (const auto& o : r.ops)
        if (o.name == name) return o;
    throw std::runtime_error("no op " + name);
}

inline void add_node(NpuProgram& p, const std::string& name, const std::string& type,
                     const std::string& unit) {
    p.nodes.push_back({name, type, sim::Placement::Native, unit, ""});
}

}  // namespace npu_test
