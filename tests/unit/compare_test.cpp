// sonda compare's statistics and verdicts, against independent reference
// values: the exact test against a brute-force enumeration of every way to
// split the pooled samples, the normal approximation against that same
// permutation distribution where ties force it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "compare.hpp"

namespace sonda {
namespace {

using nlohmann::json;

/// U (pairs a > b, ties half) of one split.
double u_of(const std::vector<double>& a, const std::vector<double>& b) {
  double u = 0;
  for (double x : a) {
    for (double y : b) {
      u += x > y ? 1.0 : (x == y ? 0.5 : 0.0);
    }
  }
  return u;
}

/// Two-sided permutation p of U, every split of the pooled samples enumerated.
double brute_force_p(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> pooled = a;
  pooled.insert(pooled.end(), b.begin(), b.end());
  const double mean = static_cast<double>(a.size() * b.size()) / 2.0;
  const double observed = std::fabs(u_of(a, b) - mean);
  std::vector<bool> pick(pooled.size(), false);
  std::fill(pick.begin(), pick.begin() + static_cast<long>(a.size()), true);
  double as_extreme = 0;
  double all = 0;
  do {
    std::vector<double> x;
    std::vector<double> y;
    for (size_t i = 0; i < pooled.size(); ++i) {
      (pick[i] ? x : y).push_back(pooled[i]);
    }
    all += 1;
    as_extreme += std::fabs(u_of(x, y) - mean) >= observed - 1e-9 ? 1 : 0;
  } while (std::prev_permutation(pick.begin(), pick.end()));
  return as_extreme / all;
}

TEST(MannWhitney, ExactMatchesEnumerationWithoutTies) {
  EXPECT_NEAR(mann_whitney_p({1, 2, 3, 4, 5}, {6, 7, 8, 9, 10}), 2.0 / 252.0, 1e-12);
  EXPECT_NEAR(mann_whitney_p({1, 2, 3}, {4, 5, 6}), 0.1, 1e-12);
  const std::vector<double> a{1.1, 2.5, 3.2, 4.8, 5.0, 6.1, 7.3};
  const std::vector<double> b{2.2, 3.9, 4.1, 8.5, 9.9, 10.2};
  EXPECT_NEAR(mann_whitney_p(a, b), brute_force_p(a, b), 1e-9);
  EXPECT_NEAR(mann_whitney_p(b, a), brute_force_p(a, b), 1e-9) << "two-sided: symmetric";
  EXPECT_NEAR(mann_whitney_p({5, 6, 7}, {1, 2, 3, 4, 8}), brute_force_p({5, 6, 7}, {1, 2, 3, 4, 8}), 1e-9);
}

TEST(MannWhitney, NormalApproximationWithTiesIsCloseToThePermutationP) {
  const std::vector<double> a{1, 2, 2, 3, 4, 4, 5, 6};
  const std::vector<double> b{3, 4, 4, 5, 6, 7, 7, 8};
  const double exact = brute_force_p(a, b);
  EXPECT_NEAR(mann_whitney_p(a, b), exact, 0.02) << "permutation p " << exact;
  EXPECT_DOUBLE_EQ(mann_whitney_p({3, 3, 3}, {3, 3, 3}), 1.0) << "all equal: no evidence of a difference";
}

TEST(MannWhitney, SmallestReachablePSaysWhenNIsTooSmall) {
  EXPECT_NEAR(mann_whitney_min_p(3, 3), 0.1, 1e-12);
  EXPECT_NEAR(mann_whitney_min_p(5, 5), 2.0 / 252.0, 1e-12);
}

/// A run.json with one step whose figure has these samples.
json run_with(const std::vector<double>& samples, const std::string& status = "ok") {
  json fig = {{"path", "bits_per_sec"}, {"unit", "bit/s"}, {"better", "higher"}, {"value", samples.back()}};
  if (samples.size() > 1) {
    fig["samples"] = samples;
  }
  return {{"scenario", {{"name", "s"}, {"file", "s.yaml"}, {"as_run", {{"name", "s"}}}}},
          {"context", {{"host", "h"}, {"kernel", {{"release", "6.1"}}}, {"cpu", {{"count", 2}, {"model", "x"}}}}},
          {"steps", json::array({{{"id", "load"}, {"status", status}, {"reason", status == "ok" ? "" : "boom"},
                                  {"figures", json::array({fig})}}})}};
}

TEST(Compare, RegressedOnlyWhenSignificantAndBeyondTheThreshold) {
  const json base = run_with({100, 101, 102, 103, 104});
  Comparison worse = compare_runs(base, run_with({80, 81, 82, 83, 84}), {});
  ASSERT_EQ(worse.figures.size(), 1u);
  EXPECT_EQ(worse.figures[0].verdict, "regressed");
  EXPECT_TRUE(worse.regressed());
  EXPECT_NEAR(*worse.figures[0].change, (82.0 - 102.0) / 102.0, 1e-12) << "change of medians";
  // Significant, but only 1 % lower: below the 5 % threshold.
  Comparison slight = compare_runs(base, run_with({99, 100, 100.5, 101, 101.5}), {});
  EXPECT_EQ(slight.figures[0].verdict, "~") << slight.to_text();
  // Better, significantly and by a lot.
  EXPECT_EQ(compare_runs(base, run_with({200, 201, 202, 203, 204}), {}).figures[0].verdict, "improved");
  // 3 against 3 can never reach p < 0.05: not a regression, and it says why.
  Comparison few = compare_runs(run_with({100, 101, 102}), run_with({50, 51, 52}), {});
  EXPECT_EQ(few.figures[0].verdict, "~");
  EXPECT_NE(few.figures[0].note.find("cannot reach"), std::string::npos);
}

TEST(Compare, OneSampleShowsTheChangeWithoutATest) {
  Comparison c = compare_runs(run_with({100}), run_with({50}), {});
  EXPECT_EQ(c.figures[0].verdict, "n=1");
  EXPECT_FALSE(c.figures[0].p.has_value());
  EXPECT_NEAR(*c.figures[0].change, -0.5, 1e-9);
  EXPECT_FALSE(c.regressed());
}

TEST(Compare, AFailedStepInTheNewRunIsARegressionAndOtherContextsAreSaid) {
  Comparison c = compare_runs(run_with({100, 101, 102, 103}), run_with({1, 2, 3, 4}, "failed"), {});
  EXPECT_EQ(c.figures[0].verdict, "failed in new");
  EXPECT_TRUE(c.regressed());
  json other = run_with({100, 101, 102, 103});
  other["context"]["kernel"]["release"] = "6.9";
  other["scenario"]["as_run"]["name"] = "t";
  Comparison w = compare_runs(run_with({100, 101, 102, 103}), other, {});
  ASSERT_EQ(w.warnings.size(), 2u) << w.to_text();
  EXPECT_NE(w.warnings[0].find("scenarios differ"), std::string::npos);
  EXPECT_NE(w.warnings[1].find("kernel 6.1"), std::string::npos);
  EXPECT_NE(w.warnings[1].find("kernel 6.9"), std::string::npos);
}

TEST(Compare, ThresholdsComeFromTheCommandLineThenTheScenario) {
  json now = run_with({80, 81, 82, 83, 84});
  now["scenario"]["as_run"]["compare"] = {{"thresholds", {{"load.bits_per_sec", "30%"}}}};
  json base = run_with({100, 101, 102, 103, 104});
  base["scenario"]["as_run"] = now["scenario"]["as_run"];
  EXPECT_EQ(compare_runs(base, now, {}).figures[0].verdict, "~") << "-20 % is within the scenario's 30 %";
  CompareOptions strict;
  strict.thresholds["load.bits_per_sec"] = 0.1;
  EXPECT_EQ(compare_runs(base, now, strict).figures[0].verdict, "regressed") << "the command line wins";
}

}  // namespace
}  // namespace sonda
