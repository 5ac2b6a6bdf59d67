// Reading config files and resolving them into one tree: `!include` files, `preset:` bases
// (found by name in the search dirs), then `--set` overrides, before validation.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <utility>

#include "sim/config/values.h"

namespace xpusim::sim::config {

namespace fs = std::filesystem;
using detail::fail;
using detail::join_path;
using detail::TreeNode;

namespace {

// No real config comes near this (a preset is a few KiB); it keeps a wrong path (a model file, a
// device) from being read whole, and bounds the YAML parser's time on a hostile file.
constexpr std::uintmax_t kMaxConfigBytes = 1u << 20;

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_yaml_name(const std::string& s) {
    return ends_with(s, ".yaml") || ends_with(s, ".yml");
}

std::optional<std::string> read_text(const std::string& path) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) return std::nullopt;
    const std::uintmax_t size = fs::file_size(path, ec);
    if (ec) return std::nullopt;
    if (size > kMaxConfigBytes)
        throw ConfigError(path + ": config file too large (" + std::to_string(size) +
                          " bytes; a config is at most " + std::to_string(kMaxConfigBytes) + ")");
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// Every YAML file below `dir`, in sorted order; a missing dir has none.
std::vector<fs::path> yaml_files(const std::string& dir) {
    std::vector<fs::path> files;
    std::error_code ec;
    fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        std::error_code file_ec;
        if (it->is_regular_file(file_ec) && is_yaml_name(it->path().filename().string()))
            files.push_back(it->path());
    }
    std::sort(files.begin(), files.end());
    return files;
}

std::string join_names(const std::vector<std::string>& names, std::size_t shown) {
    std::string text;
    for (std::size_t i = 0; i < names.size() && i < shown; ++i) text += (i ? ", " : "") + names[i];
    if (names.size() > shown) text += ", ...";
    return text;
}

std::string unknown_name_message(const std::string& what, const std::string& name,
                                 const std::vector<std::string>& known) {
    // A name is quoted only while short: a value may be a whole file (`!include /etc/passwd`).
    const std::string shown = name.size() <= 64 && name.find('\n') == std::string::npos
                                  ? "'" + name + "'"
                                  : "of " + std::to_string(name.size()) + " characters";
    std::string message = "unknown " + what + " " + shown + " (known: " + join_names(known, 20);
    const std::string hint = nearest_name(name, known);
    if (!hint.empty()) message += "; did you mean '" + hint + "'?";
    return message + ")";
}

// Resolves `!include` and `preset:` in the trees of one load. `m_stack` holds the files being
// read, outermost first, to report a cycle instead of recursing forever.
class Resolver {
  public:
    explicit Resolver(const std::vector<std::string>& dirs) : m_dirs(dirs) {}

    // The file of preset `name`: the first search dir that has one wins; two in one dir are
    // ambiguous. `where`/`path` locate the reference for messages (empty for the command line).
    std::string find_preset(const std::string& name, const Origin& where,
                            const std::string& path) const {
        for (const auto& dir : m_dirs) {
            std::vector<std::string> found;
            for (const auto& file : yaml_files(dir))
                if (file.stem().string() == name) found.push_back(file.string());
            if (found.size() == 1) return found[0];
            if (found.size() > 1)
                fail(where, path, "preset '" + name + "' is ambiguous: " + join_names(found, 5));
        }
        std::set<std::string> names;
        for (const auto& dir : m_dirs)
            for (const auto& file : yaml_files(dir)) names.insert(file.stem().string());
        if (names.empty()) {
            std::string dirs;
            for (const auto& d : m_dirs) dirs += (dirs.empty() ? "" : ", ") + d;
            fail(where, path,
                 "unknown preset '" + name + "' (no presets found; searched: " +
                     (dirs.empty() ? "nothing" : dirs) + "; set XPUSIM_CONFIG_PATH)");
        }
        fail(where, path, unknown_name_message("preset", name, {names.begin(), names.end()}));
    }

    // Reads, parses and resolves one file whose tree will sit at key `path`; `from` and
    // `from_path` locate the reference to it for messages.
    TreeNode load_file(const std::string& file, const std::string& path, const Origin& from,
                       const std::string& from_path, const std::string& kind) {
        std::error_code ec;
        const std::string canonical = fs::weakly_canonical(file, ec).string();
        const std::string id = ec ? file : canonical;
        for (std::size_t i = 0; i < m_stack.size(); ++i) {
            if (m_stack[i].first != id) continue;
            std::string chain;
            for (std::size_t j = i; j < m_stack.size(); ++j) chain += m_stack[j].second + " -> ";
            fail(from, from_path, kind + " cycle: " + chain + file);
        }
        const auto text = read_text(file);
        if (!text) {
            if (kind == "include")
                fail(from, from_path, "cannot open included file '" + file + "'");
            throw ConfigError("cannot open config '" + file + "'");
        }
        TreeNode tree = detail::parse_yaml(*text, file);
        if (tree.kind == TreeNode::Kind::Null) fail(Origin{file}, "", "empty config");
        m_stack.emplace_back(id, file);
        tree = resolve(std::move(tree), fs::path(file).parent_path(), path);
        m_stack.pop_back();
        return tree;
    }

