#include "report_wording.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "report.hpp"

namespace sonda {

namespace {

/// Loss at or above this is more than a stray drop: it is explained.
constexpr double kExplainedLoss = 0.01;

std::string percent_text(double fraction) {
  char buf[32];
  const double p = fraction * 100.0;
  // 2 significant digits below 10 % ("2.4 %", "5 %" not "5.0 %"), whole percents above.
  std::snprintf(buf, sizeof buf, p >= 10 || p == std::round(p) ? "%.0f %%" : "%.1f %%", p);
  return buf;
}

bool is_rate(const std::string& unit) { return unit == "bits_per_sec" || unit == "packets_per_sec"; }

/// "4.36 Gbit/s received with 74 % lost" / "30.1 us".
std::string side_value(const FigureSide& s, const std::string& unit) {
  std::string text = format_value(*s.value, unit);
  if (s.loss_ratio && *s.loss_ratio > 0) {
    text += (is_rate(unit) ? " received with " : " with ") + percent_text(*s.loss_ratio) + " lost";
  } else if (s.loss_ratio) {
    text += ", no loss";
  }
  return text;
}

/// Why a side lost what it lost, for a sentence's end ("" when nothing to say).
std::string loss_reason(const FigureSide& s, const std::string& unit) {
  if (!s.loss_ratio || *s.loss_ratio < kExplainedLoss) return "";
  if (is_rate(unit)) {
    return s.name + " sent faster than its receiver could take, and nothing slowed the sender down (no flow "
                    "control), so the excess was dropped";
  }
  return s.name + " lost " + percent_text(*s.loss_ratio) + " (no answer in time)";
}

}  // namespace

double equal_tolerance(double equal_within, const FigureSide& a, const FigureSide& b) {
  return std::max({equal_within, a.spread_ratio.value_or(0.0), b.spread_ratio.value_or(0.0)});
}

std::string loss_explanation(std::optional<double> loss_ratio) {
  if (!loss_ratio) return "";
  if (*loss_ratio <= 0) return "no loss";
  if (*loss_ratio < kExplainedLoss) return percent_text(*loss_ratio) + " lost";
  return percent_text(*loss_ratio) +
         " lost: the sender went faster than the receiver could take, and nothing slowed it down (no flow "
         "control), so the excess was dropped";
}

std::string equal_rule_text(double equal_within) {
  return "Two figures are called equal when they differ by less than " + percent_text(equal_within) +
         " of the larger (or by less than their run-to-run spread, when steps repeat).";
}

FigureAnswer answer_figure(const std::string& label, const std::string& unit, const std::string& better,
                           const FigureSide& a, const FigureSide& b, double equal_within) {
  FigureAnswer answer;
  answer.tolerance = equal_tolerance(equal_within, a, b);
  if (!a.value && !b.value) {
    answer.text = label + ": not measured for " + a.name + " nor " + b.name + " (n/a)";
    return answer;
  }
  if (!a.value || !b.value) {
    const FigureSide& has = a.value ? a : b;
    const FigureSide& lacks = a.value ? b : a;
    answer.text = label + ": only " + has.name + " measured it (" + side_value(has, unit) + "); " + lacks.name +
                  " n/a, so no comparison";
    const std::string why = loss_reason(has, unit);
    if (!why.empty()) answer.text += " - " + why;
    return answer;
  }
  const double x = *a.value;
  const double y = *b.value;
  const double larger = std::max(std::fabs(x), std::fabs(y));
  const double apart = larger > 0 ? std::fabs(x - y) / larger : 0.0;
  std::string reasons;
  for (const FigureSide* s : {&a, &b}) {
    const std::string why = loss_reason(*s, unit);
    if (!why.empty()) reasons += (reasons.empty() ? " - " : "; ") + why;
  }
  if (better.empty()) {
    answer.outcome = FigureOutcome::kUnranked;
    answer.text = label + ": " + a.name + " " + side_value(a, unit) + ", " + b.name + " " + side_value(b, unit) +
                  " (shown, not ranked)" + reasons;
    return answer;
  }
  if (apart < answer.tolerance) {
    answer.outcome = FigureOutcome::kEqual;
    answer.text = label + ": equal within " + percent_text(answer.tolerance) + " (" + a.name + " " +
                  side_value(a, unit) + ", " + b.name + " " + side_value(b, unit) + "; " + percent_text(apart) +
                  " apart)" + reasons;
    return answer;
  }
  const bool a_better = better == "lower" ? x < y : x > y;
  answer.outcome = a_better ? FigureOutcome::kFirstBetter : FigureOutcome::kSecondBetter;
  const FigureSide& win = a_better ? a : b;
  const FigureSide& lose = a_better ? b : a;
  const double w = std::fabs(*win.value);
  const double l = std::fabs(*lose.value);
  // "6.94x higher" reads better than "594 % higher"; a lower figure is at
  // most 100 % lower, so it is given as a fraction of the worse one.
  std::string by;
  if (better == "higher" && l > 0 && w / l >= 2) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3gx higher", w / l);
    by = buf;
  } else if (better == "lower" && w > 0 && l / w >= 2) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3gx lower", l / w);
    by = buf;
  } else {
    // Lower: by what fraction of the worse one; higher: of the lower one.
    by = better == "lower" ? percent_text(apart) + " lower" : percent_text(l > 0 ? (w - l) / l : 0.0) + " higher";
  }
  answer.text = label + ": " + win.name + " better, " + by + " (" + side_value(win, unit) + " vs " +
                side_value(lose, unit) + " for " + lose.name + ")" + reasons;
  return answer;
}

}  // namespace sonda
