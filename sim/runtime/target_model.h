// The simulation half of a target: Program + config + inputs -> Results. Each target's
// models/<target>/ folder registers one under the target's name; the app looks it up by the
// config's `target:` key, so the core never names a target.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sim/config/config.h"
#include "sim/runtime/program.h"
#include "sim/runtime/results.h"

namespace xpusim::sim {

struct RunOptions {
    uint64_t seed = 0;
    bool timing_only = false;  // skip the numeric work; every timing decision stays the same
};

class TargetModel {
public:
    virtual ~TargetModel() = default;
    /// @brief Simulates `program` on `inputs`. Deterministic: the same arguments give
    /// bit-identical Results.
    virtual Results simulate(const Program& program, const config::Config& config,
                             const std::map<std::string, Tensor>& inputs,
                             const RunOptions& options) const = 0;
};

class TargetModelRegistry {
public:
    using Factory = std::function<std::unique_ptr<TargetModel>()>;
    static TargetModelRegistry& instance();
    void add(const std::string& target, Factory factory);
    /// @brief Throws UnsupportedError naming the known targets if `target` is not registered.
    std::unique_ptr<TargetModel> create(const std::string& target) const;
    std::vector<std::string> names() const;

private:
    std::map<std::string, Factory> m_factories;
};

struct TargetModelRegistration {
    TargetModelRegistration(const std::string& target, TargetModelRegistry::Factory f) {
        TargetModelRegistry::instance().add(target, std::move(f));
    }
};

}  // namespace xpusim::sim
