// `sonda plugins` and `sonda plugins describe`: the plugin's own schema,
// rendered for people (plain text) or for its README (Markdown table). The
// schema is data, so this is the only documentation source (fio's options).
#pragma once

#include <optional>
#include <string>

#include "registry.hpp"

namespace sonda {

/// Every action with its parameter table. `markdown`: GitHub tables.
std::string describe_plugin(const LoadedPlugin& plugin, bool markdown);

/// One action's block of describe_plugin(): its parameter table and the
/// parameters it renamed. A plugin README holds the Markdown form between
/// `<!-- sonda:params plugin.action -->` and `<!-- /sonda:params -->`
/// (tools/readme_params.py checks and rewrites them). Nothing when the
/// plugin has no such action.
std::optional<std::string> describe_action_params(const LoadedPlugin& plugin, const std::string& action,
                                                  bool markdown);

/// The listing: name, version, path per plugin, then refused files with
/// their reasons.
std::string list_plugins(const Registry& registry);

}  // namespace sonda

#include <nlohmann/json.hpp>

namespace sonda {

/// The plugin's self-description as data (the agent's `describe` reply):
/// name, version, path, description, capabilities and every action with
/// its parameter specs as declared.
nlohmann::json plugin_schema_json(const LoadedPlugin& plugin);

}  // namespace sonda
