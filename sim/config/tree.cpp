#include "sim/config/tree.h"

#include <yaml-cpp/yaml.h>

#include <unordered_map>
#include <utility>
#include <vector>

namespace xpusim::sim::config::detail {

TreeNode* TreeNode::find(const std::string& k) {
    for (auto& item : items)
        if (item.key == k) return &item;
    return nullptr;
}

const TreeNode* TreeNode::find(const std::string& k) const {
    for (const auto& item : items)
        if (item.key == k) return &item;
    return nullptr;
}

void TreeNode::erase(const std::string& k) {
    for (auto it = items.begin(); it != items.end(); ++it) {
        if (it->key == k) {
            items.erase(it);
            return;
        }
    }
}

std::string join_path(const std::string& prefix, const std::string& key) {
    return prefix.empty() ? key : prefix + "." + key;
}

void fail(const Origin& where, const std::string& path, const std::string& what) {
    std::string message = where.str();
    if (!message.empty()) message += ": ";
    if (!path.empty()) message += path + ": ";
    throw ConfigError(message + what);
}

namespace {

Origin mark_origin(const YAML::Mark& mark, const std::string& file) {
    Origin origin{file};
    if (mark.line >= 0) {
        origin.line = mark.line + 1;
        origin.column = mark.column + 1;
    }
    return origin;
}

[[noreturn]] void syntax_error(const YAML::Exception& e, const std::string& file) {
    std::string where = file;
    if (!e.mark.is_null())
        where += ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1);
    throw ConfigError(where + ": YAML syntax error: " + e.msg);
}

std::vector<std::string> split_key(const std::string& key, const Origin& where,
                                   const std::string& prefix) {
    std::vector<std::string> segments;
    std::size_t start = 0;
    while (true) {
        std::size_t dot = key.find('.', start);
        std::string segment = key.substr(start, dot == std::string::npos ? dot : dot - start);
        if (segment.empty()) fail(where, join_path(prefix, key), "malformed key");
        segments.push_back(segment);
        if (dot == std::string::npos) return segments;
        start = dot + 1;
    }
}

// YAML -> TreeNode. yaml-cpp resolves an alias to the node it names, so an alias inside its own
// anchor (`host: &a [*a]`) is a cycle, and nested aliases ("billion laughs") multiply: the
// conversion refuses a node that contains itself and stops after kMaxNodes nodes.
constexpr std::size_t kMaxNodes = 1000000;

struct Converter {
    const std::string& file;
    std::size_t nodes = 0;
    std::vector<YAML::Node> ancestors;

