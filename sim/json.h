// Writing JSON documents (stats.json, trace.json, reports): names from model files may hold any
// bytes, so text that is not valid UTF-8 is written with U+FFFD in its place rather than
// failing after the outputs are written.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace xpusim::sim {

/// @brief `j` as JSON text; indent < 0 writes one line.
inline std::string json_text(const nlohmann::json& j, int indent = -1) {
    return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace xpusim::sim
