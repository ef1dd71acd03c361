// A scenario document as a small tree with a source mark on every node and
// map entries kept in order, duplicates included. Built from yaml-cpp's event
// parser rather than YAML::Node because yaml-cpp silently keeps only one of
// two duplicate keys for lookups and does not say whether a scalar was quoted.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "scenario.hpp"

namespace sonda::scenario {

struct YamlEntry;

/// One YAML node. Aliases are expanded into copies.
struct YamlNode {
  enum class Kind { kNull, kScalar, kSequence, kMap };
  Kind kind = Kind::kNull;
  std::string scalar;  ///< kScalar: the text as written, quotes removed
  bool plain = true;   ///< kScalar: unquoted, so `5` is a number and `"5"` a string
  SourceMark mark;
  std::vector<YamlNode> items;     ///< kSequence
  std::vector<YamlEntry> entries;  ///< kMap, in document order, duplicates kept

  bool is_map() const { return kind == Kind::kMap; }
  bool is_sequence() const { return kind == Kind::kSequence; }
  bool is_scalar() const { return kind == Kind::kScalar; }
  bool is_null() const { return kind == Kind::kNull; }
  /// The first entry whose key is `key`, or nullptr.
  const YamlEntry* find(std::string_view key) const;
  YamlEntry* find(std::string_view key);
};

/// A map entry: the key node (its mark is where errors point) and the value.
struct YamlEntry {
  YamlNode key;
  YamlNode value;
};

/// Parses the first document of `text`; `file` names it in marks. Throws
/// ScenarioError with one diagnostic on invalid UTF-8, a syntax error, on a second document,
/// on nesting deeper than 64 or on alias expansion past 100000 nodes.
YamlNode parse_yaml(std::string_view text, const std::string& file);

/// The offset of the first byte that is not part of well-formed UTF-8
/// (overlongs, surrogates and code points past U+10FFFF included), or npos.
/// JSON output of the scenario as run cannot hold anything else.
size_t invalid_utf8_offset(std::string_view text);

/// Reports every map key that repeats an earlier key of the same map, at the
/// repeated key.
void check_duplicate_keys(const YamlNode& node, std::vector<Diagnostic>& diags);

/// The node as JSON: plain scalars become null, bool, integer or float when
/// they read as one (YAML 1.2 core schema); quoted scalars stay strings.
nlohmann::json to_json(const YamlNode& node);

/// Sets the mark of `node` and all its descendants (values given on the
/// command line point at the --set option).
void set_marks(YamlNode& node, const SourceMark& mark);

/// A short name for the node's kind for messages: "a map", "a list", ...
std::string kind_name(const YamlNode& node);

}  // namespace sonda::scenario
