// The compiler half of a target: Graph + Spec -> Program, with a placement for every node.
// Each frontends/lower/<target>/ folder registers one Lowering under the target's name. A
// lowering derives from LoweringFor<Spec>, which parses the Spec from the config once; the
// Program it returns carries that Spec to the model.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "frontends/lower/calibration.h"
#include "frontends/onnx/graph.h"
#include "sim/config/fields.h"
#include "sim/registry.h"
#include "sim/runtime/program.h"
#include "sim/runtime/results.h"

namespace xpusim::lower {

using frontend::Graph;
using TensorMap = std::map<std::string, sim::Tensor>;

/// How one graph node maps onto the target, and why (for `xpusim check`).
struct NodePlacement {
    std::string node;
    std::string op_type;
    sim::Placement placement = sim::Placement::Native;
    std::string unit;
    std::string reason;  // why it is lowered or on the host; empty when native
    std::string into;    // a node folded by a graph pass: the node that computes it
};

/// @brief UnsupportedError naming the first node with an input or output whose shape is only
/// known at run time (a target must size every buffer before it runs) or that has no elements
/// (legal ONNX, which the reference executor runs; a chip's tiling has nothing to map it to).
void require_mappable_shapes(const Graph& graph, const std::string& target);

/// @brief Placements of the nodes graph passes folded away (graph.folded): lowered, on the unit
/// of the node each went into (looked up in `placements`), with the pass's reason.
void add_folded_placements(const Graph& graph, std::vector<NodePlacement>& placements);

struct LoweredModel {
    std::unique_ptr<sim::Program> program;
    std::vector<NodePlacement> placements;
    /// What keeps the model from running on this design point (a buffer or a memory too
    /// small). Any problem makes the design infeasible: the driver does not time it, and `check`
    /// fails. A lowering that cannot proceed at all throws instead.
    std::vector<sim::Problem> problems;
    /// Lines `check` prints beside its table (the GPU: how much of HBM the model needs).
    std::vector<std::string> notes;
    /// Where the int8 scales came from, when the lowering quantized.
    std::optional<CalibrationUse> calibration;
};

struct LowerOptions {
    uint64_t seed = 0;
    bool timing_only = false;
    /// Where int8 lowerings take their calibration samples from (never the run's inputs).
    const CalibrationSet* calibration = nullptr;
};

class Lowering {
  public:
    virtual ~Lowering() = default;
    virtual LoweredModel lower(const Graph& graph, const sim::config::Config& config,
                               const LowerOptions& options) const = 0;
};

/// A lowering for one Spec type: the config is parsed once, here, and the Spec handed on.
template <class SpecT>
class LoweringFor : public Lowering {
  public:
    LoweredModel lower(const Graph& graph, const sim::config::Config& config,
                       const LowerOptions& options) const final {
        return lower_spec(graph, sim::config::parse_spec<SpecT>(config), options);
    }

  protected:
    /// @brief The program must carry `spec` for the model to read.
    virtual LoweredModel lower_spec(const Graph& graph, const SpecT& spec,
                                    const LowerOptions& options) const = 0;
};

using LoweringFactory = std::function<std::unique_ptr<Lowering>()>;

/// @brief The lowerings of every target built in.
sim::Registry<LoweringFactory>& lowerings();

struct LoweringRegistration {
    LoweringRegistration(const std::string& target, LoweringFactory f) {
        lowerings().add(target, std::move(f));
    }
};

}  // namespace xpusim::lower
