#include "sim/config/values.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>

namespace xpusim::sim::config::detail {

namespace {

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
bool is_hex_digit(char c) {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

enum class ParseStatus { Ok, Malformed, Overflow };

// YAML 1.2 core-schema integers: [-+]?[0-9]+ or 0x[0-9a-fA-F]+.
ParseStatus parse_int(const std::string& text, int64_t& out) {
    std::size_t i = 0;
    bool negative = false;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
    int base = 10;
    if (text.size() - i > 2 && text[i] == '0' && (text[i + 1] == 'x' || text[i + 1] == 'X')) {
        base = 16;
        i += 2;
    }
    if (i == text.size()) return ParseStatus::Malformed;
    for (std::size_t j = i; j < text.size(); ++j)
        if (!(base == 16 ? is_hex_digit(text[j]) : is_digit(text[j])))
            return ParseStatus::Malformed;
    uint64_t magnitude = 0;
    auto [end, ec] = std::from_chars(text.data() + i, text.data() + text.size(), magnitude, base);
    if (ec != std::errc() || end != text.data() + text.size()) return ParseStatus::Overflow;
    const uint64_t limit = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    if (magnitude > limit + (negative ? 1 : 0)) return ParseStatus::Overflow;
    out = negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude);
    return ParseStatus::Ok;
}

// Decimal numbers with an optional fraction and exponent; no inf, nan or hex floats.
ParseStatus parse_double(const std::string& text, double& out) {
    if (text.empty()) return ParseStatus::Malformed;
    std::size_t i = 0;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
    const std::size_t start = text[0] == '+' ? 1 : 0;
    std::size_t digits = 0;
    while (i < text.size() && is_digit(text[i])) ++i, ++digits;
    if (i < text.size() && text[i] == '.') {
        ++i;
        while (i < text.size() && is_digit(text[i])) ++i, ++digits;
    }
    if (digits == 0) return ParseStatus::Malformed;
    if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
        ++i;
        if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
        std::size_t exponent_digits = 0;
        while (i < text.size() && is_digit(text[i])) ++i, ++exponent_digits;
        if (exponent_digits == 0) return ParseStatus::Malformed;
    }
    if (i != text.size()) return ParseStatus::Malformed;
    auto [end, ec] = std::from_chars(text.data() + start, text.data() + text.size(), out);
    if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(out))
        return ParseStatus::Overflow;
    return ParseStatus::Ok;
}

std::optional<bool> parse_bool(const std::string& text) {
    if (text == "true" || text == "True" || text == "TRUE") return true;
    if (text == "false" || text == "False" || text == "FALSE") return false;
    return std::nullopt;
}

std::string format_bound(double v) {
    if (std::nearbyint(v) == v && std::fabs(v) < 1e15)
        return std::to_string(static_cast<int64_t>(v));
    return format_double(v);
}

void check_range(double v, const std::string& text, const ParamSpec& spec, const Origin& where,
                 const std::string& path) {
    if (spec.min && v < *spec.min)
        fail(where, path, text + " is out of range (minimum " + format_bound(*spec.min) + ")");
    if (spec.max && v > *spec.max)
        fail(where, path, text + " is out of range (maximum " + format_bound(*spec.max) + ")");
}

const TreeNode& expect_scalar(const TreeNode& node, const char* expected, const std::string& path) {
    if (node.kind != TreeNode::Kind::Scalar || node.quoted)
        fail(node.where(), path,
             std::string("expected ") + expected + ", got " + describe_node(node));
    return node;
}

int64_t to_int(const TreeNode& node, const ParamSpec& spec, const std::string& path) {
    const std::string& text = expect_scalar(node, "an integer", path).text;
    int64_t v = 0;
    switch (parse_int(text, v)) {
        case ParseStatus::Malformed:
            fail(node.where(), path, "expected an integer, got " + describe_node(node));
        case ParseStatus::Overflow:
            fail(node.where(), path, text + " is out of range (not a 64-bit integer)");
        case ParseStatus::Ok:
            break;
    }
    check_range(static_cast<double>(v), std::to_string(v), spec, node.where(), path);
    return v;
}

double to_double(const TreeNode& node, const ParamSpec& spec, const std::string& path) {
    const std::string& text = expect_scalar(node, "a number", path).text;
    double v = 0;
    switch (parse_double(text, v)) {
        case ParseStatus::Malformed:
            fail(node.where(), path, "expected a number, got " + describe_node(node));
        case ParseStatus::Overflow:
            fail(node.where(), path, text + " is out of range (not a finite double)");
        case ParseStatus::Ok:
            break;
    }
    check_range(v, format_double(v), spec, node.where(), path);
    return v;
}

template <class T, class Convert>
std::vector<T> to_list(const TreeNode& node, const ParamSpec& spec, const std::string& path,
                       Convert convert) {
    if (node.kind != TreeNode::Kind::Seq)
        fail(node.where(), path, "expected a list like [1, 2], got " + describe_node(node));
    std::vector<T> out;
    for (std::size_t i = 0; i < node.items.size(); ++i)
        out.push_back(convert(node.items[i], spec, path + "[" + std::to_string(i) + "]"));
    return out;
}

