// Loading a configuration: a YAML file or preset, with `preset:` bases, `!include` files and
// `--set` overrides merged in that order, then strictly validated against the schema of the
// target it names. The result, Config, is plain copyable data; models read typed values from
// it and never see YAML. Every mistake is a ConfigError naming the file, line and key path.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "sim/config/schema.h"
#include "sim/error.h"

namespace xpusim::sim::config {

/// @brief Where a value came from: a file and line, a `--set` override, or "(default)".
struct Origin {
    std::string file;
    int line = 0;    ///< 1-based; 0 when not from a file line
    int column = 0;  ///< 1-based; 0 when unknown
    /// @brief "file:line", or just `file` ("--set a.b=c", "(default)") when there is no line.
    std::string str() const;
};

namespace detail {
struct ConfigAccess;
}

/// @brief A loaded, merged and validated configuration: every schema parameter has a value.
class Config {
  public:
    /// One resolved parameter.
    struct Value {
        ParamType type = ParamType::Int;
        std::variant<int64_t, double, bool, std::string, std::vector<int64_t>, std::vector<double>>
            data;
        std::string text;  ///< as flat() prints it
        Origin origin;
    };

    /// An empty config (no target); only for default-constructed holders.
    Config() = default;

    const std::string& target() const { return m_target; }
    /// `name:` if given, else the stem of the preset or file loaded.
    const std::string& name() const { return m_name; }
    /// The file path it was loaded from, or the origin name given to load_string.
    const std::string& source() const { return m_source; }
    const Schema& schema() const;

    bool has(const std::string& path) const { return m_values.count(path) > 0; }
    /// @brief Typed getters; throw ConfigError for an unknown path or a different type.
    int64_t get_int(const std::string& path) const;
    /// Int parameters are accepted too.
    double get_double(const std::string& path) const;
    bool get_bool(const std::string& path) const;
    std::string get_string(const std::string& path) const;
    std::vector<int64_t> get_int_list(const std::string& path) const;
    /// IntList parameters are accepted too.
    std::vector<double> get_double_list(const std::string& path) const;
    /// @brief Where the effective value of `path` came from.
    Origin origin(const std::string& path) const;
    const Value& value(const std::string& path) const;

    /// @brief Every parameter path -> its value as text: integers in decimal, floats in the
    /// shortest form that reads back exactly, true/false, lists as "[1, 2]", strings unquoted.
    std::map<std::string, std::string> flat() const;
    /// @brief The fully resolved tree (defaults filled) in schema order; loading it again
    /// gives the same flat().
    std::string to_yaml() const;

  private:
    friend struct detail::ConfigAccess;

    std::shared_ptr<const Schema> m_schema;
    std::string m_target, m_name, m_source;
    std::map<std::string, Value> m_values;
};

class ConfigLoader {
  public:
    /// @brief search_dirs: preset folders, searched in order, each recursively for
    /// <name>.yaml (or .yml). Folders that do not exist are skipped.
    explicit ConfigLoader(std::vector<std::string> search_dirs);

    /// @brief $XPUSIM_CONFIG_PATH (':'-separated), then <exe dir>/../configs and
    /// <exe dir>/../../configs, then `fallback_dir`; only folders that exist, without repeats.
    static std::vector<std::string> default_search_dirs(const std::string& fallback_dir);

    /// @brief `file_or_preset` is a file if it names an existing file, contains '/' or ends in
    /// .yaml/.yml, otherwise a preset name. `overrides` are "path.to.key=value" strings; the
    /// value is a YAML scalar or flow list ("[1, 2]"). They apply in order, after all files.
    Config load(const std::string& file_or_preset,
                const std::vector<std::string>& overrides = {}) const;
    /// @brief As load(), from YAML text; `origin_name` names it in messages, and relative
    /// !include paths are taken from the current directory.
    Config load_string(const std::string& yaml_text, const std::string& origin_name,
                       const std::vector<std::string>& overrides = {}) const;

    struct PresetInfo {
        std::string name, target, path, description;
    };
    /// @brief Every YAML file under the search dirs that has a `target:` (directly or through
    /// its `preset:` chain), sorted by name; an earlier search dir hides a later one.
    std::vector<PresetInfo> list_presets() const;
    /// @brief The parameter table of a registered target; ConfigError for an unknown one.
    std::string describe(const std::string& target) const;

    const std::vector<std::string>& search_dirs() const { return m_search_dirs; }

  private:
    std::vector<std::string> m_search_dirs;
};

}  // namespace xpusim::sim::config
