#include "frontends/lower/lowering.h"

namespace xpusim::lower {

LoweringRegistry& LoweringRegistry::instance() {
    static LoweringRegistry registry;
    return registry;
}

void LoweringRegistry::add(const std::string& target, Factory factory) {
    if (m_factories.count(target)) throw sim::Error("lowering '" + target + "' registered twice");
    m_factories[target] = std::move(factory);
}

std::unique_ptr<Lowering> LoweringRegistry::create(const std::string& target) const {
    auto it = m_factories.find(target);
    if (it == m_factories.end()) {
        std::string known;
        for (const auto& [name, f] : m_factories) known += (known.empty() ? "" : ", ") + name;
        throw sim::UnsupportedError("no lowering is built for target '" + target + "' (built: " +
                                    known + ")");
    }
    return it->second();
}

std::vector<std::string> LoweringRegistry::names() const {
    std::vector<std::string> out;
    for (const auto& [name, f] : m_factories) out.push_back(name);
    return out;
}

}  // namespace xpusim::lower