    TreeNode resolve(TreeNode node, const fs::path& dir, const std::string& path) {
        switch (node.kind) {
            case TreeNode::Kind::Include: {
                const fs::path target =
                    fs::path(node.text).is_absolute() ? fs::path(node.text) : dir / node.text;
                TreeNode included = load_file(target.lexically_normal().string(), path, node.origin,
                                              path, "include");
                included.key = node.key;
                included.key_origin = node.key_origin;
                return included;
            }
            case TreeNode::Kind::Seq:
                for (std::size_t i = 0; i < node.items.size(); ++i)
                    node.items[i] = resolve(std::move(node.items[i]), dir,
                                            path + "[" + std::to_string(i) + "]");
                return node;
            case TreeNode::Kind::Map:
                for (auto& item : node.items) {
                    const std::string item_path = join_path(path, item.key);
                    item = resolve(std::move(item), dir, item_path);
                }
                return resolve_preset(std::move(node), path);
            default:
                return node;
        }
    }

  private:
    // `preset: NAME` in a map: NAME's tree is the base, the map's other keys override it.
    TreeNode resolve_preset(TreeNode map, const std::string& path) {
        const TreeNode* ref = map.find("preset");
        if (!ref) return map;
        const std::string ref_path = join_path(path, "preset");
        if (ref->kind != TreeNode::Kind::Scalar || ref->text.empty())
            fail(ref->where(), ref_path, "expected a preset name, got " + describe_node(*ref));
        const std::string name = ref->text;
        const Origin where = ref->where();
        TreeNode base =
            load_file(find_preset(name, where, ref_path), path, where, ref_path, "preset");
        if (!base.is_map()) fail(where, ref_path, "preset '" + name + "' is not a map of keys");
        // A config's name is its own: a file based on tpu_v1 is not called tpu_v1.
        if (path.empty()) base.erase("name");
        map.erase("preset");
        detail::merge_into(base, std::move(map));
        return base;
    }

    const std::vector<std::string>& m_dirs;
    std::vector<std::pair<std::string, std::string>> m_stack;  // canonical id, display name
};

struct Override {
    std::string path;
    TreeNode value;
};

std::vector<Override> parse_overrides(const std::vector<std::string>& overrides) {
    std::vector<Override> out;
    for (const auto& text : overrides) {
        const Origin origin{"--set " + text};
        const std::size_t eq = text.find('=');
        std::string path = text.substr(0, eq);
        path.erase(0, path.find_first_not_of(" \t"));
        path.erase(path.find_last_not_of(" \t") + 1);
        if (eq == std::string::npos || path.empty())
            throw ConfigError(origin.str() + ": expected PATH=VALUE, e.g. mxu.rows=128");
        out.push_back({path, detail::parse_override_value(text.substr(eq + 1), origin)});
    }
    return out;
}

// Replaces (or adds) the value at a dotted path, making maps on the way as needed.
void set_path(TreeNode& root, const std::string& path, TreeNode value) {
    TreeNode* node = &root;
    std::size_t start = 0;
    while (true) {
        const std::size_t dot = path.find('.', start);
        const std::string key = path.substr(start, dot == std::string::npos ? dot : dot - start);
        TreeNode* child = node->find(key);
        if (dot == std::string::npos) {
            value.key = key;
            value.key_origin = value.origin;
            if (child) {
                *child = std::move(value);
            } else {
                node->items.push_back(std::move(value));
            }
            return;
        }
        if (!child) {
            node->items.emplace_back();
            child = &node->items.back();
            child->key = key;
        }
        if (!child->is_map()) {
            child->kind = TreeNode::Kind::Map;
            child->items.clear();
            child->origin = value.origin;
            child->key_origin = value.origin;
        }
        node = child;
        start = dot + 1;
    }
}

std::vector<std::string> known_targets() {
    return schemas().names();
}

