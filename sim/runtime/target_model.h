// The simulation half of a target: Program + inputs -> Results. Each target's models/<target>/
// folder registers one under the target's name; the app looks it up by the config's `target:`
// key, so the core never names a target. A model reads the chip's parameters from the Spec its
// Program carries, never from the config.
//
// TargetModelFor<ProgramT> does what every model repeats: the cast to its Program type, a fresh
// SystemC kernel for the run, the target name, and collecting every memory's counters. A target
// writes only run().
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sim/error.h"
#include "sim/registry.h"
#include "sim/runtime/program.h"
#include "sim/runtime/results.h"
#include "sim/runtime/simulation_context.h"

namespace xpusim::sim {

using TensorMap = std::map<std::string, Tensor>;

struct RunOptions {
    uint64_t seed = 0;
    bool timing_only = false;  // skip the numeric work; every timing decision stays the same
    bool keep_values = false;  // fill Results::values (ignored when timing_only)
    // ... with at most this many bytes of values (in the order the run produces them; the
    // graph outputs are compared whatever this is)
    uint64_t keep_values_bytes = uint64_t{256} << 20;
};

class TargetModel {
  public:
    virtual ~TargetModel() = default;
    /// @brief Simulates `program` on `inputs`. Deterministic: the same arguments give
    /// bit-identical Results.
    virtual Results simulate(const Program& program, const TensorMap& inputs,
                             const RunOptions& options) const = 0;
};

template <class ProgramT>
class TargetModelFor : public TargetModel {
  public:
    Results simulate(const Program& program, const TensorMap& inputs,
                     const RunOptions& options) const final {
        const auto* typed = dynamic_cast<const ProgramT*>(&program);
        if (!typed)
            throw Error("this model runs another target's programs, not '" + program.target() +
                        "' ones");
        Results results;
        results.target = program.target();
        SimulationContext context;
        run(*typed, inputs, options, results);
        results.memory = context.memory_reports();
        return results;
    }

  protected:
    /// @brief Elaborates the chip inside the current SimulationContext, runs it and fills
    /// `results` (outputs, cycles, ops, units, energy, roofline, trace).
    virtual void run(const ProgramT& program, const TensorMap& inputs, const RunOptions& options,
                     Results& results) const = 0;
};

/// A registered model: how to make it, and whether it is the golden reference every other
/// target is compared against (the driver does not compare the reference with itself).
struct TargetModelEntry {
    std::function<std::unique_ptr<TargetModel>()> create;
    bool is_reference = false;
};

/// @brief The models of every target built in.
Registry<TargetModelEntry>& target_models();

struct TargetModelRegistration {
    TargetModelRegistration(const std::string& target,
                            std::function<std::unique_ptr<TargetModel>()> create,
                            bool is_reference = false) {
        target_models().add(target, {std::move(create), is_reference});
    }
};

}  // namespace xpusim::sim
