// State shared by the passes of load_scenario(): diagnostics collected so far,
// the scenario `defaults:`, and where each step sits (for reference checks).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "scenario.hpp"
#include "scenario/refs.hpp"
#include "scenario/yaml_doc.hpp"

namespace sonda::scenario {

/// Where a step sits: one level per enclosing group, outermost first.
struct TreeLevel {
  int group_serial = 0;
  bool parallel = false;
  size_t child_index = 0;
};

/// A step as far as references care.
struct StepPlace {
  std::string id;
  SourceMark mark;
  bool background = false;
  int ordinal = 0;  ///< 1-based, document order
  std::vector<TreeLevel> position;
};

/// A reference found in a step, checked once every step is known.
struct PendingReference {
  Reference ref;
  SourceMark mark;  ///< of the parameter key
  int step_ordinal = 0;
  std::vector<TreeLevel> position;
};

/// Mutable state of one load_scenario() call.
struct LoadContext {
  const SchemaSource& schemas;
  std::string file;
  std::vector<Diagnostic> diags;
  const YamlNode* defaults = nullptr;      ///< the `defaults:` map, if any
  std::set<std::string> explicit_ids;      ///< every `id:` written, for auto ids
  std::map<std::string, SourceMark> ids;   ///< step and group ids seen so far
  std::vector<StepPlace> steps;            ///< document order
  std::vector<PendingReference> refs;
  std::set<std::string> param_names;       ///< every parameter of every used action
  std::set<std::string> reported_defaults; ///< defaults keys already reported bad
  /// Old parameter names of the used actions -> "'old' was renamed to
  /// 'new' (plugin.action)", for `defaults:` keys that still use them.
  std::map<std::string, std::string> renamed_params;
  int group_serial = 0;
  std::vector<std::string> host_names;     ///< `hosts:` keys, for `on:` checks

  void error(const SourceMark& mark, std::string message) {
    diags.push_back({mark, std::move(message)});
  }
};

/// Parses the items of a `steps:`/`parallel:`/`sequence:` list into `group`.
void parse_group_items(const YamlNode& list, Group& group, LoadContext& ctx,
                       const std::vector<TreeLevel>& position);

/// Collects explicit `id:` values anywhere in the steps tree (auto ids must
/// not collide with ids written later in the file).
void collect_explicit_ids(const YamlNode& list, std::set<std::string>& ids);

/// Reports references to unknown, later or concurrently running steps.
void check_references(LoadContext& ctx);

/// Reports unknown keys of a map, each at its key.
void check_keys(const YamlNode& map, const std::vector<std::string>& allowed,
                const std::string& where, LoadContext& ctx);

}  // namespace sonda::scenario
