// The driver's verdicts: an output the target did not produce fails `check`; an infeasible
// design is not deployable whatever its numbers; the preset's numerics.max_rel_l2 is check's
// default threshold.
#include <catch2/catch.hpp>

#include "app/driver/driver.h"
#include "app/driver/report.h"

using namespace xpusim;

namespace {

app::RunOutcome outcome(const std::string& extra_yaml = "") {
    app::RunOutcome o;
    o.config =
        sim::config::ConfigLoader({}).load_string("target: reference\n" + extra_yaml, "test.yaml");
    return o;
}

sim::Tensor vec(std::vector<float> v) {
    return sim::Tensor::from_vector<float>({static_cast<int64_t>(v.size())}, v);
}

}  // namespace

TEST_CASE("driver: an output the target did not produce fails check", "[driver]") {
    const app::TensorMap reference = {{"a", vec({1, 2})}, {"b", vec({3, 4})}};
    const app::TensorMap got = {{"a", vec({1, 2})}};
    app::RunOutcome o = outcome();
    o.numerics = app::compare_outputs(got, reference);
    CHECK(o.numerics["a"]["rel_l2"] == 0.0);
    CHECK(o.numerics["b"].contains("error"));
    const auto report = app::make_check_report(o);
    CHECK_FALSE(report.deployable);
    CHECK_THAT(report.text, Catch::Contains("output b: the target produced no value"));
}

TEST_CASE("driver: check's default threshold is the preset's numerics.max_rel_l2", "[driver]") {
    // rel_l2 of (1, 2.1) against (1, 2) = 0.1 / sqrt(5) = 0.0447
    const app::TensorMap reference = {{"y", vec({1, 2})}};
    const app::TensorMap got = {{"y", vec({1, 2.1f})}};
    app::RunOutcome loose = outcome("numerics: {max_rel_l2: 0.05}\n");
    app::RunOutcome tight = outcome("numerics: {max_rel_l2: 0.04}\n");
    loose.numerics = tight.numerics = app::compare_outputs(got, reference);
    CHECK(loose.numerics["y"]["rel_l2"].get<double>() ==
          Approx(0.1 / std::sqrt(5.0)).epsilon(1e-6));
    CHECK(app::make_check_report(loose).deployable);
    CHECK_FALSE(app::make_check_report(tight).deployable);
    CHECK(app::make_check_report(tight, 0.05).deployable);  // --max-rel-err wins
}

TEST_CASE("driver: an infeasible design is not deployable and says why", "[driver]") {
    app::RunOutcome o = outcome();
    o.problems.push_back({"capacity", "conv1", "CBUF: one kernel group does not fit"});
    CHECK_FALSE(o.feasible());
    CHECK(o.infeasible_message() == "infeasible on test: CBUF: one kernel group does not fit");
    const auto report = app::make_check_report(o);
    CHECK_FALSE(report.deployable);
    CHECK(report.json["feasible"] == false);
    const auto stats = o.stats_json();
    CHECK(stats["feasible"] == false);
    CHECK(stats["latency_s"].is_null());
    CHECK(stats["problems"][0]["where"] == "conv1");
}
