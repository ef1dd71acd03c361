// Comparison reports: a table of figures picked from step records, one
// column per system under test, and a verdict written from the numbers.
//
//   report:
//     - title: TCP vs UDP echo
//       columns: [TCP python, UDP python]
//       rows:
//         - { label: RTT p50, unit: ns, better: lower,
//             values: [tcp_rr.latency.p50_ns, udp_rr.latency.p50_ns] }
//       pairs: [[TCP python, UDP python]]   # optional head-to-head lines
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace sonda {

struct ReportRow {
  std::string label;
  std::string unit;    // ns | bits_per_sec | packets_per_sec | ratio | percent | bytes | "" (plain)
  std::string better;  // lower | higher | "" (informative only)
  std::vector<std::string> paths;  // one `step.field.path` per column; "" = n/a
};

struct ReportSpec {
  std::string title;
  std::vector<std::string> columns;
  std::vector<ReportRow> rows;
  /// Head-to-head comparisons written into the verdict, as column indexes
  /// (e.g. TCP python vs UDP python).
  std::vector<std::pair<size_t, size_t>> pairs;
};

/// Parses one `report:` entry (as JSON). Returns the problems found, each a
/// short sentence naming the offending key; empty when valid.
std::vector<std::string> parse_report_spec(const nlohmann::json& doc, ReportSpec& out);

/// Looks a `step.a.b[0].c` path up in {step_id: record}; null when absent.
nlohmann::json lookup_path(const nlohmann::json& records, const std::string& path);

/// Evaluates the spec against the records: {title, columns, rows: [{label,
/// unit, better, values: [number|null], best: column index|null}], verdict}.
nlohmann::json build_report(const ReportSpec& spec, const nlohmann::json& records);

/// A plain-text table followed by the verdict paragraph.
std::string render_report(const nlohmann::json& report);

/// "38.2 Gbit/s", "35.0 us", "0.12 %" ...
std::string format_value(double value, const std::string& unit);

}  // namespace sonda
