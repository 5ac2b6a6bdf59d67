// Channel concatenation. In NVDLA's feature layout a cube is a sequence of channel-atom
// surfaces, so a concat along channels is free when each part starts on an atom boundary: the
// layers producing the parts write straight into their channel slice of the concat's surface
// ("address placement"), requantizing to the concat's scale in their SDP/PDP. Otherwise each
// part is copied into its slice by an independent SDP pass (which can also requantize).
#include "frontends/lower/npu/emitter.h"

#include <set>

namespace xpusim::lower::npu {

namespace {
const std::set<GroupKind> kSliceWriters = {GroupKind::Conv, GroupKind::Sdp, GroupKind::Pdp,
                                           GroupKind::Cdp};
}

void Emitter::plan_concats() {
    std::set<std::string> claimed;
    for (const Group& g : m_plan.groups) {
        if (g.kind != GroupKind::Concat) continue;
        const frontend::Node& n = node(g.nodes[0]);
        const std::string& out = n.outputs[0];
        const int32_t parent = make_surface(out, "act");
        const double scale = m_program->surface(parent).scale;
        const auto eb = static_cast<int64_t>(sim::dtype_size(m_act_dtype));
        bool placeable = true;
        std::set<std::string> seen;
        int64_t offset = 0;
        for (const auto& in : n.inputs) {
            if ((offset * eb) % m_spec.atom_bytes() != 0) placeable = false;
            offset += m_graph.value(in).shape.at(1);
            auto p = m_plan.producer.find(in);
            if (p == m_plan.producer.end() || !seen.insert(in).second || claimed.count(in)) {
                placeable = false;
                continue;
            }
            const Group& pg = m_plan.groups[static_cast<std::size_t>(
                m_plan.group_of[static_cast<std::size_t>(p->second)])];
            if (!kSliceWriters.count(pg.kind) || pg.output != in) placeable = false;
        }
        if (!placeable) continue;
        offset = 0;
        for (const auto& in : n.inputs) {
            isa::npu::Surface s;
            s.name = in;
            s.kind = "slice";
            s.dtype = m_act_dtype;
            s.shape = m_graph.value(in).shape;
            s.scale = scale;
            s.alias = parent;
            s.channel_offset = offset;
            s.bytes = layout_bytes(s.shape, s.dtype, false);
            offset += s.shape.at(1);
            m_surface[in] = m_program->add_surface(std::move(s));
            m_scale_override[in] = scale;
            claimed.insert(in);
        }
        m_concat_placed.insert(g.nodes[0]);
    }
}

void Emitter::emit_concat(const Group& g) {
    const int ni = g.nodes[0];
    const frontend::Node& n = node(ni);
    if (m_concat_placed.count(ni)) {
        place(ni, sim::Placement::Native, "none",
              "address placement: the producers write their channel slices");
        return;
    }
    const int32_t parent = surface_of(n.outputs[0]);
    int64_t offset = 0;
    for (const auto& in : n.inputs) {
        isa::npu::Surface s;
        s.name = n.outputs[0] + "[" + std::to_string(offset) + ":]";
        s.kind = "slice";
        s.dtype = m_act_dtype;
        s.shape = m_graph.value(in).shape;
        s.scale = m_program->surface(parent).scale;
        s.alias = parent;
        s.channel_offset = offset;
        s.bytes = layout_bytes(s.shape, s.dtype, false);
        offset += s.shape.at(1);
        const int32_t slice = m_program->add_surface(std::move(s));
        isa::npu::SdpDesc sd;
        sd.precision = m_spec.quant.precision;
        sd.src = surface_of(in);
        sd.dst = slice;
        const auto [pixels, channels] = layout_of(m_graph.value(in).shape, false);
        sd.c = channels, sd.w = pixels;
        StageStart start;
        start.in_scale = m_program->storage(sd.src).scale;
        sd.stages = build_stages({}, in, start, n.outputs[0], channels);
        isa::npu::Descriptor d;
        d.nodes.push_back(n.name);
        d.payload = std::move(sd);
        m_program->add_descriptor(std::move(d));
    }
    place(ni, sim::Placement::Lowered, "sdp",
          "parts not on channel-atom boundaries (or not written by an NPU layer): SDP copies each "
          "into its slice");
}

}  // namespace xpusim::lower::npu
