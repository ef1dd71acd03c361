#include "suggest.hpp"

#include <algorithm>
#include <cstring>

namespace sonda::scenario {

size_t edit_distance(std::string_view a, std::string_view b) {
  // Three rolling rows: the transposition rule looks two rows back.
  std::vector<size_t> prev2(b.size() + 1), prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) {
    prev[j] = j;
  }
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        cur[j] = std::min(cur[j], prev2[j - 2] + 1);
      }
    }
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::optional<std::string> closest_match(std::string_view word,
                                         const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  size_t best_distance = 3;
  for (const auto& candidate : candidates) {
    size_t distance = edit_distance(word, candidate);
    const bool prefix = !word.empty() && (candidate.starts_with(word) || word.starts_with(candidate));
    if (prefix && distance > 2) {
      distance = 2;  // "thr" -> "throughput" is a useful hint despite the length gap
    }
    if (distance < best_distance && distance < std::max(word.size(), candidate.size())) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best;
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  if (auto match = closest_match(word, candidates)) {
    return "; did you mean '" + *match + "'?";
  }
  if (candidates.empty()) {
    return "";
  }
  std::string out = "; expected one of: ";
  for (size_t i = 0; i < candidates.size(); ++i) {
    out += (i == 0 ? "" : ", ") + candidates[i];
  }
  return out;
}

std::optional<std::string> renamed_to(const sonda_plugin& plugin, const sonda_action_spec& action,
                                      std::string_view old_name) {
  if (plugin.struct_size < sizeof(sonda_plugin)) {
    return std::nullopt;
  }
  for (size_t i = 0; i < plugin.rename_count; ++i) {
    const sonda_rename_spec& r = plugin.renames[i];
    if (old_name != r.old_name || (r.action != nullptr && std::strcmp(r.action, action.name) != 0)) {
      continue;
    }
    // A plugin-wide rename applies where the new name exists.
    for (size_t p = 0; p < action.param_count; ++p) {
      if (std::strcmp(action.params[p].name, r.new_name) == 0) {
        return r.new_name;
      }
    }
  }
  return std::nullopt;
}

}  // namespace sonda::scenario
