// Human-readable summaries of runs: the `run` summary, the `check` verdict and the `compare`
// table (each also as JSON for scripts).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "app/driver/driver.h"

namespace xpusim::app {

std::string format_run_summary(const RunOutcome& outcome);

struct CheckReport {
    bool deployable = true;
    std::string text;
    nlohmann::json json;
};

/// @brief Deployable when the design is feasible (no capacity limit exceeded), every output
/// was produced, and every output's rel-L2 deviation from the reference is at most
/// `max_rel_err` (by default the config's numerics.max_rel_l2).
CheckReport make_check_report(const RunOutcome& outcome,
                              std::optional<double> max_rel_err = std::nullopt);

/// @brief One row per outcome: target, config, cycles, latency, energy, worst deviation.
std::pair<std::string, nlohmann::json> format_compare_table(
    const std::vector<RunOutcome>& outcomes);

}  // namespace xpusim::app
