// `report:` entries. The default kind, comparison: a table of figures picked
// from step records, one column per system under test, and plain-word
// answers written from the numbers. The other kinds (interfaces, services,
// kernel_threads, occupation) show what discovery steps found
// (report_sections.hpp).
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
  /// Optional `loss:`: per column, the path of the loss ratio (0..1) of what
  /// this figure counts; "" = none. Empty when the row has no `loss:`.
  std::vector<std::string> loss_paths;
};

/// An `occupation` row: who held the port while `load` ran, as step `owner`
/// (a proc_scanner.owner or .scan running alongside it) saw it.
struct OccupationRow {
  std::string label;
  std::string load;
  std::string owner;
};

/// The report kinds, as `kind:` spells them.
inline const std::vector<std::string> kReportKinds{"comparison", "interfaces", "services", "kernel_threads",
                                                   "occupation"};

struct ReportSpec {
  std::string kind = "comparison";
  std::string title;
  /// interfaces / services / kernel_threads: the step whose record is shown.
  std::string step;
  /// interfaces: iface_scanner.watch steps whose counter changes are shown.
  std::vector<std::string> changes;
  /// occupation: the port (needed to read a proc_scanner.scan record).
  int port = 0;
  std::vector<OccupationRow> occupation;
  /// comparison: the question the pairs answer ("Is UDP faster than TCP?").
  std::string question;
  /// comparison: two figures closer than this fraction of the larger are equal.
  double equal_within = 0.05;
  std::vector<std::string> columns;
  std::vector<ReportRow> rows;
  /// Head-to-head comparisons written into the verdict, as column indexes
  /// (e.g. TCP python vs UDP python).
  std::vector<std::pair<size_t, size_t>> pairs;
};

/// Parses one `report:` entry (as JSON). Returns the problems found, each a
/// short sentence naming the offending key; empty when valid. Step ids are
/// not checked here (the scenario loader does, at their keys).
std::vector<std::string> parse_report_spec(const nlohmann::json& doc, ReportSpec& out);

/// Looks a `step.a.b[0].c` path up in {step_id: record}; null when absent.
nlohmann::json lookup_path(const nlohmann::json& records, const std::string& path);

/// The keys a report of this kind accepts, and those of its rows (the
/// scenario loader reports others at their place, with did-you-mean).
const std::vector<std::string>& report_keys(const std::string& kind);
const std::vector<std::string>& report_row_keys(const std::string& kind);

/// The step ids a spec reads, each with the key that names it ("step",
/// "changes", "rows[2].load", "rows[0].values[1]" ...).
std::vector<std::pair<std::string, std::string>> referenced_steps(const ReportSpec& spec);

/// The record paths (`step.a.b`) building the spec reads, so the runner
/// parses those parts of big records only (record_readers.hpp).
std::vector<std::string> report_read_paths(const ReportSpec& spec);

/// Evaluates the spec against the records. A comparison: {kind, title,
/// columns, rows: [{label, unit, better, values: [number|null], best: column
/// index|null}], answers: [{pair, question, rule, figures: [{label, outcome,
/// text}]}], verdict (the answers as text)}; other kinds: build_section().
nlohmann::json build_report(const ReportSpec& spec, const nlohmann::json& records);

/// Plain text: a comparison's table followed by its answers, or a section.
std::string render_report(const nlohmann::json& report);

/// "38.2 Gbit/s", "35.0 us", "0.12 %" ...
std::string format_value(double value, const std::string& unit);

}  // namespace sonda
