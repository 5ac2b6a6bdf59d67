#include "sim/runtime/asm_text.h"

#include <sstream>

#include "sim/error.h"

namespace xpusim::sim::asm_text {

ProgramText split_program(const std::string& text, const std::string& target) {
    ProgramText t;
    std::istringstream in(text);
    std::string line;
    int line_no = 0;
    while (std::getline(in, line)) {
        ++line_no;
        if (line.empty() || line[0] == ';') continue;
        if (line.rfind(".spec ", 0) == 0) {
            if (!t.lines.empty())
                throw ModelError(target + " asm line " + std::to_string(line_no) + ": .spec lines must come first");
            t.spec.push_back(line.substr(6));
            continue;
        }
        if (t.lines.empty()) t.spec_end_line = line_no;
        t.lines.emplace_back(line_no, line);
    }
    if (t.lines.empty()) t.spec_end_line = line_no;
    return t;
}

std::string quote(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out + "\"";
}

std::map<std::string, std::string> fields(const std::string& line, std::size_t start,
                                          const std::string& what, int line_no) {
    std::map<std::string, std::string> f;
    std::size_t i = start;
    while (i < line.size()) {
        while (i < line.size() && line[i] == ' ') ++i;
        if (i >= line.size()) break;
        const std::size_t eq = line.find('=', i);
        const std::size_t space = line.find(' ', i);
        if (eq == std::string::npos || (space != std::string::npos && space < eq))
            throw ModelError(what + " line " + std::to_string(line_no) + ": expected key=value");
        const std::string key = line.substr(i, eq - i);
        std::string value;
        i = eq + 1;
        if (i < line.size() && line[i] == '"') {
            for (++i; i < line.size() && line[i] != '"'; ++i) {
                if (line[i] == '\\' && i + 1 < line.size()) {
                    ++i;
                    value += line[i] == 'n' ? '\n' : line[i];
                    continue;
                }
                value += line[i];
            }
            ++i;
        } else {
            const std::size_t end = line.find(' ', i);
            value = line.substr(i, end == std::string::npos ? std::string::npos : end - i);
            i = end == std::string::npos ? line.size() : end;
        }
        f[key] = value;
    }
    return f;
}

Shape parse_shape(const std::string& s) {
    Shape out;
    if (s == "scalar") return out;
    std::stringstream ss(s);
    std::string tok;
    while (std::getline(ss, tok, 'x')) {
        std::size_t used = 0;
        const long long v = std::stoll(tok, &used);
        if (used != tok.size() || v < 0) throw ModelError("bad shape '" + s + "'");
        out.push_back(v);
    }
    return out;
}

}  // namespace xpusim::sim::asm_text