    TreeNode convert(const YAML::Node& node, const std::string& path);
};

// Inserts `value` under the dotted key `segments[i..]` of `map`. Two entries may meet only
// where both are maps (`mxu.rows: 1` beside `mxu: {cols: 2}`); anything else is a duplicate.
void insert_entry(TreeNode& map, const std::vector<std::string>& segments, std::size_t i,
                  TreeNode value, const Origin& key_origin, const std::string& prefix) {
    const std::string& key = segments[i];
    const std::string path = join_path(prefix, key);
    TreeNode* existing = map.find(key);
    const bool last = i + 1 == segments.size();
    if (existing && !(existing->is_map() && (!last || value.is_map())))
        fail(key_origin, path, "duplicate key (also at " + existing->key_origin.str() + ")");
    if (last && !existing) {
        value.key = key;
        value.key_origin = key_origin;
        map.items.push_back(std::move(value));
        return;
    }
    if (last) {
        for (auto& child : value.items) {
            const std::vector<std::string> child_key{child.key};
            const Origin child_key_origin = child.key_origin;
            insert_entry(*existing, child_key, 0, std::move(child), child_key_origin, path);
        }
        return;
    }
    if (!existing) {
        TreeNode group;
        group.kind = TreeNode::Kind::Map;
        group.key = key;
        group.origin = key_origin;
        group.key_origin = key_origin;
        map.items.push_back(std::move(group));
        existing = &map.items.back();
    }
    insert_entry(*existing, segments, i + 1, std::move(value), key_origin, path);
}

bool is_core_tag(const std::string& tag) {
    return tag.empty() || tag == "?" || tag == "!" || tag.rfind("tag:yaml.org,2002:", 0) == 0;
}

TreeNode Converter::convert(const YAML::Node& node, const std::string& path) {
    TreeNode out;
    out.origin = mark_origin(node.Mark(), file);
    for (const auto& a : ancestors)
        if (a.is(node))
            fail(out.origin, path,
                 "an alias refers to a node that contains it (the value would be infinite)");
    if (++nodes > kMaxNodes)
        fail(out.origin, path,
             "the document expands to more than " + std::to_string(kMaxNodes) +
                 " values (aliases of aliases?); a config is far smaller");
    ancestors.push_back(node);
    struct Pop {
        std::vector<YAML::Node>& a;
        ~Pop() { a.pop_back(); }
    } pop{ancestors};
    const std::string& tag = node.Tag();
    const bool include = tag == "!include";
    if (!include && !is_core_tag(tag))
        fail(out.origin, path, "unknown tag '" + tag + "' (only !include is supported)");
    if (include && node.Type() != YAML::NodeType::Scalar)
        fail(out.origin, path, "!include takes a file path");

    switch (node.Type()) {
        case YAML::NodeType::Scalar:
            out.kind = include ? TreeNode::Kind::Include : TreeNode::Kind::Scalar;
            out.text = node.Scalar();
            out.quoted = tag == "!" || tag == "tag:yaml.org,2002:str";
            if (include && out.text.empty()) fail(out.origin, path, "!include takes a file path");
            break;
        case YAML::NodeType::Sequence: {
            out.kind = TreeNode::Kind::Seq;
            std::size_t i = 0;
            for (const auto& item : node) {
                out.items.push_back(convert(item, path + "[" + std::to_string(i++) + "]"));
                if (out.items.back().kind == TreeNode::Kind::Null)
                    out.items.back().origin = out.origin;
            }
            break;
        }
        case YAML::NodeType::Map: {
            out.kind = TreeNode::Kind::Map;
            // Where each key of this map is, so that the duplicate check stays linear.
            std::unordered_map<std::string, std::size_t> index;
            for (auto it = node.begin(); it != node.end(); ++it) {
                Origin key_origin = mark_origin(it->first.Mark(), file);
                if (it->first.Type() != YAML::NodeType::Scalar)
                    fail(key_origin, path, "a key must be a plain name");
                const std::string key = it->first.Scalar();
                const auto segments = split_key(key, key_origin, path);
                TreeNode value = convert(it->second, join_path(path, key));
                // yaml-cpp marks an empty value at the next token, often on a later line.
                if (value.kind == TreeNode::Kind::Null) value.origin = key_origin;
                auto at = index.find(segments[0]);
                if (at == index.end() && segments.size() == 1) {
                    value.key = key;
                    value.key_origin = key_origin;
                    index[key] = out.items.size();
                    out.items.push_back(std::move(value));
                    continue;
                }
                insert_entry(out, segments, 0, std::move(value), key_origin, path);
                if (at == index.end()) index[segments[0]] = out.items.size() - 1;
            }
            break;
        }
        default:
            out.kind = TreeNode::Kind::Null;
            break;
    }
    return out;
}

void set_origin(TreeNode& node, const Origin& origin) {
    node.origin = origin;
    node.key_origin = origin;
    for (auto& item : node.items) set_origin(item, origin);
}

}  // namespace

TreeNode parse_yaml(const std::string& text, const std::string& file) {
    YAML::Node root;
    try {
        const std::vector<YAML::Node> documents = YAML::LoadAll(text);
        if (documents.size() > 1)
            throw ConfigError(
                file + ": holds " + std::to_string(documents.size()) +
                " YAML documents; a config is one (remove the '---' and what follows)");
        if (!documents.empty()) root = documents[0];
    } catch (const YAML::Exception& e) {
        syntax_error(e, file);
    }
    TreeNode tree = Converter{file, 0, {}}.convert(root, "");
    if (tree.kind == TreeNode::Kind::Null) tree.origin = Origin{file};
    return tree;
}

TreeNode parse_override_value(const std::string& text, const Origin& origin) {
    if (text.find_first_not_of(" \t") == std::string::npos) {
        TreeNode empty;
        empty.kind = TreeNode::Kind::Scalar;
        empty.quoted = true;
        empty.origin = origin;
        return empty;
    }
    YAML::Node node;
    try {
        node = YAML::Load(text);
    } catch (const YAML::Exception& e) {
        throw ConfigError(origin.str() + ": YAML syntax error: " + e.msg);
    }
    TreeNode value = Converter{origin.file, 0, {}}.convert(node, "");
    if (value.kind == TreeNode::Kind::Include)
        throw ConfigError(origin.str() + ": !include is not allowed in an override");
    set_origin(value, origin);
    return value;
}

void merge_into(TreeNode& base, TreeNode over) {
    if (!base.is_map() || !over.is_map()) {
        base = std::move(over);
        return;
    }
    for (auto& child : over.items) {
        if (TreeNode* existing = base.find(child.key)) {
            merge_into(*existing, std::move(child));
        } else {
            base.items.push_back(std::move(child));
        }
    }
    base.origin = over.origin;
    base.key = over.key;
    base.key_origin = over.key_origin;
}

}  // namespace xpusim::sim::config::detail
