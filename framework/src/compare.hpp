// `sonda compare BASE NEW`: did this change make the figures worse?
//
// Steps are matched by id and figures by their declared path. With several
// samples a side (`repeat:`), a two-sided Mann-Whitney U test decides whether
// the two sets differ at all, and the relative change of medians whether it
// matters: a figure has regressed only when p < alpha AND it moved the wrong
// way by more than its threshold (benchstat's rule, with a threshold added so
// that a significant 0.3 % is not a failure). With one sample a side there is
// no test: the change is shown and marked n=1.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace sonda {

struct CompareOptions {
  double alpha = 0.05;
  /// Relative change of medians that matters, e.g. 0.05 for 5 %.
  double threshold = 0.05;
  /// Per figure, "step.path" (or just "path": every step) -> threshold.
  std::map<std::string, double> thresholds;
  /// Which of these were set on the command line (they win over the scenario's).
  bool alpha_given = false;
  bool threshold_given = false;
};

/// Mann-Whitney U, two-sided: exact for small samples without ties, the
/// normal approximation with tie and continuity correction otherwise.
/// Returns the p value (1 when either side is empty).
double mann_whitney_p(const std::vector<double>& a, const std::vector<double>& b);
/// The smallest two-sided p the exact test can give for sizes n and m: with
/// 3 against 3 it is 0.1, so nothing is ever significant at 0.05.
double mann_whitney_min_p(size_t n, size_t m);

struct FigureComparison {
  std::string step;
  std::string path;
  std::string unit;
  std::string better;  ///< higher | lower
  std::vector<double> base;
  std::vector<double> now;
  std::optional<double> base_median;
  std::optional<double> new_median;
  std::optional<double> change;  ///< (new - base) / |base|
  std::optional<double> p;       ///< when tested
  double threshold = 0;
  /// regressed | improved | ~ | n=1 | missing in base | missing in new |
  /// failed in new | failed in base
  std::string verdict;
  std::string note;
};

struct Comparison {
  std::string base_path;
  std::string new_path;
  CompareOptions options;
  std::vector<FigureComparison> figures;
  /// What makes the two runs not like for like, said before any figure:
  /// another scenario, another machine or kernel, a step on one side only.
  std::vector<std::string> warnings;
  bool regressed() const;

  nlohmann::json to_json() const;
  std::string to_text() const;
  std::string to_markdown() const;
};

/// Reads a run: a run directory (its run.json), a results/<scenario>
/// directory (its `latest`), or a run.json path. Throws std::runtime_error
/// naming the path and what is wrong.
nlohmann::json read_run_json(const std::string& path, std::string* resolved = nullptr);

/// Compares two runs' step figures (run.json `steps[].figures`). Options not
/// given on the command line come from the new run's scenario `compare:`.
Comparison compare_runs(const nlohmann::json& base, const nlohmann::json& now, CompareOptions options);

}  // namespace sonda
