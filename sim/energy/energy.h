// Energy accounting: every unit counts its events (MACs by precision, bytes of SRAM and DRAM
// traffic, ...), each priced in pJ by the config; static power is charged for the whole run.
// The presets give each price a source or mark it as an estimate.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace xpusim::sim {

/// The energy prices every target declares under `energy.`; each target's own energy block
/// adds its units' events after these (see isa/<target>/*_spec.h).
struct EnergyCommon {
    double static_w = 1.0;          // leakage, clock tree and idle units, for the whole run
    double dram_byte_pj = 20.0;     // one byte of off-chip memory traffic
    double host_link_byte_pj = 10;  // one byte over the host link

    template <class V>
    void visit(V& v) {
        v.field("static_w", static_w, "W",
                "static power (leakage, clocks, idle units), charged for the whole run", {0, 1e5});
        v.field("dram_byte_pj", dram_byte_pj, "pJ", "one byte of off-chip memory traffic",
                {0, 1e6});
        v.field("host_link_byte_pj", host_link_byte_pj, "pJ", "one byte over the host link",
                {0, 1e6});
    }
};

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
