// A step's headline figures, as its plugin declared them (sonda_figure_spec):
// what `sonda compare`, the reports and the summary read from a run instead
// of guessing which numbers matter and which way is better.
#pragma once

#include <sonda/abi.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "step_record.hpp"

namespace sonda {

/// [{path, unit, better, doc, value, samples?}] for one step's record:
/// `value` is the figure in the record (null when absent or not a number);
/// with `repeat:`, `samples` has it from every run that succeeded. Reads
/// only the declared paths of a large text record.
nlohmann::json figure_values(const std::vector<sonda_figure_spec>& declared, const StepRecord& record);

/// The number at a dotted path ("receiver.loss_ratio") in `j`, if any.
std::optional<double> number_at(const nlohmann::json& j, const std::string& dotted);

}  // namespace sonda
