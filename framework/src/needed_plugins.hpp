// Which plugins a scenario file needs, read before validation so a missing
// or refused plugin is reported as a plugin error (exit 3), with the reason
// the loader gave, instead of a generic "unknown plugin".
#pragma once

#include <set>
#include <string>

namespace sonda {

/// Plugin names from every `use: plugin.action` in the file, plus
/// proc_scanner when a `spawn:` step waits for a port. Unreadable YAML
/// yields an empty set (validation reports it properly).
std::set<std::string> needed_plugins(const std::string& scenario_file);

}  // namespace sonda
