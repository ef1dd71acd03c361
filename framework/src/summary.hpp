// The compact table printed at the end of a run and saved as summary.txt:
// one line per step (status, duration, the plugin's one-line summary or the
// failure reason), then every expectation with its measured value.
#pragma once

#include <string>

#include "runner.hpp"

namespace sonda {

/// Plain text, fixed-width columns, no colour (it is also written to disk).
std::string render_summary(const std::string& scenario_name, const RunOutcome& outcome,
                           const std::string& run_dir);

/// "1.23s", "45.6ms", "789us" for a duration column.
std::string short_duration(int64_t ns);

}  // namespace sonda
