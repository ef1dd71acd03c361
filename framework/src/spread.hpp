// `repeat: N`: the spread of every numeric figure across the N records.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

namespace sonda {

/// Mirrors the records' object structure (any depth; arrays are skipped,
/// their length varies between runs) with each numeric leaf replaced by
/// {min, median, max, mean, stddev (population), count}. A leaf missing
/// from some runs is computed over the runs that have it. Booleans are not
/// numbers here.
nlohmann::json numeric_spread(const std::vector<nlohmann::json>& records);

}  // namespace sonda
