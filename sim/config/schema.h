// The parameters a target accepts. Each target builds one Schema in its own folder and registers
// it by name; the loader validates every config against the schema its `target:` names, and
// `xpusim config describe` prints it, so the descriptions and units double as documentation.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "sim/registry.h"

namespace xpusim::sim::config {

enum class ParamType { Int, Float, Bool, String, IntList, FloatList };

/// @brief "int", "float", "bool", "string", "int list", "float list".
const char* param_type_name(ParamType type);

struct ParamSpec {
    std::string path;  ///< dotted key path, e.g. "mxu.rows"
    ParamType type = ParamType::Int;
    std::string unit;         ///< "cycles", "MHz", "GB/s", "KiB", "pJ", "" for none
    std::string description;  ///< one line, printed by `xpusim config describe`
    /// The value as Config::flat() prints it ("256", "0.5", "true", "[1, 2]"; a String param's
    /// text unquoted); nullopt makes the parameter required.
    std::optional<std::string> default_value;
    std::optional<double> min, max;    ///< inclusive range of the value (of each list element)
    std::vector<std::string> choices;  ///< allowed values of a String param (empty: any)
};

/// @brief The parameters one target accepts. `target`, `name`, `description` and
/// `numerics.max_rel_l2` are implicit: every config has them.
/// Adding a malformed parameter (bad path, duplicate, default outside its own range) throws
/// std::logic_error: it is a bug in the target, not in a user's config.
class Schema {
  public:
    Schema(std::string target, std::string description);

    Schema& add(ParamSpec p);
    Schema& add_int(const std::string& path, const std::string& unit,
                    const std::string& description, std::optional<int64_t> def,
                    std::optional<double> min = {}, std::optional<double> max = {});
    Schema& add_float(const std::string& path, const std::string& unit,
                      const std::string& description, std::optional<double> def,
                      std::optional<double> min = {}, std::optional<double> max = {});
    Schema& add_bool(const std::string& path, const std::string& description,
                     std::optional<bool> def);
    Schema& add_string(const std::string& path, const std::string& description,
                       std::optional<std::string> def, std::vector<std::string> choices = {});
    Schema& add_int_list(const std::string& path, const std::string& unit,
                         const std::string& description, std::optional<std::vector<int64_t>> def,
                         std::optional<double> min = {}, std::optional<double> max = {});
    Schema& add_float_list(const std::string& path, const std::string& unit,
                           const std::string& description, std::optional<std::vector<double>> def,
                           std::optional<double> min = {}, std::optional<double> max = {});

    const std::string& target() const { return m_target; }
    const std::string& description() const { return m_description; }
    /// In the order they were added; the implicit ones come first.
    const std::vector<ParamSpec>& params() const { return m_params; }
    const ParamSpec* find(const std::string& path) const;
    /// @brief True for a proper prefix of some parameter path ("mxu" for "mxu.rows").
    bool is_group(const std::string& path) const { return m_groups.count(path) > 0; }
    /// @brief The valid key path nearest to a misspelled or misplaced one, or "".
    std::string suggest(const std::string& path) const;
    /// @brief The keys directly below a group ("" for the top level), sorted.
    std::vector<std::string> keys_under(const std::string& group) const;
    /// @brief A table: path, type, unit, default, range or choices, description.
    std::string describe() const;

  private:
    std::string m_target;
    std::string m_description;
    std::vector<ParamSpec> m_params;
    std::map<std::string, std::size_t> m_index;
    std::set<std::string> m_groups;
};

/// @brief The schemas of all targets, by target name. Targets add theirs during static
/// initialization (see SchemaRegistration); afterwards it is only read. Shared ownership, so
/// that a loaded Config keeps its schema alive.
Registry<std::shared_ptr<const Schema>>& schemas();

/// @brief `static SchemaRegistration reg(make_tpu_schema());` registers a schema at start-up.
struct SchemaRegistration {
    explicit SchemaRegistration(Schema s);
};

/// @brief The candidate nearest to `key` by case-insensitive edit distance, or "" when none is
/// within about a third of the key's length. Ties go to the earlier candidate.
std::string nearest_name(const std::string& key, const std::vector<std::string>& candidates);

}  // namespace xpusim::sim::config
