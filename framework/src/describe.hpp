// `sonda plugins` and `sonda plugins describe`: the plugin's own schema,
// rendered for people (plain text) or for its README (Markdown table). The
// schema is data, so this is the only documentation source (fio's options).
#pragma once

#include <string>

#include "registry.hpp"

namespace sonda {

/// Every action with its parameter table. `markdown`: GitHub tables.
std::string describe_plugin(const LoadedPlugin& plugin, bool markdown);

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
