#include "summary.hpp"

#include "report.hpp"

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <vector>

namespace sonda {

std::string short_duration(int64_t ns) {
  char buf[32];
  if (ns >= 1'000'000'000) {
    std::snprintf(buf, sizeof buf, "%.2fs", static_cast<double>(ns) / 1e9);
  } else if (ns >= 1'000'000) {
    std::snprintf(buf, sizeof buf, "%.1fms", static_cast<double>(ns) / 1e6);
  } else {
    std::snprintf(buf, sizeof buf, "%.0fus", static_cast<double>(ns) / 1e3);
  }
  return buf;
}

namespace {

/// The figure column: the plugin's own summary when ok, the reason when not.
std::string details_of(const StepResult& s) {
  std::string text;
  // `summary` is a scalar, so top() has it; `repeat` and `pid` are host-added,
  // so the record is a tree then and top() is all of it.
  const nlohmann::json& record = s.record.top();
  if (s.status == StepStatus::kOk || s.status == StepStatus::kInterrupted) {
    if (record.contains("summary") && record["summary"].is_string()) {
      text = record["summary"].get<std::string>();
    }
    if (record.contains("repeat") && record["repeat"].is_object()) {
      text += (text.empty() ? "" : "; ") + std::string("repeated ") +
              record["repeat"].value("count", nlohmann::json(0)).dump() + "x";
    }
    if (s.kind == "spawn" && record.contains("pid")) {
      text += (text.empty() ? "" : "; ") + std::string("pid ") + record["pid"].dump();
    }
  }
  if (!s.reason.empty() && s.status != StepStatus::kOk) {
    text += (text.empty() ? "" : "; ") + s.reason;
  }
  std::replace(text.begin(), text.end(), '\n', ' ');
  return text;
}

/// The table keeps one line per step; a longer text is cut there and given
/// whole in the DETAILS section below it.
constexpr size_t kTableDetails = 100;

}  // namespace

std::string render_summary(const std::string& scenario_name, const RunOutcome& outcome,
                           const std::string& run_dir) {
  size_t id_w = 4;
  for (const auto& s : outcome.steps) {
    id_w = std::max(id_w, s.id.size());
  }
  std::ostringstream out;
  auto pad = [](const std::string& s, size_t w) { return s + std::string(w > s.size() ? w - s.size() : 0, ' '); };
  out << "scenario " << scenario_name << ": " << outcome.status << " (exit " << outcome.exit_code
      << ")\n";
  out << pad("STEP", id_w) << "  " << pad("STATUS", 11) << "  " << pad("TIME", 9) << "  DETAILS\n";
  std::vector<std::pair<std::string, std::string>> long_details;
  for (const auto& s : outcome.steps) {
    std::string details = details_of(s);
    if (details.size() > kTableDetails) {
      long_details.emplace_back(s.id, details);
      details = details.substr(0, kTableDetails - 3) + "...";
    }
    std::string line = pad(s.id, id_w) + "  " + pad(to_string(s.status), 11) + "  " +
                       pad(s.status == StepStatus::kSkipped ? "-" : short_duration(s.duration_ns), 9) + "  " +
                       details;
    while (!line.empty() && line.back() == ' ') {
      line.pop_back();
    }
    out << line << '\n';
  }
  if (!long_details.empty()) {
    out << "\nDETAILS\n";
    for (const auto& [id, text] : long_details) {
      out << id << ": " << text << '\n';
    }
  }
  if (!outcome.expectations.empty()) {
    out << '\n';
    for (const auto& e : outcome.expectations) {
      out << (e.value("passed", false) ? "PASS  " : "FAIL  ") << e.value("text", std::string())
          << "  (" << e.value("message", std::string()) << ")\n";
    }
  }
  for (const auto& report : outcome.reports) {
    out << '\n' << render_report(report);
  }
  out << "\nresults: " << run_dir << '\n';
  return out.str();
}

}  // namespace sonda
