// A registry of named statistics (gem5-style "unit.stat" names), each with a unit and a
// one-line description, dumped as nested JSON into stats.json.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace xpusim::sim {

class StatsRegistry {
  public:
    struct Stat {
        double value = 0.0;
        std::string unit;
        std::string description;
    };

    /// @brief Declares (or redeclares) a stat; `name` is dotted: "mxu0.busy_cycles".
    Stat& declare(const std::string& name, const std::string& unit, const std::string& description);
    /// @brief Adds to a stat, declaring it without unit/description if new.
    void add(const std::string& name, double delta);
    void set(const std::string& name, double value);
    /// @brief 0 if never declared.
    double get(const std::string& name) const;
    bool has(const std::string& name) const { return m_stats.count(name) != 0; }
    const std::map<std::string, Stat>& all() const { return m_stats; }

    /// @brief {"mxu0": {"busy_cycles": 123}} — nested by the dotted names.
    nlohmann::json to_json() const;
    /// @brief {"mxu0.busy_cycles": {"unit": "cycles", "description": "..."}}.
    nlohmann::json describe_json() const;

  private:
    std::map<std::string, Stat> m_stats;
};

}  // namespace xpusim::sim
