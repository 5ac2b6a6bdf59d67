// The driver: the one place that chains the stages
//   load (frontends/onnx) -> lower (frontends/lower/<target>) -> simulate (models/<target>)
//   -> compare with the reference executor -> write outputs, stats.json, trace.json.
// The command line and the Python module are thin layers over these functions, so both give
// the same numbers bit for bit.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "frontends/lower/lowering.h"
#include "frontends/onnx/graph.h"
#include "sim/config/config.h"
#include "sim/runtime/results.h"

namespace xpusim::app {

using TensorMap = std::map<std::string, sim::Tensor>;

struct RunRequest {
    std::string model_path;
    std::string config;                              // a preset name or a YAML path
    std::vector<std::string> overrides;              // "path=value"
    std::map<std::string, std::string> input_files;  // input name -> .npy path
    TensorMap input_tensors;                         // given directly (Python)
    std::map<std::string, sim::Shape> shapes;        // --shape, for dynamic dimensions
    uint64_t seed = 0;
    bool timing_only = false;
    /// Where int8 targets calibrate: a folder (--calibration), samples given directly (Python),
    /// or, with neither, quant.samples inputs drawn from seed + 1000 (never the run's inputs).
    std::string calibration_dir;
    std::vector<TensorMap> calibration_samples;
    /// The most bytes one tensor may take (--max-tensor-gib): sizes a model's data implies are
    /// checked against it before anything is allocated.
    uint64_t max_tensor_bytes = sim::TensorLimit::kDefaultMaxTensorBytes;
};

struct RunOutcome {
    std::string model_path;
    sim::config::Config config;
    TensorMap inputs;      // every input the run used, given or drawn
    sim::Results results;  // untimed (no cycles) when the design is infeasible
    std::vector<lower::NodePlacement> placements;
    std::vector<std::string> notes;  // the lowering's lines for `check`
    std::vector<sim::Problem> problems;  // why the design cannot run the model; empty: feasible
    std::optional<lower::CalibrationUse> calibration;
    nlohmann::json numerics;  // per output vs the reference; null for reference / timing-only
    // Per graph node: its output's deviation from the reference, where the target held that
    // value in memory (a node fused into another has none of its own); stats.json
    // ops[i].numerics and the check table's rel_l2 column.
    nlohmann::json op_numerics = nlohmann::json::object();

    bool feasible() const { return problems.empty(); }
    /// @brief "infeasible on CONFIG: <first problem> (+N more)", for one line on stderr.
    std::string infeasible_message() const;
    /// @brief The stats.json document (see docs/DESIGN.md, "stats.json").
    nlohmann::json stats_json() const;
};

/// @brief Throws sim::Error when the built-in targets do not line up: every registered schema
/// needs a lowering and a model of the same name, and each of those a schema. Called once at
/// start-up by the command line and the Python module.
void check_target_registrations();

/// @brief The calibration samples a request asks for (see RunRequest).
lower::CalibrationSet calibration_set(const RunRequest& request);

/// @brief The config loader over the default preset search path.
sim::config::ConfigLoader config_loader();

/// @brief Loads the model with input shapes from the given inputs and --shape.
frontend::Graph load_graph(const RunRequest& request, TensorMap& inputs);

/// @brief Lowers and simulates a prepared graph on one config; compares with the reference
/// executor unless the target is the reference or `timing_only`. An infeasible design (the
/// lowering reports problems) is not simulated.
RunOutcome run_graph(const frontend::Graph& graph, const sim::config::Config& config,
                     const TensorMap& inputs, uint64_t seed, bool timing_only,
                     const lower::CalibrationSet& calibration);

/// @brief The whole run: load config and model, read or draw inputs, lower, simulate, compare.
RunOutcome run(const RunRequest& request);

/// @brief Writes OUTDIR/outputs/*.npy, OUTDIR/inputs/*.npy, stats.json and trace.json.
void write_outcome(const RunOutcome& outcome, const std::string& outdir);

/// @brief rel_l2, max_abs and cosine of every output against the reference's.
nlohmann::json compare_outputs(const TensorMap& got, const TensorMap& reference);

/// @brief A name made safe for a file: characters outside [A-Za-z0-9_.-] become '_'.
std::string safe_file_name(const std::string& name);

/// @brief "1x3x224x224" -> {1, 3, 224, 224}; ModelError on anything else.
sim::Shape parse_shape(const std::string& text);

}  // namespace xpusim::app
