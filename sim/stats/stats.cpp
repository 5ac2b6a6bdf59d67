#include "sim/stats/stats.h"

#include "sim/error.h"

namespace xpusim::sim {

StatsRegistry::Stat& StatsRegistry::declare(const std::string& name, const std::string& unit,
                                            const std::string& description) {
    Stat& s = m_stats[name];
    s.unit = unit;
    s.description = description;
    return s;
}

void StatsRegistry::add(const std::string& name, double delta) {
    m_stats[name].value += delta;
}

void StatsRegistry::set(const std::string& name, double value) {
    m_stats[name].value = value;
}

double StatsRegistry::get(const std::string& name) const {
    auto it = m_stats.find(name);
    return it == m_stats.end() ? 0.0 : it->second.value;
}

nlohmann::json StatsRegistry::to_json() const {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [name, stat] : m_stats) {
        nlohmann::json* node = &out;
        std::size_t start = 0;
        for (std::size_t dot = name.find('.'); dot != std::string::npos;
             dot = name.find('.', start)) {
            node = &(*node)[name.substr(start, dot - start)];
            if (!node->is_object() && !node->is_null())
                throw Error("stat '" + name + "' nests under a stat that has a value");
            start = dot + 1;
        }
        (*node)[name.substr(start)] = stat.value;
    }
    return out;
}

nlohmann::json StatsRegistry::describe_json() const {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [name, stat] : m_stats)
        out[name] = {{"unit", stat.unit}, {"description", stat.description}};
    return out;
}

}  // namespace xpusim::sim
