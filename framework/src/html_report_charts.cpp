// Chart specs for the report page: a step's interval samples become time
// series grouped by what they measure, its latency percentile sets one
// percentile plot. The page script (html_report_page.js) only turns these
// specs into Chart.js configurations.
#include <algorithm>
#include <array>
#include <map>
#include <set>

#include "html_report_internal.hpp"

namespace sonda::html {

namespace {

/// Sample fields that place a sample in time rather than measure anything.
const std::set<std::string, std::less<>> kPlacementFields = {"t_ns",     "interval_ns", "offset_ns", "interval",
                                                             "elapsed_ns", "run",       "ifindex",   "flow_id"};

struct FieldKind {
  const char* group;  // chart title part, also the grouping key
  const char* unit;   // format_in_unit's unit
  const char* y_title;
};

bool ends_with(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

/// What a sample field measures, from its name (plugins name fields by unit:
/// bits_per_sec, *_ns, loss_ratio ...).
FieldKind kind_of(std::string_view path) {
  const size_t dot = path.rfind('.');
  const std::string_view leaf = dot == std::string_view::npos ? path : path.substr(dot + 1);
  if (ends_with(leaf, "bits_per_sec")) return {"throughput", "bit/s", "bit/s"};
  if (ends_with(leaf, "packets_per_sec")) return {"packet rate", "packets/s", "packets/s"};
  if (ends_with(leaf, "_per_sec")) return {"rate", "1/s", "per second"};
  if (leaf.find("loss") != std::string_view::npos || ends_with(leaf, "_ratio")) return {"loss", "ratio", "ratio"};
  if (ends_with(leaf, "_pct")) return {"percent", "percent", "%"};
  if (ends_with(leaf, "_ns")) return {"time", "ns", "time"};
  if (leaf.find("bytes") != std::string_view::npos) return {"bytes", "bytes", "bytes"};
  return {"count", "count", "count"};
}

constexpr std::array<const char*, 8> kGroupOrder = {"throughput", "packet rate", "rate",  "loss",
                                                   "time",       "percent",     "count", "bytes"};

/// Numeric leaves of a sample object as dotted paths (arrays are skipped:
/// per-flow lists would make a chart per flow nobody asked for).
void flatten(const json& obj, const std::string& prefix, int depth, std::vector<std::pair<std::string, double>>& out) {
  for (const auto& [key, value] : obj.items()) {
    if (depth == 0 && kPlacementFields.count(key) != 0) {
      continue;
    }
    if (depth > 0 && (key == "interval_ns" || key == "ifindex")) {
      continue;
    }
    const std::string path = prefix.empty() ? key : prefix + "." + key;
    if (value.is_number()) {
      out.emplace_back(path, value.get<double>());
    } else if (value.is_object() && depth < 4) {
      flatten(value, path, depth + 1, out);
    }
  }
}

/// When a sample was taken, in seconds since its step (or repeat run)
/// started: t_ns (end of its interval), else offset_ns + interval_ns, else
/// elapsed_ns, else the running sum of interval_ns, else its position.
double sample_time_s(const json& sample, double& interval_sum_ns, size_t index) {
  auto num = [&](const char* key) -> const json* {
    auto it = sample.find(key);
    return it != sample.end() && it->is_number() ? &*it : nullptr;
  };
  const json* interval = num("interval_ns");
  if (interval != nullptr) {
    interval_sum_ns += interval->get<double>();
  }
  if (const json* t = num("t_ns")) return t->get<double>() / 1e9;
  if (const json* off = num("offset_ns")) {
    return (off->get<double>() + (interval != nullptr ? interval->get<double>() : 0.0)) / 1e9;
  }
  if (const json* e = num("elapsed_ns")) return e->get<double>() / 1e9;
  if (interval != nullptr) return interval_sum_ns / 1e9;
  return static_cast<double>(index + 1);
}

/// One line of points: a field, in one repeat run, of one of the two runs.
struct Line {
  std::string field;
  int run = 0;  // repeat run, 0 when not repeated
  bool base = false;
  json points = json::array();
};

/// Appends the lines of `samples` to `lines` (in first-seen order).
void collect_lines(const json& samples, bool base, std::vector<Line>& lines) {
  std::map<std::pair<std::string, int>, size_t> index;
  std::map<int, double> interval_sums;
  std::map<int, size_t> counts;
  for (const json& sample : samples) {
    if (!sample.is_object()) {
      continue;
    }
    const int run = sample.value("run", 0);
    const double x = sample_time_s(sample, interval_sums[run], counts[run]++);
    std::vector<std::pair<std::string, double>> leaves;
    flatten(sample, "", 0, leaves);
    for (const auto& [field, y] : leaves) {
      auto [it, added] = index.try_emplace({field, run}, lines.size());
      if (added) {
        lines.push_back({field, run, base, json::array()});
      }
      lines[it->second].points.push_back({x, y});
    }
  }
}

void series_charts(const json& step, const json* base, std::vector<json>& charts) {
  std::vector<Line> lines;
  collect_lines(member(step, "samples"), false, lines);
  if (base != nullptr) {
    collect_lines(member(*base, "samples"), true, lines);
  }
  const std::string id = step.value("id", "");
  for (const char* group : kGroupOrder) {
    json datasets = json::array();
    FieldKind kind{};
    // Colour: first appearance of (field, repeat run) in this chart, the
    // same for both runs.
    std::vector<std::pair<std::string, int>> colours;
    for (const Line& line : lines) {
      const FieldKind k = kind_of(line.field);
      if (std::string_view(k.group) != group) {
        continue;
      }
      kind = k;
      std::string label = (line.base ? "base: " : "") + line.field;
      if (line.run > 0) {
        label += " (run " + std::to_string(line.run) + ")";
      }
      const auto key = std::pair(line.field, line.run);
      auto at = std::find(colours.begin(), colours.end(), key);
      if (at == colours.end()) {
        at = colours.insert(colours.end(), key);
      }
      const auto color = at - colours.begin();
      datasets.push_back({{"label", label}, {"color", color}, {"base", line.base}, {"points", line.points}});
    }
    if (datasets.empty()) {
      continue;
    }
    charts.push_back({{"kind", "series"},
                      {"title", id + ": " + group},
                      {"unit", kind.unit},
                      {"y_title", kind.y_title},
                      {"datasets", std::move(datasets)}});
  }
}

constexpr std::array<const char*, 6> kPercentileKeys = {"min_ns", "p50_ns", "p90_ns", "p99_ns", "p99_9_ns", "max_ns"};

/// Objects with latency percentiles in a record ("latency",
/// "connect_latency", "receiver.one_way_delay"), by path. Arrays (per-flow
/// copies) and a repeated step's other runs are not searched.
void percentile_sets(const json& obj, const std::string& prefix, int depth,
                     std::vector<std::pair<std::string, const json*>>& out) {
  if (!obj.is_object()) {
    return;
  }
  if (obj.contains("p50_ns") && obj["p50_ns"].is_number()) {
    out.emplace_back(prefix, &obj);
    return;
  }
  if (depth >= 3) {
    return;
  }
  for (const auto& [key, value] : obj.items()) {
    if (value.is_object() && key != "repeat") {
      percentile_sets(value, prefix.empty() ? key : prefix + "." + key, depth + 1, out);
    }
  }
}

void percentile_chart(const json& step, const json* base, std::vector<json>& charts) {
  std::vector<std::pair<std::string, const json*>> sets;
  percentile_sets(member(step, "record"), "", 0, sets);
  const size_t own = sets.size();
  if (base != nullptr) {
    percentile_sets(member(*base, "record"), "", 0, sets);
  }
  if (sets.empty()) {
    return;
  }
  std::vector<std::string> names;
  json datasets = json::array();
  bool positive = true;
  for (size_t i = 0; i < sets.size(); ++i) {
    const auto& [path, set] = sets[i];
    auto it = std::find(names.begin(), names.end(), path);
    const auto color = it - names.begin();
    if (it == names.end()) {
      names.push_back(path);
    }
    json values = json::array();
    for (const char* key : kPercentileKeys) {
      auto v = set->find(key);
      if (v != set->end() && v->is_number()) {
        positive = positive && v->get<double>() > 0;
        values.push_back(*v);
      } else {
        values.push_back(nullptr);
      }
    }
    const bool is_base = i >= own;
    datasets.push_back(
        {{"label", (is_base ? "base: " : "") + path}, {"color", color}, {"base", is_base}, {"values", values}});
  }
  charts.push_back({{"kind", "percentiles"},
                    {"title", step.value("id", "") + ": latency percentiles"},
                    {"unit", "ns"},
                    {"y_title", "latency"},
                    {"labels", {"min", "p50", "p90", "p99", "p99.9", "max"}},
                    {"log", positive},
                    {"datasets", std::move(datasets)}});
}

}  // namespace

std::vector<json> step_charts(const json& step, const json* base) {
  std::vector<json> charts;
  series_charts(step, base, charts);
  percentile_chart(step, base, charts);
  return charts;
}

}  // namespace sonda::html
