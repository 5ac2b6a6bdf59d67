// Energy accounting: every unit counts its events (MACs by precision, bytes of SRAM and DRAM
// traffic, ...), each priced in pJ by the config; static power is charged for the whole run.
// The presets give each price a source or mark it as an estimate.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace xpusim::sim {

class EnergyAccount {
public:
    /// @brief Records `count` events of `event` ("mxu.mac_int8") priced at `pj_each` picojoules,
    /// charged to `unit` in the breakdown.
    void add(const std::string& unit, const std::string& event, double count, double pj_each);
    /// @brief Static (leakage + clock tree) power, charged for `seconds`.
    void add_static(double watts, double seconds);

    double total_joules() const;
    /// @brief {"mxu": {"joules": .., "events": {"mac_int8": {"count": .., "pj_each": ..}}}, ...}
    nlohmann::json breakdown() const;

private:
    struct Event {
        double count = 0;
        double pj_each = 0;
    };
    std::map<std::string, std::map<std::string, Event>> m_units;
    double m_static_j = 0;
};

}  // namespace xpusim::sim
