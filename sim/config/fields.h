// A Spec declares each of its keys once, in a visit() that names the field, its YAML path, unit,
// range and description. The same list drives the schema (validation, defaults, `config
// describe`), the parse from a Config, and the text form a Program carries its Spec in, so the
// three cannot drift apart. A Spec's YAML path equals its field path: `mxu.rows` is
// `spec.mxu.rows`.
//
//   struct MxuSpec {
//       int64_t rows = 256;
//       MxuPrecision precision = MxuPrecision::Int8;
//       template <class V> void visit(V& v) {
//           v.field("rows", rows, "PEs", "rows of each systolic array", {1, 4096});
//           v.choice("precision", precision, "operand precision",
//                    {{MxuPrecision::Int8, "int8"}, {MxuPrecision::BFloat16, "bf16"}});
//       }
//   };
//   struct TpuSpec { MxuSpec mxu; ...
//       template <class V> void visit(V& v) { v.group("mxu", mxu); ... }
//       void validate(const Config&) const;   // optional: checks across fields
//   };
//
// The defaults are the values of a default-constructed Spec. Cross-field checks go in an
// optional `validate(const Config&) const`, called after every field is read.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "sim/config/config.h"

namespace xpusim::sim::config {

/// An inclusive range of a numeric field; either end may be open.
struct Range {
    std::optional<double> min, max;
    Range() = default;
    Range(double lo, double hi) : min(lo), max(hi) {}
    static Range at_least(double lo) {
        Range r;
        r.min = lo;
        return r;
    }
};

template <class E>
using EnumNames = std::vector<std::pair<E, const char*>>;

/// The path bookkeeping every visitor shares: group() descends into a nested Spec.
template <class Derived>
class FieldVisitor {
  public:
    template <class S>
    void group(const std::string& key, S& sub) {
        const std::string saved = m_prefix;
        m_prefix += key + ".";
        sub.visit(static_cast<Derived&>(*this));
        m_prefix = saved;
    }

  protected:
    std::string path(const std::string& key) const { return m_prefix + key; }

  private:
    std::string m_prefix;
};

/// Declares every field of a Spec in a Schema, with the visited value as its default.
class SchemaBuilder : public FieldVisitor<SchemaBuilder> {
  public:
    explicit SchemaBuilder(Schema& schema) : m_schema(schema) {}

    void field(const std::string& key, int64_t& v, const char* unit, const char* description,
               Range r = {});
    void field(const std::string& key, double& v, const char* unit, const char* description,
               Range r = {});
    void field(const std::string& key, std::vector<int64_t>& v, const char* unit,
               const char* description, Range r = {});
    void field(const std::string& key, std::vector<double>& v, const char* unit,
               const char* description, Range r = {});
    void flag(const std::string& key, bool& v, const char* description);
    void text(const std::string& key, std::string& v, const char* description,
              std::vector<std::string> choices = {});
    template <class E>
    void choice(const std::string& key, E& v, const char* description, const EnumNames<E>& names) {
        std::vector<std::string> choices;
        std::string def;
        for (const auto& [value, name] : names) {
            choices.emplace_back(name);
            if (value == v) def = name;
        }
        text(key, def, description, std::move(choices));
    }

  private:
    Schema& m_schema;
};

/// Reads every field of a Spec from a validated Config.
class ConfigReader : public FieldVisitor<ConfigReader> {
  public:
    explicit ConfigReader(const Config& config) : m_config(config) {}

    void field(const std::string& key, int64_t& v, const char*, const char*, Range = {}) {
        v = m_config.get_int(path(key));
    }
    void field(const std::string& key, double& v, const char*, const char*, Range = {}) {
        v = m_config.get_double(path(key));
    }
    void field(const std::string& key, std::vector<int64_t>& v, const char*, const char*,
               Range = {}) {
        v = m_config.get_int_list(path(key));
    }
    void field(const std::string& key, std::vector<double>& v, const char*, const char*,
               Range = {}) {
        v = m_config.get_double_list(path(key));
    }
    void flag(const std::string& key, bool& v, const char*) { v = m_config.get_bool(path(key)); }
    void text(const std::string& key, std::string& v, const char*,
              const std::vector<std::string>& = {}) {
        v = m_config.get_string(path(key));
    }
    template <class E>
    void choice(const std::string& key, E& v, const char*, const EnumNames<E>& names) {
        const std::string s = m_config.get_string(path(key));
        for (const auto& [value, name] : names)
            if (s == name) v = value;
    }

  private:
    const Config& m_config;
};

/// Writes every field as "path=value" in the form `--set` reads back (Program text).
class FieldWriter : public FieldVisitor<FieldWriter> {
  public:
    void field(const std::string& key, int64_t& v, const char*, const char*, Range = {});
    void field(const std::string& key, double& v, const char*, const char*, Range = {});
    void field(const std::string& key, std::vector<int64_t>& v, const char*, const char*,
               Range = {});
    void field(const std::string& key, std::vector<double>& v, const char*, const char*,
               Range = {});
    void flag(const std::string& key, bool& v, const char*);
    void text(const std::string& key, std::string& v, const char*,
              const std::vector<std::string>& = {});
    template <class E>
    void choice(const std::string& key, E& v, const char*, const EnumNames<E>& names) {
        for (const auto& [value, name] : names)
            if (value == v) m_lines.push_back(path(key) + "=" + name);
    }
    const std::vector<std::string>& lines() const { return m_lines; }

  private:
    std::vector<std::string> m_lines;
};

namespace detail {
template <class S, class = void>
struct has_validate : std::false_type {};
template <class S>
struct has_validate<
    S, std::void_t<decltype(std::declval<const S&>().validate(std::declval<const Config&>()))>>
    : std::true_type {};
}  // namespace detail

/// @brief The schema of a Spec type: every field, with a default-constructed Spec's values.
template <class S>
Schema spec_schema(const std::string& target, const std::string& description) {
    Schema schema(target, description);
    S defaults;
    SchemaBuilder builder(schema);
    defaults.visit(builder);
    return schema;
}

/// @brief Reads a Spec from a Config validated against spec_schema<S>(), then runs its
/// validate() if it has one.
template <class S>
S parse_spec(const Config& config) {
    S spec;
    ConfigReader reader(config);
    spec.visit(reader);
    if constexpr (detail::has_validate<S>::value) spec.validate(config);
    return spec;
}

/// @brief Every field of `spec` as "path=value" lines, in declaration order.
template <class S>
std::vector<std::string> spec_lines(S spec) {
    FieldWriter writer;
    spec.visit(writer);
    return writer.lines();
}

/// @brief The Config spec_lines() reads back to: the target's defaults with each "path=value"
/// line applied as an override, validated like any config (ConfigError names a bad line).
Config config_from_lines(const std::string& target, const std::vector<std::string>& lines);

/// @brief The Spec back from spec_lines(): parse_spec(config_from_lines(target, lines)).
template <class S>
S spec_from_lines(const std::string& target, const std::vector<std::string>& lines) {
    return parse_spec<S>(config_from_lines(target, lines));
}

}  // namespace xpusim::sim::config
