// Emits the NpuProgram for a planned graph: one surface per materialized value (int8 with its
// calibrated per-tensor scale, or fp16), constants quantized into the memory image (per-channel
// int8 weights with BatchNorm folded in, int32 biases, fixed-point requantization multipliers,
// lookup tables), and the descriptors of every group in issue order, with each node's placement
// and the reason for it. Addresses are assigned last: weights, then activations, 4 KiB aligned.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "frontends/lower/calibration.h"
#include "frontends/lower/lowering.h"
#include "frontends/lower/npu/graph_plan.h"
#include "isa/npu/program.h"

namespace xpusim::lower::npu {

using isa::npu::NpuProgram;
using isa::npu::NpuSpec;
using isa::npu::SdpStage;

class Emitter {
  public:
    /// @brief `ranges` may be null (timing only: scales 1, no constant data).
    Emitter(const Graph& graph, const GraphPlan& plan, const NpuSpec& spec,
            const std::map<std::string, ValueRange>* ranges);

    /// @brief Emits every group; returns the program with placements and capacity problems.
    LoweredModel run();

  private:
    // values and surfaces
    double scale_of(const std::string& value) const;
    bool npu_consumed(const std::string& value) const;
    int32_t surface_of(const std::string& value) const;
    int32_t make_surface(const std::string& value, const std::string& kind);
    int32_t add_const(const std::string& name, const sim::Tensor& data, sim::DType dtype,
                      const sim::Shape& shape, uint64_t bytes);
    int32_t output_surface(const std::string& value);
    bool channel_last(const std::string& value) const;
    uint64_t layout_bytes(const sim::Shape& shape, sim::DType dtype, bool channel_last) const;
    void place(int node, sim::Placement p, const std::string& unit, const std::string& reason);
    const frontend::Node& node(int i) const { return m_graph.nodes[static_cast<std::size_t>(i)]; }

    // groups
    void plan_concats();
    void emit_conv(const Group& g);
    void emit_sdp(const Group& g);
    void emit_pdp(const Group& g, int32_t source, int pool_node, const std::string& in_value);
    void emit_cdp(const Group& g);
    void emit_view(const Group& g);
    void emit_row_slice(const Group& g);
    void emit_concat(const Group& g);
    void emit_host(const Group& g, const std::string& why = "");
    void assign_addresses();

    // SDP stages (sdp_stages.cpp)
    struct StageStart {
        bool from_cacc = false;
        std::vector<double> acc_scale;  // per output channel: s_in * s_w[k] (int8)
        std::vector<float> bias;        // per output channel, real units
        double in_scale = 1.0;          // from memory: the input surface's scale
    };
    std::vector<SdpStage> build_stages(const std::vector<int>& ops, const std::string& chain_in,
                                       const StageStart& start, const std::string& end_value,
                                       int64_t channels);
    sim::Tensor lut_samples(const frontend::Node& n, const std::vector<float>& x) const;

    const Graph& m_graph;
    const GraphPlan& m_plan;
    const NpuSpec& m_spec;
    const std::map<std::string, ValueRange>* m_ranges;
    const bool m_with_data;
    const sim::DType m_act_dtype;
    std::unique_ptr<NpuProgram> m_program;
    std::map<std::string, int32_t> m_surface;        // value -> surface
    std::map<std::string, double> m_scale_override;  // concat members share the concat's scale
    std::map<std::string, bool> m_channel_last;
    std::set<int> m_placed;
    std::set<int> m_concat_placed;         // concat nodes done by address placement
    std::set<std::string> m_npu_consumed;  // values a non-host group reads (through views)
    std::vector<NodePlacement> m_placements;
    std::vector<sim::Problem> m_problems;
};

}  // namespace xpusim::lower::npu
