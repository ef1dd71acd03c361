// Helpers for scenario tests: load from text, capture the error text.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "scenario.hpp"
#include "scenario_test_schemas.hpp"

namespace sonda::testing {

/// Loads `text` as "s.yaml" against FakeSchemas.
inline Scenario load_text(const std::string& text, const std::vector<std::string>& overrides = {}) {
  static const FakeSchemas schemas;
  return load_scenario_text(text, "s.yaml", overrides, schemas);
}

/// The full error text of an invalid scenario, or "" when it loads.
inline std::string load_errors(const std::string& text,
                               const std::vector<std::string>& overrides = {}) {
  try {
    load_text(text, overrides);
  } catch (const ScenarioError& e) {
    return e.what();
  }
  return "";
}

/// Like load_errors() with marks naming `file`.
inline std::string load_errors_named(const std::string& text, const std::string& file) {
  static const FakeSchemas schemas;
  try {
    load_scenario_text(text, file, {}, schemas);
  } catch (const ScenarioError& e) {
    return e.what();
  }
  return "";
}

/// The first top-level step.
inline const Step& first_step(const Scenario& s) { return s.root.nodes.at(0).step; }

}  // namespace sonda::testing
