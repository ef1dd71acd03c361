// "Did you mean ...?" for misspelt names.
#pragma once

#include <sonda/abi.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sonda::scenario {

/// Optimal-string-alignment (Damerau) edit distance: insertions, deletions,
/// substitutions and adjacent transpositions each cost 1.
size_t edit_distance(std::string_view a, std::string_view b);

/// The candidate closest to `word` when it is within edit distance 2 or one is
/// a prefix of the other; ties go to the earliest candidate.
std::optional<std::string> closest_match(std::string_view word,
                                         const std::vector<std::string>& candidates);

/// "; did you mean 'x'?" when a close match exists, otherwise
/// "; expected one of: a, b, c" (empty when there are no candidates).
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

/// What `plugin` says `old_name` of `action` is called now (its rename
/// table, sonda_rename_spec), or nothing. A plugin built before renames
/// existed has none.
std::optional<std::string> renamed_to(const sonda_plugin& plugin, const sonda_action_spec& action,
                                      std::string_view old_name);

}  // namespace sonda::scenario
