// Plain-word answers to "is A better than B?" for one figure, written from
// the numbers: the comparison report's per-figure lines. Pure functions, no
// I/O: the unit tests pin every sentence.
#pragma once

#include <optional>
#include <string>

namespace sonda {

/// One side of a comparison: a column's name, its value (absent: n/a), and
/// what else its record says about it.
struct FigureSide {
  std::string name;
  std::optional<double> value;
  /// Fraction lost (0..1) of what this figure counts, when the step measured it.
  std::optional<double> loss_ratio;
  /// Run-to-run spread of `value` as a fraction of its median ((max - min) /
  /// median over `repeat:` runs); absent with one run.
  std::optional<double> spread_ratio;
};

/// How a figure came out.
enum class FigureOutcome { kEqual, kFirstBetter, kSecondBetter, kUnranked, kMissing };

struct FigureAnswer {
  FigureOutcome outcome = FigureOutcome::kMissing;
  std::string text;  ///< one sentence, starting with the label
  double tolerance = 0;  ///< the "equal within" fraction that was applied
};

/// The "equal within" rule: two values are equal when they differ by less
/// than `tolerance` of the larger one, where tolerance is the larger of
/// `equal_within` and either side's run-to-run spread.
double equal_tolerance(double equal_within, const FigureSide& a, const FigureSide& b);

/// Answers one figure for the pair (a, b). `better` is "lower", "higher" or
/// "" (shown, not ranked); `unit` as format_value() takes it.
FigureAnswer answer_figure(const std::string& label, const std::string& unit, const std::string& better,
                           const FigureSide& a, const FigureSide& b, double equal_within);

/// "73 % lost: the sender went faster than the receiver could take, and
/// nothing slowed it down (no flow control), so the excess was dropped";
/// "no loss"; "0.2 % lost". Empty when `loss_ratio` is absent.
std::string loss_explanation(std::optional<double> loss_ratio);

/// The rule as the report states it: "Two figures are called equal when they
/// differ by less than 5 % of the larger (or by less than their run-to-run
/// spread, when steps repeat)."
std::string equal_rule_text(double equal_within);

}  // namespace sonda
