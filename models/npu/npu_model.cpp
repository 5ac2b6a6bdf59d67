// The `npu` target's simulation half: an NpuProgram + config + inputs -> Results, in a fresh
// SystemC kernel per run. Registered under "npu"; the app finds it by the config's target.
#include "models/npu/npu_results.h"
#include "models/npu/npu_top.h"
#include "sim/error.h"
#include "sim/runtime/simulation_context.h"
#include "sim/runtime/target_model.h"

namespace xpusim::models::npu {

namespace {

using isa::npu::NpuProgram;

// Structural checks a hand-written or parsed program may fail; plain errors before any SystemC.
void validate(const NpuProgram& p) {
    const auto ns = static_cast<int32_t>(p.surfaces.size());
    auto check_surface = [&](int32_t id, const std::string& what, bool optional) {
        if ((optional && id == -1) || (id >= 0 && id < ns)) return;
        throw sim::ModelError("NPU program: " + what + " names surface " + std::to_string(id) +
                              " of " + std::to_string(ns));
    };
    for (const auto& s : p.surfaces)
        check_surface(s.alias, "surface " + std::to_string(s.id) + " alias", true);
    for (const auto& b : p.inputs) check_surface(b.surface, "input '" + b.name + "'", false);
    for (const auto& b : p.outputs) check_surface(b.surface, "output '" + b.name + "'", false);
    std::vector<char> drained(p.descriptors.size(), 0);  // conv -> an SDP fused after it
    for (const auto& d : p.descriptors)
        if (d.source >= 0 && d.source < d.id && d.unit() == isa::npu::Unit::Sdp)
            drained[static_cast<std::size_t>(d.source)] = 1;
    for (const auto& d : p.descriptors) {
        if (d.unit() == isa::npu::Unit::Conv && !drained[static_cast<std::size_t>(d.id)])
            throw sim::ModelError(
                "NPU program: conv descriptor " + std::to_string(d.id) +
                " has no SDP fused after it (the conv pipeline drains through SDP)");
        const std::string where =
            std::string(isa::npu::unit_name(d.unit())) + " descriptor " + std::to_string(d.id);
        const isa::npu::Descriptor* up = d.source >= 0 && d.source < d.id
                                             ? &p.descriptors[static_cast<std::size_t>(d.source)]
                                             : nullptr;
        if (d.source >= 0 && !up)
            throw sim::ModelError("NPU program: " + where + " is fused to a later descriptor");
        if (const auto* c = std::get_if<isa::npu::ConvDesc>(&d.payload)) {
            if (c->mode != "direct" && c->mode != "image" && c->mode != "winograd")
                throw sim::ModelError("NPU program: " + where + " has mode '" + c->mode +
                                      "' (expected direct, image or winograd)");
            check_surface(c->src, where + " src", false);
            check_surface(c->weight, where + " weight", false);
            if (d.source >= 0)
                throw sim::ModelError("NPU program: " + where +
                                      " cannot be fused after another unit");
        } else if (const auto* s = std::get_if<isa::npu::SdpDesc>(&d.payload)) {
            if (up && up->unit() != isa::npu::Unit::Conv)
                throw sim::ModelError("NPU program: " + where +
                                      " is fused after a non-conv descriptor");
            if (!up) check_surface(s->src, where + " src", false);
            check_surface(s->dst, where + " dst", true);
            for (const auto& st : s->stages) {
                check_surface(st.operand, where + " operand", true);
                check_surface(st.param, where + " param", true);
                check_surface(st.table, where + " table", true);
            }
        } else if (const auto* pd = std::get_if<isa::npu::PdpDesc>(&d.payload)) {
            if (up && (up->unit() != isa::npu::Unit::Sdp ||
                       std::get<isa::npu::SdpDesc>(up->payload).dst >= 0))
                throw sim::ModelError("NPU program: " + where +
                                      " must follow an SDP that writes no surface");
            if (!up) check_surface(pd->src, where + " src", false);
            check_surface(pd->dst, where + " dst", false);
        } else if (const auto* cd = std::get_if<isa::npu::CdpDesc>(&d.payload)) {
            check_surface(cd->src, where + " src", false);
            check_surface(cd->dst, where + " dst", false);
        } else if (const auto* b = std::get_if<isa::npu::BdmaDesc>(&d.payload)) {
            check_surface(b->src, where + " src", false);
            check_surface(b->dst, where + " dst", false);
        } else if (const auto* h = std::get_if<isa::npu::HostDesc>(&d.payload)) {
            for (int32_t s2 : h->inputs) check_surface(s2, where + " input", false);
            for (int32_t s2 : h->outputs) check_surface(s2, where + " output", false);
        }
    }
}

class NpuModel : public sim::TargetModelFor<NpuProgram> {
  protected:
    void run(const NpuProgram& program, const sim::TensorMap& inputs,
             const sim::RunOptions& options, sim::Results& results) const override {
        validate(program);
        NpuContext ctx(program, options.timing_only);
        if (!options.timing_only)
            for (const auto& b : program.inputs) {
                auto it = inputs.find(b.name);
                if (it == inputs.end())
                    throw sim::ModelError("NPU run: no value for input '" + b.name + "'");
                ctx.memory.load_input(b.surface, it->second);
            }
        auto* top = sim::make_owned<NpuTop>("npu", ctx);
        sim::SimulationContext::current()->run();
        collect_results(ctx, *top, results);
        if (options.keep_values && !options.timing_only)
            for (const auto& s : program.surfaces)
                if (s.kind != "const" && s.kind != "input" && !s.name.empty() &&
                    ctx.memory.written(s.id))
                    results.keep_value(s.name, ctx.memory.read_real(s.id).reshaped(s.shape), options.keep_values_bytes);
    }
};

const sim::TargetModelRegistration s_model{"npu", [] { return std::make_unique<NpuModel>(); }};

}  // namespace
}  // namespace xpusim::models::npu