// The resolved tree of one config, plus overrides, validated against its target's schema.
Config finish(TreeNode root, const std::string& source, const std::string& stem,
              const std::vector<std::string>& override_texts) {
    if (!root.is_map())
        fail(root.where(), "",
             "expected a map of keys at the top level, got " + detail::describe_node(root));
    std::vector<Override> overrides = parse_overrides(override_texts);

    const TreeNode* target = root.find("target");
    for (const auto& o : overrides)
        if (o.path == "target") target = &o.value;
    if (!target)
        fail(Origin{source}, "target",
             "missing required key (known targets: " + join_names(known_targets(), 20) + ")");
    if (target->kind != TreeNode::Kind::Scalar)
        fail(target->where(), "target", "expected a target name, got " + describe_node(*target));
    const auto* found = schemas().find(target->text);
    std::shared_ptr<const Schema> schema = found ? *found : nullptr;
    if (!schema)
        fail(target->where(), "target",
             unknown_name_message("target", target->text, known_targets()));

    for (auto& o : overrides) {
        if (schema->is_group(o.path))
            fail(o.value.origin, o.path,
                 "is a group of keys; set one of them (" +
                     join_names(schema->keys_under(o.path), 20) + ")");
        if (!schema->find(o.path)) {
            const std::string hint = schema->suggest(o.path);
            fail(o.value.origin, o.path,
                 "unknown key" + (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
        }
        set_path(root, o.path, std::move(o.value));
    }
    return detail::ConfigAccess::build(root, std::move(schema), source, stem);
}

}  // namespace

ConfigLoader::ConfigLoader(std::vector<std::string> search_dirs)
    : m_search_dirs(std::move(search_dirs)) {}

std::vector<std::string> ConfigLoader::default_search_dirs(const std::string& fallback_dir) {
    std::vector<std::string> dirs;
    std::set<std::string> seen;
    auto add = [&](const fs::path& dir) {
        std::error_code ec;
        if (dir.empty() || !fs::is_directory(dir, ec)) return;
        const std::string canonical = fs::weakly_canonical(dir, ec).string();
        if (!ec && seen.insert(canonical).second) dirs.push_back(canonical);
    };
    if (const char* env = std::getenv("XPUSIM_CONFIG_PATH")) {
        std::string list = env;
        std::size_t start = 0;
        while (start <= list.size()) {
            const std::size_t colon = std::min(list.find(':', start), list.size());
            add(list.substr(start, colon - start));
            start = colon + 1;
        }
    }
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        add(exe.parent_path() / ".." / "configs");
        add(exe.parent_path() / ".." / ".." / "configs");
    }
    add(fallback_dir);
    return dirs;
}

Config ConfigLoader::load(const std::string& file_or_preset,
                          const std::vector<std::string>& overrides) const {
    Resolver resolver(m_search_dirs);
    std::error_code ec;
    const bool is_file = fs::is_regular_file(file_or_preset, ec) ||
                         file_or_preset.find('/') != std::string::npos ||
                         is_yaml_name(file_or_preset);
    const std::string file =
        is_file ? file_or_preset : resolver.find_preset(file_or_preset, Origin{}, "");
    const std::string stem = is_file ? fs::path(file).stem().string() : file_or_preset;
    TreeNode root = resolver.load_file(file, "", Origin{}, "", "config");
    return finish(std::move(root), file, stem, overrides);
}

Config ConfigLoader::load_string(const std::string& yaml_text, const std::string& origin_name,
                                 const std::vector<std::string>& overrides) const {
    Resolver resolver(m_search_dirs);
    TreeNode root = detail::parse_yaml(yaml_text, origin_name);
    if (root.kind == TreeNode::Kind::Null) fail(Origin{origin_name}, "", "empty config");
    root = resolver.resolve(std::move(root), fs::path(), "");
    return finish(std::move(root), origin_name, fs::path(origin_name).stem().string(), overrides);
}

std::vector<ConfigLoader::PresetInfo> ConfigLoader::list_presets() const {
    Resolver resolver(m_search_dirs);
    std::vector<PresetInfo> presets;
    std::set<std::string> seen;
    for (const auto& dir : m_search_dirs) {
        for (const auto& file : yaml_files(dir)) {
            // As in preset lookup, an earlier dir hides a later one.
            const std::string name = file.stem().string();
            if (!seen.insert(name).second) continue;
            PresetInfo info{name, "", file.string(), ""};
            // Follow the `preset:` chain until a file names its target; a file that never
            // does (a sweep, a partial preset for one unit) or cannot be read is no preset.
            std::string current = file.string();
            for (int depth = 0; depth < 16 && info.target.empty() && !current.empty(); ++depth) {
                try {
                    const auto text = read_text(current);
                    if (!text) break;
                    const TreeNode tree = detail::parse_yaml(*text, current);
                    if (!tree.is_map()) break;
                    const TreeNode* target = tree.find("target");
                    const TreeNode* description = tree.find("description");
                    const TreeNode* base = tree.find("preset");
                    if (info.description.empty() && description &&
                        description->kind == TreeNode::Kind::Scalar)
                        info.description = description->text;
                    if (target && target->kind == TreeNode::Kind::Scalar)
                        info.target = target->text;
                    const std::string from = current;
                    current.clear();
                    if (base && base->kind == TreeNode::Kind::Scalar)
                        current = resolver.find_preset(base->text, Origin{from}, "preset");
                } catch (const ConfigError&) {
                    break;
                }
            }
            if (!info.target.empty()) presets.push_back(std::move(info));
        }
    }
    std::sort(presets.begin(), presets.end(),
              [](const PresetInfo& a, const PresetInfo& b) { return a.name < b.name; });
    return presets;
}

std::string ConfigLoader::describe(const std::string& target) const {
    const auto* found = schemas().find(target);
    const Schema* schema = found ? found->get() : nullptr;
    if (!schema) throw ConfigError(unknown_name_message("target", target, known_targets()));
    return schema->describe();
}

}  // namespace xpusim::sim::config
