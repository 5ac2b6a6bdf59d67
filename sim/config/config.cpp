#include "sim/config/config.h"

#include "sim/config/values.h"

namespace xpusim::sim::config {

std::string Origin::str() const {
    return line > 0 ? file + ":" + std::to_string(line) : file;
}

const Schema& Config::schema() const {
    if (!m_schema) throw ConfigError("empty config: no target loaded");
    return *m_schema;
}

const Config::Value& Config::value(const std::string& path) const {
    auto it = m_values.find(path);
    if (it != m_values.end()) return it->second;
    std::string message = m_source + ": " + path + ": no such parameter";
    if (m_schema) {
        message += " for target '" + m_target + "'";
        const std::string hint = m_schema->suggest(path);
        if (!hint.empty()) message += " (did you mean '" + hint + "'?)";
    }
    throw ConfigError(message);
}

namespace {

[[noreturn]] void wrong_type(const std::string& path, const Config::Value& v, const char* asked) {
    throw ConfigError(path + ": the parameter is of type " + param_type_name(v.type) + ", not " +
                      asked);
}

}  // namespace

int64_t Config::get_int(const std::string& path) const {
    const Value& v = value(path);
    if (v.type != ParamType::Int) wrong_type(path, v, "int");
    return std::get<int64_t>(v.data);
}

double Config::get_double(const std::string& path) const {
    const Value& v = value(path);
    if (v.type == ParamType::Int) return static_cast<double>(std::get<int64_t>(v.data));
    if (v.type != ParamType::Float) wrong_type(path, v, "float");
    return std::get<double>(v.data);
}

bool Config::get_bool(const std::string& path) const {
    const Value& v = value(path);
    if (v.type != ParamType::Bool) wrong_type(path, v, "bool");
    return std::get<bool>(v.data);
}

std::string Config::get_string(const std::string& path) const {
    const Value& v = value(path);
    if (v.type != ParamType::String) wrong_type(path, v, "string");
    return std::get<std::string>(v.data);
}

std::vector<int64_t> Config::get_int_list(const std::string& path) const {
    const Value& v = value(path);
    if (v.type != ParamType::IntList) wrong_type(path, v, "int list");
    return std::get<std::vector<int64_t>>(v.data);
}

std::vector<double> Config::get_double_list(const std::string& path) const {
    const Value& v = value(path);
    if (v.type == ParamType::IntList) {
        const auto& ints = std::get<std::vector<int64_t>>(v.data);
        return std::vector<double>(ints.begin(), ints.end());
    }
    if (v.type != ParamType::FloatList) wrong_type(path, v, "float list");
    return std::get<std::vector<double>>(v.data);
}

Origin Config::origin(const std::string& path) const {
    return value(path).origin;
}

std::map<std::string, std::string> Config::flat() const {
    std::map<std::string, std::string> out;
    for (const auto& [path, v] : m_values) out[path] = v.text;
    return out;
}

namespace {

// The parameter paths as a tree in the schema's order, for writing nested YAML.
struct YamlLine {
    std::string key;
    const Config::Value* value = nullptr;  // null for a group
    std::vector<YamlLine> children;
};

void insert_line(YamlLine& group, const std::string& path, std::size_t start,
                 const Config::Value* value) {
    const std::size_t dot = path.find('.', start);
    const std::string key = path.substr(start, dot == std::string::npos ? dot : dot - start);
    YamlLine* child = nullptr;
    for (auto& c : group.children)
        if (c.key == key) child = &c;
    if (!child) {
        YamlLine line;
        line.key = key;
        group.children.push_back(std::move(line));
        child = &group.children.back();
    }
    if (dot == std::string::npos) {
        child->value = value;
    } else {
        insert_line(*child, path, dot + 1, value);
    }
}

void write_lines(const YamlLine& group, int indent, std::string& out) {
    for (const auto& line : group.children) {
        out.append(static_cast<std::size_t>(indent), ' ');
        out += line.key + ":";
        if (line.value) {
            const Config::Value& v = *line.value;
            out += " " + (v.type == ParamType::String ? detail::yaml_quote(v.text) : v.text) + "\n";
        } else {
            out += "\n";
            write_lines(line, indent + 2, out);
        }
    }
}

}  // namespace

std::string Config::to_yaml() const {
    YamlLine root;
    for (const auto& spec : schema().params()) insert_line(root, spec.path, 0, &value(spec.path));
    std::string out;
    write_lines(root, 0, out);
    return out;
}

}  // namespace xpusim::sim::config
