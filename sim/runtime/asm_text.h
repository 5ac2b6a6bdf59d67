// The pieces every target's text form (Program::to_asm and its reader) is made of: lines of
// key=value fields, values "quoted" with \" and \\ escapes where they may hold spaces, shapes
// as AxBxC ("scalar" for rank 0).
#pragma once

#include <map>
#include <string>

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

}  // namespace xpusim::sim::asm_text
