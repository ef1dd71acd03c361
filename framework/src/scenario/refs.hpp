// `${step_id.path}` references inside parameter strings, spawn commands and
// environment values; `${env.NAME}` reads an environment variable; `$${` is a
// literal `${`.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "scenario/record_path.hpp"

namespace sonda::scenario {

/// One `${...}` occurrence.
struct Reference {
  RecordPath path;
  size_t offset = 0;  ///< of the '$' in the string
  size_t length = 0;  ///< through the closing '}'
};

/// Finds the references in `text`. Throws std::invalid_argument (message
/// names the offset problem) on an unterminated `${` or a malformed path.
std::vector<Reference> find_references(std::string_view text);

/// Every reference in every string inside `value` (lists and maps walked).
void collect_references(const nlohmann::json& value, std::vector<Reference>& out);

/// Replaces references in every string inside `value` from `records`
/// ({step_id: record}) and the environment. A string that is exactly one
/// reference takes the referenced JSON value (an int port stays an int);
/// otherwise values are stringified into the text. `$${` becomes `${`.
/// Throws std::runtime_error naming the missing path or variable.
nlohmann::json substitute_references(const nlohmann::json& value, const nlohmann::json& records);

}  // namespace sonda::scenario
