#include "sim/runtime/target_model.h"

#include "sim/error.h"

namespace xpusim::sim {

const char* placement_name(Placement p) {
    switch (p) {
        case Placement::Native: return "native";
        case Placement::Lowered: return "lowered";
        case Placement::Host: return "host";
    }
    return "?";
}

TargetModelRegistry& TargetModelRegistry::instance() {
    static TargetModelRegistry registry;
    return registry;
}

void TargetModelRegistry::add(const std::string& target, Factory factory) {
    if (m_factories.count(target)) throw Error("target model '" + target + "' registered twice");
    m_factories[target] = std::move(factory);
}

std::unique_ptr<TargetModel> TargetModelRegistry::create(const std::string& target) const {
    auto it = m_factories.find(target);
    if (it == m_factories.end()) {
        std::string known;
        for (const auto& [name, f] : m_factories) known += (known.empty() ? "" : ", ") + name;
        throw UnsupportedError("no model is built for target '" + target + "' (built: " + known + ")");
    }
    return it->second();
}

std::vector<std::string> TargetModelRegistry::names() const {
    std::vector<std::string> out;
    for (const auto& [name, f] : m_factories) out.push_back(name);
    return out;
}

}  // namespace xpusim::sim
