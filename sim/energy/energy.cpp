#include "sim/energy/energy.h"

namespace xpusim::sim {

void EnergyAccount::add(const std::string& unit, const std::string& event, double count,
                        double pj_each) {
    Event& e = m_units[unit][event];
    e.count += count;
    e.pj_each = pj_each;
}

void EnergyAccount::add_static(double watts, double seconds) {
    m_static_j += watts * seconds;
}

double EnergyAccount::total_joules() const {
    double pj = 0;
    for (const auto& [unit, events] : m_units)
        for (const auto& [name, e] : events) pj += e.count * e.pj_each;
    return pj * 1e-12 + m_static_j;
}

nlohmann::json EnergyAccount::breakdown() const {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [unit, events] : m_units) {
        double pj = 0;
        nlohmann::json ev = nlohmann::json::object();
        for (const auto& [name, e] : events) {
            pj += e.count * e.pj_each;
            ev[name] = {{"count", e.count}, {"pj_each", e.pj_each}};
        }
        out[unit] = {{"joules", pj * 1e-12}, {"events", ev}};
    }
    out["static"] = {{"joules", m_static_j}};
    return out;
}

}  // namespace xpusim::sim
