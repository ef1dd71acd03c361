#include "scenario/overrides.hpp"

#include <algorithm>
#include <map>

#include "scenario/suggest.hpp"

namespace sonda::scenario {
namespace {

/// Keys that may be added where absent, by what the map is.
const std::map<std::string, std::vector<std::string>>& addable_keys() {
  static const std::map<std::string, std::vector<std::string>> keys{
      {"top", {"name", "description", "plugins", "stop_on_failure", "defaults", "steps", "expect"}},
      {"step", {"id", "use", "with", "timeout", "background", "repeat", "description", "spawn"}},
      {"spawn", {"cmd", "env", "cwd", "ready", "grace"}},
      {"ready", {"tcp_listen", "udp_listen", "timeout"}},
  };
  return keys;
}

/// What a map reached by `key` from a map of kind `parent` is.
std::string child_kind(const std::string& parent, const std::string& key) {
  if (parent == "top" && key == "defaults") return "free";
  if (parent == "step" && key == "with") return "free";
  if (parent == "step" && key == "spawn") return "spawn";
  if (parent == "spawn" && key == "env") return "free";
  if (parent == "spawn" && key == "ready") return "ready";
  return "other";
}

/// The step or group map with `id` in a steps list, searched depth first.
YamlNode* find_step(YamlNode& list, const std::string& id) {
  for (auto& item : list.items) {
    if (!item.is_map()) {
      continue;
    }
    if (const YamlEntry* e = item.find("id"); e != nullptr && e->value.is_scalar() &&
                                               e->value.scalar == id) {
      return &item;
    }
    for (const char* key : {"parallel", "sequence"}) {
      if (YamlEntry* nested = item.find(key); nested != nullptr && nested->value.is_sequence()) {
        if (YamlNode* found = find_step(nested->value, id)) {
          return found;
        }
      }
    }
  }
  return nullptr;
}

void collect_ids(const YamlNode& list, std::vector<std::string>& ids) {
  for (const auto& item : list.items) {
    if (const YamlEntry* e = item.find("id"); e != nullptr && e->value.is_scalar()) {
      ids.push_back(e->value.scalar);
    }
    for (const char* key : {"parallel", "sequence"}) {
      if (const YamlEntry* nested = item.find(key); nested != nullptr) {
        collect_ids(nested->value, ids);
      }
    }
  }
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    parts.push_back(path.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) {
      return parts;
    }
    start = dot + 1;
  }
}

/// Applies one override; returns an error message or "".
std::string apply_one(YamlNode& root, const std::string& path, YamlNode value,
                      const SourceMark& mark) {
  std::vector<std::string> parts = split_path(path);
  if (std::find(parts.begin(), parts.end(), "") != parts.end()) {
    return "empty name in path '" + path + "'";
  }
  if (!root.is_map()) {
    return "the scenario is not a map";
  }
  YamlNode* cur = &root;
  std::string kind = "top";
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string& part = parts[i];
    const bool last = i + 1 == parts.size();
    if (cur->is_sequence()) {
      YamlNode* next = nullptr;
      if (kind == "steps") {
        next = find_step(*cur, part);
        kind = "step";
      }
      if (next == nullptr && !part.empty() && part.find_first_not_of("0123456789") == std::string::npos) {
        size_t index = std::stoul(part.substr(0, 9));
        next = index < cur->items.size() ? &cur->items[index] : nullptr;
      }
      if (next == nullptr) {
        if (kind == "step") {
          std::vector<std::string> ids;
          collect_ids(*cur, ids);
          return "no step with id '" + part + "'" + did_you_mean(part, ids);
        }
        return "'" + part + "' is not an index of the list";
      }
      if (last) {
        *next = std::move(value);
        return "";
      }
      cur = next;
      continue;
    }
    if (!cur->is_map()) {
      return "cannot set '" + part + "' inside " + kind_name(*cur);
    }
    YamlEntry* entry = cur->find(part);
    if (entry == nullptr) {
      auto allowed = addable_keys().find(kind);
      const bool addable =
          kind == "free" || (allowed != addable_keys().end() &&
                             std::find(allowed->second.begin(), allowed->second.end(), part) !=
                                 allowed->second.end());
      if (!addable) {
        std::vector<std::string> candidates;
        for (const auto& e : cur->entries) {
          candidates.push_back(e.key.scalar);
        }
        if (allowed != addable_keys().end()) {
          candidates.insert(candidates.end(), allowed->second.begin(), allowed->second.end());
        }
        return "no key '" + part + "' at '" + path + "'" + did_you_mean(part, candidates);
      }
      YamlNode key;
      key.kind = YamlNode::Kind::kScalar;
      key.scalar = part;
      YamlNode empty_map;
      empty_map.kind = YamlNode::Kind::kMap;
      cur->entries.push_back(YamlEntry{key, empty_map});
      entry = &cur->entries.back();
    }
    entry->key.mark = mark;
    if (last) {
      entry->value = std::move(value);
      return "";
    }
    kind = (kind == "top" && part == "steps") ? "steps" : child_kind(kind, part);
    if (kind == "other" && (part == "parallel" || part == "sequence")) {
      kind = "steps";
    }
    cur = &entry->value;
  }
  return "";
}

}  // namespace

void apply_overrides(YamlNode& root, const std::vector<std::string>& overrides,
                     std::vector<Diagnostic>& diags) {
  for (size_t i = 0; i < overrides.size(); ++i) {
    const std::string& text = overrides[i];
    const SourceMark mark{"--set", 0, static_cast<int>(i + 1)};
    const size_t eq = text.find('=');
    if (eq == std::string::npos || eq == 0) {
      diags.push_back({mark, "override '" + text + "' must be key=value"});
      continue;
    }
    YamlNode value;
    try {
      value = parse_yaml(text.substr(eq + 1), "--set");
    } catch (const ScenarioError& e) {
      diags.push_back({mark, "override '" + text + "': bad value: " +
                                 e.diagnostics().front().message});
      continue;
    }
    set_marks(value, mark);
    std::string error = apply_one(root, text.substr(0, eq), std::move(value), mark);
    if (!error.empty()) {
      diags.push_back({mark, "override '" + text + "': " + error});
    }
  }
}

}  // namespace sonda::scenario
