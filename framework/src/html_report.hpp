// `sonda report`: one self-contained HTML file people read, made from a
// finished run directory (run.json, or events.jsonl when the run died): the
// step table, expectations, comparison reports, each step's headline figures,
// its interval samples and latency percentiles as charts, and the discovery
// tables. Reads result files only, never the runner's internals; with a base
// run, both runs side by side. Charts are drawn by Debian's Chart.js
// (libjs-chart.js), inlined so the file opens offline.
#pragma once

#include <cstddef>
#include <functional>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace sonda {

/// A run that cannot be read, or a report that cannot be written. what() is
/// the whole message for the user, naming the path.
class ReportError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// One finished (or died) run, read from its directory.
struct RunDocument {
  std::string dir;     ///< the run directory, symlinks resolved
  std::string source;  ///< the file read: <dir>/run.json or <dir>/events.jsonl
  nlohmann::json run;  ///< run.json; rebuilt from the events when only events.jsonl is there
};

/// Reads the run `arg` names: a run directory, its run.json or events.jsonl,
/// `results/<scenario>/latest`, a scenario directory holding `latest`, or a
/// results directory with a single scenario. Throws ReportError saying what
/// was looked for.
RunDocument read_run(const std::string& arg);

/// A headline figure of a step: where it sits in the record, its unit and
/// which way is better (the plugin's declaration, sonda_figure_spec).
struct FigureSpec {
  std::string path;    ///< record path: "latency.p99_ns"
  std::string unit;    ///< "bit/s", "ns", "ratio", "1/s", "count" ...
  std::string better;  ///< "higher" | "lower"
  std::string doc;
};

/// The figures `plugin`.`action` declares; used for steps whose run.json
/// entry carries no `figures` array. Empty when the plugin is unknown.
using FigureCatalog = std::function<std::vector<FigureSpec>(const std::string& plugin, const std::string& action)>;

struct HtmlReportInput {
  const RunDocument* run = nullptr;
  const RunDocument* base = nullptr;  ///< --base: overlaid and compared; may be null
  FigureCatalog figures;              ///< may be empty (no figures beyond run.json's)
  std::string chart_js;               ///< Chart.js source, inlined verbatim (licence header kept)
};

struct HtmlReport {
  std::string html;
  size_t charts = 0;  ///< canvases the page promises (also <body data-charts-expected>)
};

/// The whole page. Pure: reads nothing but its input.
HtmlReport render_html_report(const HtmlReportInput& input);

/// Chart.js from Debian's libjs-chart.js (or only `$SONDA_CHART_JS`, when
/// set). Throws ReportError naming the package and the paths searched.
std::string load_chart_js();

/// The files load_chart_js() tries, in order.
std::vector<std::string> chart_js_candidates();

}  // namespace sonda
