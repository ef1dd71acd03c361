// Which parts of which steps' records are ever read after they finish. The
// runner parses only those parts: a large record nobody references is written
// to the result files as text and never turned into a tree.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "report.hpp"
#include "scenario.hpp"
#include "step_record.hpp"

namespace sonda {

/// For each step id named as the root of a `${step.path}` reference
/// (deferred action parameters, spawn argv/env/cwd), an `expect:` path or a
/// `report:` path: the parts of its record those paths read. Ids that are
/// not steps (`env`) may appear; harmless. Trusts a validated scenario; a
/// part it cannot read throws std::runtime_error, and the caller should then
/// keep every record whole.
/// `reports`: the scenario's `report:` entries, parsed once by the runner.
std::map<std::string, RecordFilter> read_record_parts(const Scenario& scenario,
                                                      const std::vector<ReportSpec>& reports);

}  // namespace sonda
