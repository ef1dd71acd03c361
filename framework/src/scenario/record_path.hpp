// Paths into step records, shared by `${step.path}` references and `expect:`:
// `step_id.field.sub[0].x`.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sonda::scenario {

/// One hop: a map key, or a list index when `index` is set.
struct PathSegment {
  std::string key;
  std::optional<size_t> index;
};

/// A parsed path; segments[0] is the step id (or "env").
struct RecordPath {
  std::string text;
  std::vector<PathSegment> segments;
  const std::string& root() const { return segments.front().key; }
};

/// Parses `a.b[0].c`: names are [A-Za-z_][A-Za-z0-9_-]*, indices decimal.
/// Returns nullopt and sets `*error` (and `*error_offset` into `text`) when
/// malformed.
std::optional<RecordPath> parse_record_path(std::string_view text, std::string* error,
                                            size_t* error_offset);

/// The value at `path` inside {step_id: record}, or nullptr. `*missing_at`
/// receives the text of the path up to the first missing hop.
const nlohmann::json* lookup_record_path(const nlohmann::json& records, const RecordPath& path,
                                         std::string* missing_at);

/// True for a valid step id: [A-Za-z_][A-Za-z0-9_-]*.
bool is_valid_id(std::string_view id);

}  // namespace sonda::scenario
