// The one by-name registry of xpusim. Schemas, lowerings, target models and ONNX operators
// each keep one Registry<T>, filled from static initializers in the file that defines the
// entry (so adding a target or an op touches no list) and only read afterwards. Looking up a
// name nobody registered is an UnsupportedError that lists what is built.
#pragma once

#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "sim/error.h"

namespace xpusim::sim {

template <class T>
class Registry {
  public:
    /// @brief `kind` names the entries in messages: "target model", "lowering", "operator".
    explicit Registry(std::string kind) : m_kind(std::move(kind)) {}
    Registry(const Registry&) = delete;
    Registry& operator=(const Registry&) = delete;

    /// @brief Adds `entry` under `name`. A second entry with the same name is a bug in the
    /// program, not in a user's input: std::logic_error.
    void add(const std::string& name, T entry) {
        if (name.empty()) throw std::logic_error(m_kind + " registered without a name");
        if (!m_entries.emplace(name, std::move(entry)).second)
            throw std::logic_error(m_kind + " '" + name + "' registered twice");
    }

    /// @brief The entry, or nullptr.
    const T* find(const std::string& name) const {
        auto it = m_entries.find(name);
        return it == m_entries.end() ? nullptr : &it->second;
    }

    /// @brief The entry; UnsupportedError naming what is built if there is none.
    const T& get(const std::string& name) const {
        if (const T* entry = find(name)) return *entry;
        std::string built;
        for (const auto& [n, e] : m_entries) built += (built.empty() ? "" : ", ") + n;
        throw UnsupportedError("no " + m_kind + " is built for '" + name +
                               "' (built: " + (built.empty() ? "none" : built) + ")");
    }

    bool contains(const std::string& name) const { return m_entries.count(name) != 0; }
    /// Sorted.
    std::vector<std::string> names() const {
        std::vector<std::string> out;
        for (const auto& [n, e] : m_entries) out.push_back(n);
        return out;
    }
    const std::map<std::string, T>& entries() const { return m_entries; }
    const std::string& kind() const { return m_kind; }

  private:
    std::string m_kind;
    std::map<std::string, T> m_entries;
};

}  // namespace xpusim::sim
