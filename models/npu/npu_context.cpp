#include "models/npu/npu_context.h"

#include "sim/error.h"

namespace xpusim::models::npu {

std::ostream& operator<<(std::ostream& os, const PipeItem& item) {
    return os << "item(desc " << item.desc << " #" << item.index << ", " << item.elems << " elems)";
}

NpuContext::NpuContext(const isa::npu::NpuProgram& prog, bool timing)
    : program(prog), spec(prog.spec), timing_only(timing), memory(prog) {
    const std::size_t nd = prog.descriptors.size(), ns = prog.surfaces.size();
    m_downstream.assign(nd, -1);
    m_plans.resize(nd);
    m_stats.resize(nd);
    for (const auto& d : prog.descriptors) {
        if (d.source < 0) continue;
        if (d.source >= static_cast<int32_t>(nd) || d.source >= d.id)
            throw sim::Error("NPU program: descriptor " + std::to_string(d.id) +
                             " is fused to a descriptor that does not precede it");
        if (m_downstream[static_cast<std::size_t>(d.source)] >= 0)
            throw sim::Error("NPU program: descriptor " + std::to_string(d.source) +
                             " feeds two fused descriptors");
        m_downstream[static_cast<std::size_t>(d.source)] = d.id;
    }
    m_ready.assign(ns, 0);
    m_ready_ns.assign(ns, 0.0);
    m_external.assign(ns, 0);
    m_slices.resize(ns);
    for (std::size_t i = 0; i < ns; ++i) {
        const auto& sf = prog.surfaces[i];
        m_events.push_back(std::make_unique<sc_core::sc_event>());
        // Constants are in memory before the run; the host writes the graph's inputs over its
        // link (HostUnit), and an input surface no binding names is there from the start.
        if (sf.kind == "const" || sf.kind == "input") m_ready[i] = m_external[i] = 1;
        if (sf.kind == "slice" && sf.alias >= 0)
            m_slices[static_cast<std::size_t>(sf.alias)].push_back(sf.id);
    }
    for (const auto& b : prog.inputs) m_ready.at(static_cast<std::size_t>(b.surface)) = 0;
}

const ConvPlan& NpuContext::conv_plan(int32_t id) {
    auto& p = m_plans.at(static_cast<std::size_t>(id));
    if (!p) {
        const auto* conv = std::get_if<isa::npu::ConvDesc>(&desc(id).payload);
        if (!conv)
            throw sim::Error("NPU program: descriptor " + std::to_string(id) + " is not a conv");
        p = std::make_unique<ConvPlan>(make_conv_plan(*conv, spec));
    }
    return *p;
}

std::vector<int32_t> NpuContext::leaves(int32_t surface) const {
    // Through a chain of views (any length) to the surface that holds the bytes.
    for (std::size_t hops = 0; program.surface(surface).kind == "view"; ++hops) {
        if (hops > program.surfaces.size()) throw sim::ModelError("NPU program: view alias cycle");
        surface = program.surface(surface).alias;
    }
    std::vector<int32_t> out;
    const auto& slices = m_slices[static_cast<std::size_t>(surface)];
    if (slices.empty()) out.push_back(surface);
    for (int32_t child : slices) {
        const auto more = leaves(child);
        out.insert(out.end(), more.begin(), more.end());
    }
    return out;
}

void NpuContext::wait_ready(int32_t surface, int32_t desc) {
    const double t0 = now_ns();
    double ready_at = 0;
    bool produced = false;
    for (int32_t leaf : leaves(surface)) {
        const auto i = static_cast<std::size_t>(leaf);
        while (!m_ready[i]) sc_core::wait(*m_events[i]);
        ready_at = std::max(ready_at, m_ready_ns[i]);
        produced = produced || !m_external[i];
    }
    // The layer that wrote it raises an interrupt; the controller then enables its dependents.
    if (produced)
        ready_at += static_cast<double>(spec.sequencer.dependency_cycles) * spec.cycle_ns();
    if (ready_at > now_ns()) sc_core::wait(sc_time(ready_at - now_ns(), sc_core::SC_NS));
    if (desc >= 0) stats(desc).stall_dependency_ns += now_ns() - t0;
}

void NpuContext::mark_ready(int32_t surface) {
    const auto i = static_cast<std::size_t>(surface);
    m_ready[i] = 1;
    m_ready_ns[i] = now_ns();
    m_events[i]->notify(sc_core::SC_ZERO_TIME);
}

}  // namespace xpusim::models::npu
