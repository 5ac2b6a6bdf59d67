#include "sim/config/schema.h"

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "sim/config/values.h"

namespace xpusim::sim::config {

const char* param_type_name(ParamType type) {
    switch (type) {
        case ParamType::Int:
            return "int";
        case ParamType::Float:
            return "float";
        case ParamType::Bool:
            return "bool";
        case ParamType::String:
            return "string";
        case ParamType::IntList:
            return "int list";
        case ParamType::FloatList:
            return "float list";
    }
    return "?";
}

namespace {

std::string last_segment(const std::string& path) {
    const std::size_t dot = path.rfind('.');
    return dot == std::string::npos ? path : path.substr(dot + 1);
}

bool is_key_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

}  // namespace

Schema::Schema(std::string target, std::string description)
    : m_target(std::move(target)), m_description(std::move(description)) {
    add_string("target", "the target this config is for ('" + m_target + "')", std::nullopt);
    add_string("name", "name of this configuration (empty: the preset or file name)", "");
    add_string("description", "one line about this configuration", "");
    add_float("numerics.max_rel_l2", "",
              "largest rel-L2 deviation of an output from the fp32 reference this design point "
              "is expected to meet (the default of `check --max-rel-err`)",
              0.05, 0, 1e9);
}

Schema& Schema::add(ParamSpec p) {
    auto bad = [&](const std::string& why) {
        throw std::logic_error("schema '" + m_target + "': parameter '" + p.path + "': " + why);
    };
    std::size_t start = 0;
    while (true) {
        const std::size_t dot = p.path.find('.', start);
        const std::string segment =
            p.path.substr(start, dot == std::string::npos ? dot : dot - start);
        if (segment.empty() || !std::all_of(segment.begin(), segment.end(), is_key_char))
            bad("a path is dot-separated names of [A-Za-z0-9_-]");
        if (segment == "preset") bad("'preset' is reserved for preset references");
        if (dot == std::string::npos) break;
        if (m_index.count(p.path.substr(0, dot))) bad("a parent path is itself a parameter");
        start = dot + 1;
    }
    if (m_index.count(p.path)) bad("declared twice");
    if (m_groups.count(p.path)) bad("it is already a group of parameters");
    if (!p.choices.empty() && p.type != ParamType::String) bad("choices need a string parameter");
    if ((p.min || p.max) && (p.type == ParamType::Bool || p.type == ParamType::String))
        bad("a range needs a numeric parameter");
    if (p.min && p.max && *p.min > *p.max) bad("minimum above maximum");
    if (p.default_value) {
        try {
            p.default_value = detail::default_value(p).text;
        } catch (const ConfigError& e) {
            bad(std::string("bad default: ") + e.what());
        }
    }
    for (std::size_t dot = p.path.find('.'); dot != std::string::npos;
         dot = p.path.find('.', dot + 1))
        m_groups.insert(p.path.substr(0, dot));
    m_index[p.path] = m_params.size();
    m_params.push_back(std::move(p));
    return *this;
}

Schema& Schema::add_int(const std::string& path, const std::string& unit,
                        const std::string& description, std::optional<int64_t> def,
                        std::optional<double> min, std::optional<double> max) {
    std::optional<std::string> text;
    if (def) text = std::to_string(*def);
    return add(ParamSpec{path, ParamType::Int, unit, description, text, min, max, {}});
}

Schema& Schema::add_float(const std::string& path, const std::string& unit,
                          const std::string& description, std::optional<double> def,
                          std::optional<double> min, std::optional<double> max) {
    std::optional<std::string> text;
    if (def) text = detail::format_double(*def);
    return add(ParamSpec{path, ParamType::Float, unit, description, text, min, max, {}});
}

Schema& Schema::add_bool(const std::string& path, const std::string& description,
                         std::optional<bool> def) {
    std::optional<std::string> text;
    if (def) text = *def ? "true" : "false";
    return add(ParamSpec{path, ParamType::Bool, "", description, text, {}, {}, {}});
}

Schema& Schema::add_string(const std::string& path, const std::string& description,
                           std::optional<std::string> def, std::vector<std::string> choices) {
    return add(ParamSpec{
        path, ParamType::String, "", description, std::move(def), {}, {}, std::move(choices)});
}

namespace {

template <class T, class Format>
std::optional<std::string> list_text(const std::optional<std::vector<T>>& values, Format format) {
    if (!values) return std::nullopt;
    std::string text = "[";
    for (std::size_t i = 0; i < values->size(); ++i) text += (i ? ", " : "") + format((*values)[i]);
    return text + "]";
}

}  // namespace

Schema& Schema::add_int_list(const std::string& path, const std::string& unit,
                             const std::string& description,
                             std::optional<std::vector<int64_t>> def, std::optional<double> min,
                             std::optional<double> max) {
    auto text = list_text(def, [](int64_t v) { return std::to_string(v); });
    return add(ParamSpec{path, ParamType::IntList, unit, description, text, min, max, {}});
}

Schema& Schema::add_float_list(const std::string& path, const std::string& unit,
                               const std::string& description,
                               std::optional<std::vector<double>> def, std::optional<double> min,
                               std::optional<double> max) {
    auto text = list_text(def, detail::format_double);
    return add(ParamSpec{path, ParamType::FloatList, unit, description, text, min, max, {}});
}

const ParamSpec* Schema::find(const std::string& path) const {
    auto it = m_index.find(path);
    return it == m_index.end() ? nullptr : &m_params[it->second];
}

std::vector<std::string> Schema::keys_under(const std::string& group) const {
    const std::string prefix = group.empty() ? "" : group + ".";
    std::set<std::string> keys;
    for (const auto& p : m_params) {
        if (p.path.compare(0, prefix.size(), prefix) != 0) continue;
        const std::string rest = p.path.substr(prefix.size());
        keys.insert(rest.substr(0, rest.find('.')));
    }
    return {keys.begin(), keys.end()};
}

std::string Schema::suggest(const std::string& path) const {
    std::vector<std::string> all;
    for (const auto& p : m_params)
        if (p.path != path) all.push_back(p.path);
    for (const auto& group : m_groups)
        if (group != path) all.push_back(group);

    // A typo below the deepest group that exists: compare only the part after it, so that a
    // long shared prefix does not make unrelated keys look close.
    std::string parent;
    for (std::size_t dot = path.find('.'); dot != std::string::npos;
         dot = path.find('.', dot + 1)) {
        if (!is_group(path.substr(0, dot))) break;
        parent = path.substr(0, dot);
    }
    const std::string prefix = parent.empty() ? "" : parent + ".";
    std::vector<std::string> relative;
    for (const auto& name : all)
        if (name.compare(0, prefix.size(), prefix) == 0)
            relative.push_back(name.substr(prefix.size()));
    const std::string near = nearest_name(path.substr(prefix.size()), relative);
    if (!near.empty()) return prefix + near;

    // The right key under the wrong parent (`rows:` at the top instead of `mxu.rows`).
    const std::string last = last_segment(path);
    for (const auto& name : all)
        if (last_segment(name) == last) return name;
    return nearest_name(path, all);
}

std::string Schema::describe() const {
    std::vector<std::vector<std::string>> rows;
    rows.push_back({"PATH", "TYPE", "UNIT", "DEFAULT", "RANGE", "DESCRIPTION"});
    for (const auto& p : m_params) {
        std::string def = "(required)";
        if (p.default_value)
            def = p.type == ParamType::String ? detail::yaml_quote(*p.default_value)
                                              : *p.default_value;
        std::string range;
        if (!p.choices.empty()) {
            for (const auto& c : p.choices) range += (range.empty() ? "" : "|") + c;
        } else if (p.min && p.max) {
            range =
                "[" + detail::format_double(*p.min) + ", " + detail::format_double(*p.max) + "]";
        } else if (p.min) {
            range = ">= " + detail::format_double(*p.min);
        } else if (p.max) {
            range = "<= " + detail::format_double(*p.max);
        }
        rows.push_back({p.path, param_type_name(p.type), p.unit, def, range, p.description});
    }
    std::vector<std::size_t> widths(rows[0].size(), 0);
    for (const auto& row : rows)
        for (std::size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());

    std::string out = m_target + ": " + m_description + "\n\n";
    for (const auto& row : rows) {
        std::string line;
        for (std::size_t c = 0; c < row.size(); ++c) {
            line += row[c];
            if (c + 1 < row.size()) line.append(widths[c] - row[c].size() + 2, ' ');
        }
        out += line + "\n";
    }
    return out;
}

Registry<std::shared_ptr<const Schema>>& schemas() {
    static Registry<std::shared_ptr<const Schema>> registry("schema");
    return registry;
}

SchemaRegistration::SchemaRegistration(Schema s) {
    const std::string target = s.target();
    schemas().add(target, std::make_shared<const Schema>(std::move(s)));
}

std::string nearest_name(const std::string& key, const std::vector<std::string>& candidates) {
    auto lower = [](std::string s) {
        for (char& c : s)
            if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        return s;
    };
    const std::string a = lower(key);
    // Allow about one edit per three characters; never a complete rewrite.
    const std::size_t limit = std::max<std::size_t>(1, (a.size() + 1) / 3);
    std::string best;
    std::size_t best_distance = limit + 1;
    // Edit distance counting a swap of two neighbours as one edit ("bsae" -> "base"): the
    // optimal-string-alignment variant of Levenshtein, over three rolling rows.
    std::vector<std::size_t> before, previous, current;
    for (const auto& candidate : candidates) {
        const std::string b = lower(candidate);
        before.assign(b.size() + 1, 0);
        previous.resize(b.size() + 1);
        current.resize(b.size() + 1);
        for (std::size_t j = 0; j <= b.size(); ++j) previous[j] = j;
        for (std::size_t i = 1; i <= a.size(); ++i) {
            current[0] = i;
            for (std::size_t j = 1; j <= b.size(); ++j) {
                const std::size_t substitute = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = std::min({substitute, previous[j] + 1, current[j - 1] + 1});
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                    current[j] = std::min(current[j], before[j - 2] + 1);
            }
            std::swap(before, previous);
            std::swap(previous, current);
        }
        const std::size_t distance = previous[b.size()];
        if (distance < best_distance && distance < a.size()) {
            best = candidate;
            best_distance = distance;
        }
    }
    return best;
}

}  // namespace xpusim::sim::config
