#include "frontends/lower/lowering.h"

namespace xpusim::lower {

sim::Registry<LoweringFactory>& lowerings() {
    static sim::Registry<LoweringFactory> registry("lowering");
    return registry;
}

void require_mappable_shapes(const Graph& graph, const std::string& target) {
    for (const auto& n : graph.nodes)
        for (const auto* names : {&n.inputs, &n.outputs})
            for (const auto& v : *names) {
                if (v.empty()) continue;
                const auto& info = graph.value(v);
                if (!info.shape_known)
                    throw sim::UnsupportedError(
                        target + ": " + n.describe() + ": the shape of '" + v +
                        "' is only known at run time (it depends on the data), and " + target +
                        " sizes every buffer before it runs");
                if (sim::shape_numel(info.shape) == 0)
                    throw sim::UnsupportedError(
                        target + ": " + n.describe() + ": tensor '" + v + "' of shape " +
                        sim::shape_str(info.shape) +
                        " has no elements; empty tensors are not mapped to " + target +
                        " (the reference target runs them)");
            }
}

void add_folded_placements(const Graph& graph, std::vector<NodePlacement>& placements) {
    std::map<std::string, std::string> unit_of;
    for (const auto& p : placements) unit_of[p.node] = p.unit;
    for (const auto& f : graph.folded)
        placements.push_back(
            {f.name, f.op_type, sim::Placement::Lowered, unit_of[f.into], f.reason, f.into});
}

}  // namespace xpusim::lower
