// The compiler half of a target: Graph + config -> Program, with a placement for every node.
// Each frontends/lower/<target>/ folder registers one Lowering under the target's name.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "frontends/onnx/graph.h"
#include "sim/config/config.h"
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
};

struct LoweredModel {
    std::unique_ptr<sim::Program> program;
    std::vector<NodePlacement> placements;
    /// Capacity limits the model exceeds on this target (a buffer, a memory): each one makes
    /// `check` fail. A lowering that cannot proceed at all throws CapacityError instead.
    std::vector<std::string> capacity_problems;
};

struct LowerOptions {
    uint64_t seed = 0;
    bool timing_only = false;
    /// Inputs the run will use; quantizing lowerings calibrate their scales on them.
    const TensorMap* calibration_inputs = nullptr;
};

class Lowering {
public:
    virtual ~Lowering() = default;
    virtual LoweredModel lower(const Graph& graph, const sim::config::Config& config,
                               const LowerOptions& options) const = 0;
};

class LoweringRegistry {
public:
    using Factory = std::function<std::unique_ptr<Lowering>()>;
    static LoweringRegistry& instance();
    void add(const std::string& target, Factory factory);
    /// @brief Throws UnsupportedError naming the known targets if none is registered.
    std::unique_ptr<Lowering> create(const std::string& target) const;
    std::vector<std::string> names() const;

private:
    std::map<std::string, Factory> m_factories;
};

struct LoweringRegistration {
    LoweringRegistration(const std::string& target, LoweringRegistry::Factory f) {
        LoweringRegistry::instance().add(target, std::move(f));
    }
};

}  // namespace xpusim::lower
