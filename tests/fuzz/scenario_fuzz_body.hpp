// The scenario fuzz body, shared by the libFuzzer target (clang) and the
// corpus replay test (g++, runs in CI). Untrusted bytes go through every
// entry point of the scenario layer; anything but a ScenarioError /
// UnitError / runtime_error with a message is a bug and aborts.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "../unit/scenario_test_schemas.hpp"
#include "scenario.hpp"
#include "units.hpp"

namespace sonda::fuzz {

/// Aborts (a crash the fuzzer records) when an invariant does not hold.
inline void check(bool ok) {
  if (!ok) {
    std::abort();
  }
}

/// Lines "#set key=value" (YAML comments) become --set overrides, so the
/// fuzzer explores overrides too.
inline std::vector<std::string> overrides_in(const std::string& text) {
  std::vector<std::string> overrides;
  size_t pos = 0;
  while ((pos = text.find("#set ", pos)) != std::string::npos) {
    size_t end = text.find('\n', pos);
    overrides.push_back(text.substr(pos + 5, end == std::string::npos ? end : end - pos - 5));
    pos += 5;
  }
  return overrides;
}

inline void fuzz_units(const std::string& text) {
  for (int kind = 0; kind < 4; ++kind) {
    try {
      switch (kind) {
        case 0: check(units::parse_duration_ns(text) >= 0); break;
        case 1: check(units::parse_size_bytes(text) >= 0); break;
        case 2: check(units::parse_rate(text).is_object()); break;
        default: check(units::parse_quantity(text).is_number()); break;
      }
    } catch (const units::UnitError& e) {
      check(e.what()[0] != '\0');
    }
  }
}

/// Runs one input through parse, validate, resolve and evaluate.
inline void fuzz_one(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (size <= 64) {
    fuzz_units(text);
  }
  static const testing::FakeSchemas schemas;
  Scenario scenario;
  try {
    scenario = load_scenario_text(text, "fuzz.yaml", overrides_in(text), schemas);
  } catch (const ScenarioError& e) {
    check(!e.diagnostics().empty());
    for (const auto& d : e.diagnostics()) {
      check(!d.message.empty());
    }
    return;
  }
  check(!scenario.name.empty() || scenario.as_run.contains("name"));
  // Records shaped like the document itself give references and
  // expectations something to find (or not).
  nlohmann::json records = nlohmann::json::object();
  std::vector<const Group*> groups{&scenario.root};
  while (!groups.empty()) {
    const Group* group = groups.back();
    groups.pop_back();
    for (const auto& node : group->nodes) {
      if (node.is_group()) {
        groups.push_back(node.group.get());
        continue;
      }
      try {
        records[node.step.id] = resolve_params(node.step, records, schemas);
      } catch (const std::runtime_error& e) {
        check(e.what()[0] != '\0');
      }
    }
  }
  for (const auto& expectation : scenario.expectations) {
    ExpectationOutcome outcome = evaluate(expectation, records);
    check(!outcome.message.empty());
  }
}

}  // namespace sonda::fuzz
