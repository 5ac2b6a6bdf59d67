// The NPU Program: DRAM surfaces (the memory image of quantized weights, biases, requantization
// multipliers and lookup tables, plus where every activation lives), the descriptor list in
// issue order, the host calls, and the graph nodes with their placement (for per-op stats).
//
// Text form (to_asm / parse): one directive per line, `key=value` registers, strings quoted:
//   .spec clock_mhz=1000                      one line per Spec field: the chip it was lowered for
//   .node name="Conv_0" op_type="Conv" placement=native unit="conv" reason=""
//   .surface id=3 name="x" kind=act dtype=int8 shape=1x64x56x56 scale=0.021 addr=0x... ...
//   .data id=5 dtype=int8 count=1728          followed by hex lines, then .end
//   conv id=0 source=-1 node="Conv_0" src=0 weight=5 ...
//   sdp id=1 source=0 node="Relu_1" ... then one `stage op=relu ...` line per SDP stage
//   host id=9 source=-1 node="Softmax_3" call=0 op_type="Softmax" inputs=8 outputs=9 ...
// A host call's compute function (the fp32 kernel of its ONNX node) cannot be written as text:
// after parse() every HostCall has an empty `compute`, and a numeric run needs it re-bound from
// the graph (lower::bind_host_calls). Timing-only runs do not call it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "isa/npu/descriptors.h"
#include "sim/runtime/host.h"
#include "sim/runtime/program.h"
#include "sim/runtime/results.h"

namespace xpusim::isa::npu {

/// A graph node and how the lowering placed it (the model reports per-node stats from this).
struct NodeInfo {
    std::string name;
    std::string op_type;
    sim::Placement placement = sim::Placement::Native;
    std::string unit;
    std::string reason;

    template <class V>
    void visit(V&& v) {
        v("name", name), v("op_type", op_type), v("placement", placement), v("unit", unit);
        v("reason", reason);
    }
};

/// A graph input or output and the surface that holds it.
struct Binding {
    std::string name;
    int32_t surface = -1;

    template <class V>
    void visit(V&& v) {
        v("name", name), v("surface", surface);
    }
};

class NpuProgram : public sim::Program {
  public:
    std::string target() const override { return "npu"; }
    std::string to_asm() const override;
    /// @brief Reads the text form back; ModelError naming the line on any malformed input.
    static std::unique_ptr<NpuProgram> parse(const std::string& text);

    NpuSpec spec;  // the chip this program was lowered for
    std::vector<NodeInfo> nodes;
    std::vector<Binding> inputs, outputs;   // graph inputs (quantized on load) and outputs
    std::vector<Surface> surfaces;          // index == id
    std::vector<Descriptor> descriptors;    // issue order; index == id
    std::vector<sim::HostCall> host_calls;  // index == HostDesc::call

    /// The numeric mode of the whole program.
    Precision precision() const { return spec.quant.precision; }
    /// @brief The surface with `id`; ModelError if out of range.
    const Surface& surface(int32_t id) const;
    Surface& surface(int32_t id);
    /// @brief The surface a view resolves to (follows `alias` to the storage).
    const Surface& storage(int32_t id) const;
    /// @brief Adds a surface, assigning its id.
    int32_t add_surface(Surface s);
    /// @brief Appends a descriptor, assigning its id.
    int32_t add_descriptor(Descriptor d);
};

}  // namespace xpusim::isa::npu
