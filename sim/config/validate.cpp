// Strict validation of a merged tree against a schema. A misspelled key must never fall back
// to a default silently, so every key is either a parameter, a group of parameters, or an
// error naming the nearest valid key.
#include <utility>

#include "sim/config/values.h"

namespace xpusim::sim::config::detail {

namespace {

std::string list_keys(const std::vector<std::string>& keys) {
    const std::size_t shown = 12;
    std::string text;
    for (std::size_t i = 0; i < keys.size() && i < shown; ++i) text += (i ? ", " : "") + keys[i];
    if (keys.size() > shown) text += ", ...";
    return text;
}

void validate_map(const TreeNode& map, const std::string& prefix, const Schema& schema,
                  std::map<std::string, Config::Value>& out) {
    for (const auto& entry : map.items) {
        const std::string path = join_path(prefix, entry.key);
        if (const ParamSpec* spec = schema.find(path)) {
            out[path] = convert_value(entry, *spec, path);
        } else if (schema.is_group(path)) {
            if (!entry.is_map())
                fail(entry.where(), path,
                     "expected a map of keys (" + list_keys(schema.keys_under(path)) + "), got " +
                         describe_node(entry));
            validate_map(entry, path, schema, out);
        } else {
            const std::string hint = schema.suggest(path);
            fail(entry.key_origin, path,
                 "unknown key (" +
                     (hint.empty() ? "valid keys here: " + list_keys(schema.keys_under(prefix))
                                   : "did you mean '" + hint + "'?") +
                     ")");
        }
    }
}

}  // namespace

Config ConfigAccess::build(const TreeNode& root, std::shared_ptr<const Schema> schema,
                           const std::string& source, const std::string& stem) {
    Config config;
    validate_map(root, "", *schema, config.m_values);
    for (const auto& spec : schema->params()) {
        if (config.m_values.count(spec.path)) continue;
        if (!spec.default_value) fail(Origin{source}, spec.path, "missing required key");
        config.m_values[spec.path] = default_value(spec);
    }
    Config::Value& name = config.m_values.at("name");
    if (std::get<std::string>(name.data).empty()) {
        name.data = stem;
        name.text = stem;
    }
    config.m_target = std::get<std::string>(config.m_values.at("target").data);
    config.m_name = name.text;
    config.m_source = source;
    config.m_schema = std::move(schema);
    return config;
}

}  // namespace xpusim::sim::config::detail
