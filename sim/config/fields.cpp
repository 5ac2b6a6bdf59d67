#include "sim/config/fields.h"

#include "sim/config/values.h"

namespace xpusim::sim::config {

void SchemaBuilder::field(const std::string& key, int64_t& v, const char* unit,
                          const char* description, Range r) {
    m_schema.add_int(path(key), unit, description, v, r.min, r.max);
}

void SchemaBuilder::field(const std::string& key, double& v, const char* unit,
                          const char* description, Range r) {
    m_schema.add_float(path(key), unit, description, v, r.min, r.max);
}

void SchemaBuilder::field(const std::string& key, std::vector<int64_t>& v, const char* unit,
                          const char* description, Range r) {
    m_schema.add_int_list(path(key), unit, description, v, r.min, r.max);
}

void SchemaBuilder::field(const std::string& key, std::vector<double>& v, const char* unit,
                          const char* description, Range r) {
    m_schema.add_float_list(path(key), unit, description, v, r.min, r.max);
}

void SchemaBuilder::flag(const std::string& key, bool& v, const char* description) {
    m_schema.add_bool(path(key), description, v);
}

void SchemaBuilder::text(const std::string& key, std::string& v, const char* description,
                         std::vector<std::string> choices) {
    m_schema.add_string(path(key), description, v, std::move(choices));
}

namespace {

template <class T, class Format>
std::string list_text(const std::vector<T>& values, Format format) {
    std::string s = "[";
    for (std::size_t i = 0; i < values.size(); ++i) s += (i ? ", " : "") + format(values[i]);
    return s + "]";
}

}  // namespace

void FieldWriter::field(const std::string& key, int64_t& v, const char*, const char*, Range) {
    m_lines.push_back(path(key) + "=" + std::to_string(v));
}

void FieldWriter::field(const std::string& key, double& v, const char*, const char*, Range) {
    m_lines.push_back(path(key) + "=" + detail::format_double(v));
}

void FieldWriter::field(const std::string& key, std::vector<int64_t>& v, const char*, const char*,
                        Range) {
    m_lines.push_back(path(key) + "=" + list_text(v, [](int64_t x) { return std::to_string(x); }));
}

void FieldWriter::field(const std::string& key, std::vector<double>& v, const char*, const char*,
                        Range) {
    m_lines.push_back(path(key) + "=" + list_text(v, detail::format_double));
}

void FieldWriter::flag(const std::string& key, bool& v, const char*) {
    m_lines.push_back(path(key) + "=" + (v ? "true" : "false"));
}

void FieldWriter::text(const std::string& key, std::string& v, const char*,
                       const std::vector<std::string>&) {
    m_lines.push_back(path(key) + "=" + detail::yaml_quote(v));
}

Config config_from_lines(const std::string& target, const std::vector<std::string>& lines) {
    return ConfigLoader({}).load_string("target: " + detail::yaml_quote(target) + "\n",
                                        "(program spec)", lines);
}

}  // namespace xpusim::sim::config
