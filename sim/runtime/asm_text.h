// The pieces every target's text form (Program::to_asm and its reader) is made of: lines of
// key=value fields, values "quoted" with \" and \\ escapes where they may hold spaces, shapes
// as AxBxC ("scalar" for rank 0).
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "sim/config/fields.h"
#include "sim/error.h"
#include "sim/tensor/tensor.h"

namespace xpusim::sim::asm_text {

/// @brief `s` in double quotes, with " and \ escaped (and newlines as \n).
std::string quote(const std::string& s);
/// @brief The key=value fields of `line` from `start` on. ModelError "<what> line N: ..." when a
/// token has no '='.
std::map<std::string, std::string> fields(const std::string& line, std::size_t start,
                                          const std::string& what, int line_no);
/// @brief The inverse of sim::shape_str ("2x3x4", "scalar"). ModelError on anything else.
Shape parse_shape(const std::string& s);

/// A program's text form split into its leading `.spec` lines (the Spec, as
/// sim::config::spec_lines writes it) and the numbered lines after them; blank lines and `;`
/// comments dropped.
struct ProgramText {
    std::vector<std::string> spec;
    int spec_end_line = 0;  // the first line after the Spec (for messages)
    std::vector<std::pair<int, std::string>> lines;
};
/// @brief ModelError "<target> asm line N: .spec lines must come first" on a late `.spec`.
ProgramText split_program(const std::string& text, const std::string& target);

/// @brief The Spec a program's `.spec` lines give, validated like a config; ModelError naming the
/// line where the Spec ends otherwise.
template <class Spec>
Spec spec_of(const ProgramText& t, const std::string& target) {
    try {
        return config::spec_from_lines<Spec>(target, t.spec);
    } catch (const ConfigError& e) {
        throw ModelError(target + " asm line " + std::to_string(t.spec_end_line) +
                         ": the .spec lines do not make a valid " + target + " Spec: " + e.what());
    }
}

}  // namespace xpusim::sim::asm_text
