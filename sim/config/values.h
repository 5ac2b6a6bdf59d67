// Turning tree nodes into typed parameter values, and values back into text. Internal to
// sim/config.
#pragma once

#include <memory>
#include <string>

#include "sim/config/config.h"
#include "sim/config/tree.h"

namespace xpusim::sim::config::detail {

/// @brief The shortest decimal text that reads back as exactly `v` (locale-independent).
std::string format_double(double v);
/// @brief A string as a YAML scalar: plain when that reads back as the same string, else
/// double-quoted.
std::string yaml_quote(const std::string& s);
/// @brief "an empty value", "a map", "a list", "'abc'", "the quoted string \"12\"".
std::string describe_node(const TreeNode& node);

/// @brief Checks `node` against `spec` (type, range, choices) and converts it; ConfigError
/// naming node's origin and `path` otherwise.
Config::Value convert_value(const TreeNode& node, const ParamSpec& spec, const std::string& path);
/// @brief The value of spec.default_value, with origin "(default)"; spec must have one.
Config::Value default_value(const ParamSpec& spec);

/// Builds Configs; the one friend of Config.
struct ConfigAccess {
    /// @brief Validates a fully merged tree (a map) against `schema`: no unknown keys, every
    /// value of the right type and range, every required key present; fills in defaults.
    static Config build(const TreeNode& root, std::shared_ptr<const Schema> schema,
                        const std::string& source, const std::string& stem);
};

}  // namespace xpusim::sim::config::detail