template <class T, class Format>
std::string format_list(const std::vector<T>& values, Format format) {
    std::string text = "[";
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (i > 0) text += ", ";
        text += format(values[i]);
    }
    return text + "]";
}

std::string join_choices(const std::vector<std::string>& choices) {
    std::string text;
    for (const auto& c : choices) text += (text.empty() ? "" : ", ") + c;
    return text;
}

}  // namespace

std::string format_double(double v) {
    char buffer[64];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, v);
    return std::string(buffer, ec == std::errc() ? end : buffer);
}

std::string yaml_quote(const std::string& s) {
    static const char* const kReserved[] = {"true", "false", "null", "yes", "no",
                                            "on",   "off",   "y",    "n",   "~"};
    bool plain = !s.empty() && s.front() != ' ' && s.back() != ' ' && !is_digit(s.front()) &&
                 s.front() != '-' && s.front() != '.' && s.front() != '+';
    for (char c : s) {
        const bool ok = is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        c == '_' || c == '-' || c == '.' || c == '/' || c == ' ' || c == '(' ||
                        c == ')' || c == ',' || c == '+';
        plain = plain && ok;
    }
    if (plain) {
        std::string lower;
        for (char c : s) lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
        for (const char* word : kReserved) plain = plain && lower != word;
    }
    if (plain) return s;
    std::string quoted = "\"";
    for (unsigned char c : s) {
        switch (c) {
            case '"':
                quoted += "\\\"";
                break;
            case '\\':
                quoted += "\\\\";
                break;
            case '\n':
                quoted += "\\n";
                break;
            case '\t':
                quoted += "\\t";
                break;
            case '\r':
                quoted += "\\r";
                break;
            default:
                if (c < 0x20 || c == 0x7f) {
                    static const char kHex[] = "0123456789abcdef";
                    quoted += "\\x";
                    quoted += kHex[c >> 4];
                    quoted += kHex[c & 15];
                } else {
                    quoted += static_cast<char>(c);
                }
        }
    }
    return quoted + "\"";
}

std::string describe_node(const TreeNode& node) {
    switch (node.kind) {
        case TreeNode::Kind::Null:
            return "an empty value";
        case TreeNode::Kind::Map:
            return "a map";
        case TreeNode::Kind::Seq:
            return "a list";
        case TreeNode::Kind::Include:
            return "an !include";
        case TreeNode::Kind::Scalar:
            break;
    }
    if (node.text.empty()) return "an empty string";
    // Quote a short value, never a text that may be a whole file (`!include /etc/passwd`).
    if (node.text.size() > 64 || node.text.find('\n') != std::string::npos)
        return "a text of " + std::to_string(node.text.size()) + " characters";
    if (node.quoted) return "the quoted string \"" + node.text + "\"";
    return "'" + node.text + "'";
}

Config::Value convert_value(const TreeNode& node, const ParamSpec& spec, const std::string& path) {
    Config::Value value;
    value.type = spec.type;
    value.origin = node.where();
    switch (spec.type) {
        case ParamType::Int: {
            const int64_t v = to_int(node, spec, path);
            value.data = v;
            value.text = std::to_string(v);
            break;
        }
        case ParamType::Float: {
            const double v = to_double(node, spec, path);
            value.data = v;
            value.text = format_double(v);
            break;
        }
        case ParamType::Bool: {
            const auto v = parse_bool(expect_scalar(node, "true or false", path).text);
            if (!v) fail(node.where(), path, "expected true or false, got " + describe_node(node));
            value.data = *v;
            value.text = *v ? "true" : "false";
            break;
        }
        case ParamType::String: {
            if (node.kind != TreeNode::Kind::Scalar)
                fail(node.where(), path, "expected a string, got " + describe_node(node));
            if (!spec.choices.empty()) {
                bool allowed = false;
                for (const auto& c : spec.choices) allowed = allowed || c == node.text;
                if (!allowed) {
                    const std::string hint = nearest_name(node.text, spec.choices);
                    fail(node.where(), path,
                         "'" + node.text + "' is not one of: " + join_choices(spec.choices) +
                             (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
                }
            }
            value.data = node.text;
            value.text = node.text;
            break;
        }
        case ParamType::IntList: {
            auto v = to_list<int64_t>(node, spec, path, to_int);
            value.text = format_list(v, [](int64_t x) { return std::to_string(x); });
            value.data = std::move(v);
            break;
        }
        case ParamType::FloatList: {
            auto v = to_list<double>(node, spec, path, to_double);
            value.text = format_list(v, format_double);
            value.data = std::move(v);
            break;
        }
    }
    return value;
}

Config::Value default_value(const ParamSpec& spec) {
    const Origin origin{"(default)"};
    if (spec.type == ParamType::String) {
        TreeNode node;
        node.kind = TreeNode::Kind::Scalar;
        node.quoted = true;
        node.text = spec.default_value.value();
        node.origin = origin;
        return convert_value(node, spec, spec.path);
    }
    return convert_value(parse_override_value(spec.default_value.value(), origin), spec, spec.path);
}

}  // namespace xpusim::sim::config::detail
