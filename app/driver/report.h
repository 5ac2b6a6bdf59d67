// Human-readable summaries of runs: the `run` summary, the `check` verdict and the `compare`
// table (each also as JSON for scripts).
#pragma once

#include <nlohmann/json.hpp>
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

/// @brief Deployable when every op has a placement, no capacity limit is exceeded and every
/// output's rel-L2 deviation from the reference is at most `max_rel_err`.
CheckReport make_check_report(const RunOutcome& outcome, double max_rel_err);

/// @brief One row per outcome: target, config, cycles, latency, energy, worst deviation.
std::pair<std::string, nlohmann::json> format_compare_table(const std::vector<RunOutcome>& outcomes);

}  // namespace xpusim::app
