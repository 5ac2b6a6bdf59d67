// Runs ONNX backend-test folders (model.onnx + test_data_set_N/{input,output}_K.pb) on a target
// and compares with the expected outputs the way ONNX's backend test runner does.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace xpusim::app {

struct ConformanceCase {
    std::string name;
    std::string path;
    enum class Verdict { Pass, Fail, Skip } verdict = Verdict::Pass;
    std::string detail;  // why it failed or was skipped
};

struct ConformanceOptions {
    std::string config = "reference";
    std::vector<std::string> overrides;
    std::string filter;  // run only tests whose name contains this
    // numpy.testing.assert_allclose tolerances, the ONNX backend runner's defaults.
    double rtol = 1e-3;
    double atol = 1e-7;
};

/// @brief Every test folder under `dirs` (a folder holding model.onnx, or a folder of such
/// folders), sorted by name.
std::vector<std::string> find_conformance_tests(const std::vector<std::string>& dirs);

/// @brief Runs one test folder. Never throws: every failure is a Fail or Skip verdict.
ConformanceCase run_conformance_case(const std::string& dir, const ConformanceOptions& options);

/// @brief Runs every test, calling `report` after each.
std::vector<ConformanceCase> run_conformance(
    const std::vector<std::string>& dirs, const ConformanceOptions& options,
    const std::function<void(const ConformanceCase&)>& report);

}  // namespace xpusim::app
