// The loader's own YAML tree. yaml-cpp nodes are converted once, on reading a file, into these
// nodes, each carrying its Origin, so that file and line survive merging presets, includes
// and overrides. Internal to sim/config.
#pragma once

#include <string>
#include <vector>

#include "sim/config/config.h"

namespace xpusim::sim::config::detail {

struct TreeNode {
    enum class Kind { Null, Scalar, Seq, Map, Include };
    Kind kind = Kind::Null;
    /// Scalar: its text; Include: the path after `!include`.
    std::string text;
    /// A quoted (or !!str) scalar: always a string, never a number or a bool.
    bool quoted = false;
    /// Seq items, or Map entries in file order (each with `key` set).
    std::vector<TreeNode> items;
    std::string key;
    Origin origin;      ///< where the value starts
    Origin key_origin;  ///< a Map entry: where its key is

    bool is_map() const { return kind == Kind::Map; }
    TreeNode* find(const std::string& k);
    const TreeNode* find(const std::string& k) const;
    void erase(const std::string& k);
    /// Where to point a message about this value: its key's line when it has no line itself.
    const Origin& where() const { return origin.line > 0 ? origin : key_origin; }
};

/// @brief "a.b" from prefix "a" and key "b"; just the key at the top.
std::string join_path(const std::string& prefix, const std::string& key);

/// @brief "<origin>: <path>: <what>", the one shape of every config message.
[[noreturn]] void fail(const Origin& where, const std::string& path, const std::string& what);

/// @brief Parses YAML text into a tree. Dotted keys (`mxu.rows: 4`) become nested maps;
/// duplicate keys are errors. `file` names the text in origins. Null for an empty document.
TreeNode parse_yaml(const std::string& text, const std::string& file);
/// @brief Parses a `--set` value ("4", "[1, 2]", "abc"); an empty value is the empty string.
TreeNode parse_override_value(const std::string& text, const Origin& origin);

/// @brief Deep merge: maps merge key by key, anything else in `over` replaces `base`.
void merge_into(TreeNode& base, TreeNode over);

}  // namespace xpusim::sim::config::detail
