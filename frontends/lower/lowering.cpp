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
    // A node may be folded into one that a later pass folded too (a QuantizeLinear into the
    // BatchNormalization that then went into its Conv): it is placed where that chain ends.
    std::map<std::string, std::string> into_of;
    for (const auto& f : graph.folded) into_of[f.name] = f.into;
    for (const auto& f : graph.folded) {
        std::string into = f.into;
        for (std::size_t hops = 0; into_of.count(into) && into_of[into] != into &&
                                   hops < graph.folded.size();
             ++hops)
            into = into_of[into];
        placements.push_back(
            {f.name, f.op_type, sim::Placement::Lowered, unit_of[into], f.reason, into});
    }
}

}  // namespace xpusim::lower
