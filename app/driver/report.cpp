#include "app/driver/report.h"

#include <iomanip>
#include <sstream>

namespace xpusim::app {

namespace {

std::string fmt(double v, int precision = 4) {
    std::ostringstream s;
    s << std::setprecision(precision) << v;
    return s.str();
}

std::string or_dash(const std::optional<double>& v, double scale, const std::string& unit) {
    return v ? fmt(*v * scale) + unit : "-";
}

// The largest rel-L2 over the outputs, or nullopt when there are no numerics.
std::optional<double> worst_rel_l2(const nlohmann::json& numerics) {
    if (!numerics.is_object() || numerics.empty()) return std::nullopt;
    double worst = 0;
    for (const auto& [name, m] : numerics.items())
        worst = std::max(worst, m.contains("rel_l2") ? m["rel_l2"].get<double>() : 1e30);
    return worst;
}

}  // namespace

std::string format_run_summary(const RunOutcome& o) {
    const sim::Results& r = o.results;
    std::ostringstream s;
    s << "target " << o.config.target() << " (" << o.config.name() << "), " << r.ops.size()
      << " ops\n";
    if (!o.feasible()) {
        s << "infeasible: not timed\n";
    } else if (r.cycles) {
        s << "cycles " << *r.cycles << ", latency " << or_dash(r.latency_s(), 1e3, " ms")
          << ", energy " << or_dash(r.energy_j, 1e3, " mJ") << '\n';
    } else {
        s << "no timing model (reference executor); host wall time " << fmt(r.wall_seconds * 1e3)
          << " ms\n";
    }
    if (o.numerics.is_object())
        for (const auto& [name, m] : o.numerics.items()) {
            s << "output " << name << ": ";
            if (m.contains("rel_l2"))
                s << "rel_l2 " << fmt(m["rel_l2"].get<double>()) << ", cosine "
                  << fmt(m["cosine"].get<double>(), 6);
            else
                s << m.value("error", "");
            s << '\n';
        }
    const std::size_t shown = 3;
    for (std::size_t i = 0; i < o.problems.size() && i < shown; ++i)
        s << o.problems[i].kind << ": " << o.problems[i].where << ": " << o.problems[i].message
          << '\n';
    if (o.problems.size() > shown)
        s << "(" << o.problems.size() - shown << " more problems in stats.json)\n";
    return s.str();
}

CheckReport make_check_report(const RunOutcome& o, std::optional<double> max_rel_err_arg) {
    const double max_rel_err =
        max_rel_err_arg ? *max_rel_err_arg : o.config.get_double("numerics.max_rel_l2");
    CheckReport rep;
    std::ostringstream s;
    nlohmann::json ops = nlohmann::json::array();
    int counts[3] = {0, 0, 0};
    // rel_l2: the node's output against the reference, where the target held it in memory
    // ("-": fused into another node, or no numerics in a timing-only run).
    s << std::left << std::setw(32) << "node" << std::setw(22) << "op" << std::setw(9) << "placed"
      << std::setw(12) << "unit" << std::setw(11) << "rel_l2"
      << "why\n";
    for (const auto& p : o.placements) {
        counts[static_cast<int>(p.placement)]++;
        const nlohmann::json* m = o.op_numerics.contains(p.node) ? &o.op_numerics[p.node] : nullptr;
        s << std::setw(32) << p.node << std::setw(22) << p.op_type << std::setw(9)
          << sim::placement_name(p.placement) << std::setw(12) << p.unit << std::setw(11)
          << (m ? fmt((*m)["rel_l2"].get<double>(), 3) : "-") << p.reason << '\n';
        ops.push_back({{"node", p.node},
                       {"op_type", p.op_type},
                       {"placement", sim::placement_name(p.placement)},
                       {"unit", p.unit},
                       {"reason", p.reason}});
        if (m) ops.back()["numerics"] = *m;
    }
    s << counts[0] << " native, " << counts[1] << " lowered, " << counts[2] << " on the host\n";
    for (const auto& n : o.notes) s << n << '\n';
    std::vector<std::string> failures;
    for (const auto& p : o.problems) failures.push_back(p.kind + ": " + p.message);
    if (o.numerics.is_object())
        for (const auto& [name, m] : o.numerics.items()) {
            if (!m.contains("rel_l2")) {
                failures.push_back("output " + name + ": " + m.value("error", "no comparison"));
                continue;
            }
            const double rel = m["rel_l2"].get<double>();
            s << "output " << name << ": rel_l2 " << fmt(rel) << ", max_abs "
              << fmt(m["max_abs"].get<double>()) << ", cosine " << fmt(m["cosine"].get<double>(), 6)
              << '\n';
            if (!(rel <= max_rel_err))
                failures.push_back("output " + name + ": rel_l2 " + fmt(rel) +
                                   " exceeds --max-rel-err " + fmt(max_rel_err));
        }
    rep.deployable = failures.empty();
    for (const auto& f : failures) s << "FAIL " << f << '\n';
    s << (rep.deployable ? "deployable" : "NOT deployable") << " on " << o.config.name() << " ("
      << o.config.target() << ")\n";
    rep.text = s.str();
    nlohmann::json problems = nlohmann::json::array();
    for (const auto& p : o.problems)
        problems.push_back({{"kind", p.kind}, {"where", p.where}, {"message", p.message}});
    rep.json = {
        {"target", o.config.target()}, {"config", o.config.name()}, {"deployable", rep.deployable},
        {"feasible", o.feasible()},    {"problems", problems},      {"ops", ops},
        {"numerics", o.numerics},      {"failures", failures},      {"max_rel_err", max_rel_err}};
    return rep;
}

std::pair<std::string, nlohmann::json> format_compare_table(
    const std::vector<RunOutcome>& outcomes) {
    std::ostringstream s;
    nlohmann::json rows = nlohmann::json::array();
    s << std::left << std::setw(16) << "config" << std::setw(11) << "target" << std::right
      << std::setw(14) << "cycles" << std::setw(14) << "latency" << std::setw(14) << "energy"
      << std::setw(12) << "host ops" << std::setw(14) << "worst rel_l2" << std::setw(12) << "wall"
      << '\n';
    for (const auto& o : outcomes) {
        const auto& r = o.results;
        int host = 0;
        for (const auto& p : o.placements) host += p.placement == sim::Placement::Host;
        const auto worst = worst_rel_l2(o.numerics);
        s << std::left << std::setw(16) << o.config.name() << std::setw(11) << o.config.target()
          << std::right << std::setw(14)
          << (!o.feasible() ? "infeasible"
              : r.cycles    ? std::to_string(*r.cycles)
                            : "-")
          << std::setw(14) << or_dash(r.latency_s(), 1e3, " ms") << std::setw(14)
          << or_dash(r.energy_j, 1e3, " mJ") << std::setw(12) << host << std::setw(14)
          << (worst ? fmt(*worst, 3) : "-") << std::setw(12) << fmt(r.wall_seconds * 1e3, 3) + " ms"
          << '\n';
        rows.push_back(
            {{"config", o.config.name()},
             {"target", o.config.target()},
             {"cycles", r.cycles ? nlohmann::json(*r.cycles) : nlohmann::json()},
             {"latency_s", r.latency_s() ? nlohmann::json(*r.latency_s()) : nlohmann::json()},
             {"energy_j", r.energy_j ? nlohmann::json(*r.energy_j) : nlohmann::json()},
             {"host_ops", host},
             {"feasible", o.feasible()},
             {"problem", o.feasible() ? nlohmann::json() : nlohmann::json(o.infeasible_message())},
             {"worst_rel_l2", worst ? nlohmann::json(*worst) : nlohmann::json()},
             {"wall_s", r.wall_seconds}});
    }
    return {s.str(), rows};
}

}  // namespace xpusim::app
