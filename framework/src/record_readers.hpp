// Which steps' records are ever read after they finish. The runner keeps a
// parsed record only for those: a large record nobody references is written
// to the result files as text and never turned into a tree.
#pragma once

#include <set>
#include <string>

#include "scenario.hpp"

namespace sonda {

/// Step ids named as the root of a `${step.path}` reference (deferred
/// action parameters, spawn argv/env/cwd), an `expect:` path or a `report:`
/// path. Ids that are not steps (`env`) may appear; harmless. Trusts a
/// validated scenario; a part it cannot read throws std::runtime_error, and
/// the caller should then keep every record.
std::set<std::string> steps_with_read_records(const Scenario& scenario);

}  // namespace sonda
