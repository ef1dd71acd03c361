// The comparison report's plain-word answers: the equal-within rule,
// better/worse in both directions, loss and its explanation, missing values.
#include "report_wording.hpp"

#include <gtest/gtest.h>

using sonda::answer_figure;
using sonda::FigureOutcome;
using sonda::FigureSide;

namespace {
FigureSide side(const std::string& name, std::optional<double> value, std::optional<double> loss = std::nullopt,
                std::optional<double> spread = std::nullopt) {
  return FigureSide{name, value, loss, spread};
}
}  // namespace

TEST(ReportWording, CloseFiguresAreEqualWithinTheThreshold) {
  const auto a = answer_figure("RTT p50", "ns", "lower", side("TCP", 29200), side("UDP", 28500), 0.05);
  EXPECT_EQ(a.outcome, FigureOutcome::kEqual);
  EXPECT_EQ(a.text, "RTT p50: equal within 5 % (TCP 29.2 us, UDP 28.5 us; 2.4 % apart)");
}

TEST(ReportWording, RunToRunSpreadWidensTheThreshold) {
  // 10 % apart: different at 5 %, equal when one side's repeats spread 12 %.
  EXPECT_EQ(answer_figure("tps", "", "higher", side("A", 1000), side("B", 900), 0.05).outcome,
            FigureOutcome::kFirstBetter);
  const auto a = answer_figure("tps", "", "higher", side("A", 1000, std::nullopt, 0.12), side("B", 900), 0.05);
  EXPECT_EQ(a.outcome, FigureOutcome::kEqual);
  EXPECT_DOUBLE_EQ(a.tolerance, 0.12);
  EXPECT_EQ(a.text, "tps: equal within 12 % (A 1000, B 900; 10 % apart)");
}

TEST(ReportWording, LowerIsBetterNamesTheLowerSide) {
  const auto a = answer_figure("RTT p99", "ns", "lower", side("TCP", 82700), side("UDP", 78100), 0.05);
  EXPECT_EQ(a.outcome, FigureOutcome::kSecondBetter);
  EXPECT_EQ(a.text, "RTT p99: UDP better, 5.6 % lower (78.1 us vs 82.7 us for TCP)");
}

TEST(ReportWording, HigherIsBetterSaysTimesWhenTwiceOrMore) {
  const auto a = answer_figure("throughput", "bits_per_sec", "higher", side("TCP", 24.7e9), side("UDP", 4.8e9), 0.05);
  EXPECT_EQ(a.outcome, FigureOutcome::kFirstBetter);
  EXPECT_EQ(a.text, "throughput: TCP better, 5.15x higher (24.7 Gbit/s vs 4.8 Gbit/s for UDP)");
  const auto b = answer_figure("tps", "", "higher", side("A", 1000), side("B", 1250), 0.05);
  EXPECT_EQ(b.text, "tps: B better, 25 % higher (1250 vs 1000 for A)");
}

TEST(ReportWording, HeavyLossIsExplainedAsNoFlowControl) {
  const auto a = answer_figure("throughput", "bits_per_sec", "higher", side("TCP", 24.7e9, 0.0),
                               side("UDP", 4.8e9, 0.73), 0.05);
  EXPECT_EQ(a.text,
            "throughput: TCP better, 5.15x higher (24.7 Gbit/s, no loss vs 4.8 Gbit/s received with 73 % lost for "
            "UDP) - UDP sent faster than its receiver could take, and nothing slowed the sender down (no flow "
            "control), so the excess was dropped");
}

TEST(ReportWording, SmallLossIsStatedNotExplained) {
  const auto a = answer_figure("throughput", "bits_per_sec", "higher", side("A", 1e9, 0.004), side("B", 1e9), 0.05);
  EXPECT_EQ(a.text, "throughput: equal within 5 % (A 1 Gbit/s received with 0.4 % lost, B 1 Gbit/s; 0 % apart)");
  EXPECT_EQ(sonda::loss_explanation(0.0), "no loss");
  EXPECT_EQ(sonda::loss_explanation(0.004), "0.4 % lost");
  EXPECT_EQ(sonda::loss_explanation(0.5).rfind("50 % lost: the sender went faster than the receiver", 0), 0u);
  EXPECT_EQ(sonda::loss_explanation(std::nullopt), "");
}

TEST(ReportWording, MissingValuesAreNotCompared) {
  const auto one = answer_figure("throughput", "bits_per_sec", "higher", side("TCP", 7.69e8), side("UDP", {}), 0.05);
  EXPECT_EQ(one.outcome, FigureOutcome::kMissing);
  EXPECT_EQ(one.text, "throughput: only TCP measured it (769 Mbit/s); UDP n/a, so no comparison");
  const auto none = answer_figure("x", "", "higher", side("A", {}), side("B", {}), 0.05);
  EXPECT_EQ(none.outcome, FigureOutcome::kMissing);
  EXPECT_EQ(none.text, "x: not measured for A nor B (n/a)");
}

TEST(ReportWording, UnrankedFiguresAreShownNotJudged) {
  const auto a = answer_figure("request loss", "ratio", "", side("A", 0.0), side("B", 0.02), 0.05);
  EXPECT_EQ(a.outcome, FigureOutcome::kUnranked);
  EXPECT_EQ(a.text, "request loss: A 0 %, B 2 % (shown, not ranked)");
}

TEST(ReportWording, TheRuleIsStatedWithItsThreshold) {
  EXPECT_EQ(sonda::equal_rule_text(0.05),
            "Two figures are called equal when they differ by less than 5 % of the larger (or by less than their "
            "run-to-run spread, when steps repeat).");
}
