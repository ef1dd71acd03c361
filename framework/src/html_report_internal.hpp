// The pieces of the HTML report (html_report.hpp), one file each: chart
// specs from samples and records, the run's tables, the discovery tables.
// Every function appends HTML to `out`; text from result files is escaped.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "html_report.hpp"

namespace sonda::html {

using nlohmann::json;

/// The whole file; throws ReportError naming it.
std::string read_file(const std::string& path);

/// Appends `text` with &, <, >, " and ' escaped.
void escape_into(std::string& out, std::string_view text);
std::string escape(std::string_view text);

/// A value for people in a figure's unit ("bit/s", "ns", "ratio", "1/s",
/// "packets/s", "count", or report.hpp's unit names); "n/a" for non-numbers.
std::string format_in_unit(const json& value, const std::string& unit);
/// Appends <td class="cls">text</td>, text escaped.
void cell(std::string& out, std::string_view text, const char* cls = nullptr);
/// <span class="status st-ok">ok</span>
std::string status_badge(const std::string& status);

/// "1.23 s", "450 ms": a step duration.
std::string format_duration(int64_t ns);
/// Any JSON scalar as cell text (strings unquoted, null as "").
std::string scalar_text(const json& value);

/// obj[key] without a copy (json::value() copies: a 19 000-socket record is
/// megabytes), or a null json when `obj` is not an object or lacks `key`.
/// Iterating the null json visits nothing.
const json& member(const json& obj, std::string_view key);

/// A step's object in run.json `steps[]`, or nullptr.
const json* find_step(const json& run, const std::string& id);

// ---- charts (html_report_charts.cpp) ----

/// The charts of one step, as specs for the page script: one "series" chart
/// per kind of sample field (throughput, packet rate, rate, loss, time,
/// counts, bytes) and one "percentiles" chart when the record has latency
/// percentile sets. `base` (the base run's step of the same id, may be null)
/// is overlaid. Specs: {kind, title, unit, y_title, datasets: [{label, color,
/// base, points: [[x_s, y]...] | values: [...]}], labels?, log?}.
std::vector<json> step_charts(const json& step, const json* base);

// ---- the run's tables (html_report_tables.cpp) ----

/// One headline figure of a step, with both runs' values (null when absent).
struct FigureRow {
  std::string step;
  FigureSpec spec;
  json value;
  json base_value;
  std::string spread;  ///< "median 1.2 Gbit/s over 5 runs" for repeated steps, else ""
};

/// "host vm, Linux 6.1.0 x86_64, 2 x AMD EPYC, sonda 0.1.0 (git 81fed83c1a2b), agent isolation".
std::string context_line(const json& run);
/// Run context side by side with the base run's: status, times, host, kernel, CPU, sysctls.
void context_table(std::string& out, const json& run, const json* base);
/// id, plugin.action, status, duration, reason, summary (never cut).
void steps_table(std::string& out, const json& run, const json* base);
void expectations_table(std::string& out, const json& run, const json* base);
/// The scenario's `report:` tables and verdicts; base values under each cell.
void comparison_reports(std::string& out, const json& run, const json* base);
/// Figures with the base value and relative change; `with_step` adds the step column.
void figures_table(std::string& out, const std::vector<FigureRow>& rows, bool with_base, bool with_step);

// ---- discovery (html_report_discovery.cpp) ----

/// Rows listed in a proc_scanner table (sockets, services, threads); the
/// rest are counted, and stay in run.json.
inline constexpr size_t kSocketRowsShown = 300;

/// iface_scanner.scan: name, state, MTU, MAC, addresses, counters.
void interfaces_table(std::string& out, const json& record);
/// proc_scanner.scan: counts, services, namespaces, kernel threads, the
/// socket table summarised (by protocol and state, by owner) and its first rows.
void proc_scan_tables(std::string& out, const json& record);

}  // namespace sonda::html
