// SourceMark / ScenarioError from scenario.hpp.
#include "scenario.hpp"

namespace sonda {
namespace {

std::string join_diagnostics(const std::vector<Diagnostic>& diags) {
  std::string out;
  for (const auto& d : diags) {
    if (!out.empty()) {
      out += '\n';
    }
    out += d.str();
  }
  return out;
}

}  // namespace

std::string SourceMark::str() const {
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

ScenarioError::ScenarioError(std::vector<Diagnostic> diags)
    : std::runtime_error(join_diagnostics(diags)), diags_(std::move(diags)) {}

}  // namespace sonda
