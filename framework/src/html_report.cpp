// The report page: headline figures gathered from every step, the run's
// tables, one section per step (figures, charts, discovery tables, record),
// then the chart specs, Chart.js and the page script inlined at the end.
#include "html_report.hpp"

#include <strings.h>

#include <cstdio>

#include <cstdlib>
#include <filesystem>

#include "compare.hpp"
#include "html_report_assets.hpp"
#include "html_report_internal.hpp"
#include "scenario/record_path.hpp"
#include "version.hpp"

namespace sonda {

namespace fs = std::filesystem;
using nlohmann::json;
using html::escape;
using html::member;

namespace {

std::vector<FigureSpec> declared_figures(const json& step, const FigureCatalog& catalog) {
  std::vector<FigureSpec> specs;
  const json& figures = member(step, "figures");
  if (figures.is_array()) {
    for (const json& f : figures) {
      specs.push_back({f.value("path", ""), f.value("unit", ""), f.value("better", ""), f.value("doc", "")});
    }
    return specs;
  }
  if (catalog && step.value("kind", "action") == "action" && !step.value("plugin", "").empty()) {
    specs = catalog(step.value("plugin", ""), step.value("action", ""));
  }
  return specs;
}

/// The value at record path `path` ("latency.p99_ns", "flows[0].lost") in
/// `root`, or nullptr.
const json* at_path(const json& root, const std::string& path) {
  std::string error;
  size_t offset = 0;
  const auto parsed = scenario::parse_record_path(path, &error, &offset);
  std::string missing;
  return parsed ? scenario::lookup_record_path(root, *parsed, &missing) : nullptr;
}

/// A figure's value in one run's step: its `figures` entry, else the record.
json figure_value(const json* step, const std::string& path) {
  if (step == nullptr) {
    return nullptr;
  }
  for (const json& f : member(*step, "figures")) {
    if (f.value("path", "") == path && f.contains("value")) {
      return f["value"];
    }
  }
  const json* v = at_path(member(*step, "record"), path);
  return v != nullptr ? *v : json(nullptr);
}

/// "median 1.2 Gbit/s (1.1 Gbit/s .. 1.3 Gbit/s) over 5 runs" for a repeated step.
std::string spread_text(const json& step, const FigureSpec& spec) {
  const json& spread = member(member(member(step, "record"), "repeat"), "spread");
  if (!spread.is_object()) {
    return "";
  }
  const json* s = at_path(spread, spec.path);
  if (s == nullptr || !s->is_object() || !s->contains("median")) {
    return "";
  }
  return "median " + html::format_in_unit((*s)["median"], spec.unit) + " (" +
         html::format_in_unit(member(*s, "min"), spec.unit) + " .. " +
         html::format_in_unit(member(*s, "max"), spec.unit) + ") over " + html::scalar_text(member(*s, "count")) +
         " runs";
}

std::vector<html::FigureRow> step_figures(const json& step, const json* base_step, const FigureCatalog& catalog) {
  std::vector<html::FigureRow> rows;
  for (FigureSpec& spec : declared_figures(step, catalog)) {
    html::FigureRow row;
    row.step = step.value("id", "");
    row.value = figure_value(&step, spec.path);
    row.base_value = figure_value(base_step, spec.path);
    if (row.value.is_null() && row.base_value.is_null()) {
      continue;  // a failed step's figures: nothing measured in either run
    }
    row.spread = spread_text(step, spec);
    row.spec = std::move(spec);
    rows.push_back(std::move(row));
  }
  return rows;
}

/// Cheap size check: true when `j` has at most `budget` nodes.
bool small_json(const json& j, size_t& budget) {
  if (budget == 0) {
    return false;
  }
  --budget;
  if (j.is_structured()) {
    for (const json& child : j) {
      if (!small_json(child, budget)) return false;
    }
  }
  return true;
}

/// One step's section: summary, figures, charts, discovery tables, record.
void step_section(std::string& out, const json& step, const json* base, const FigureCatalog& catalog,
                  std::vector<json>& charts, std::vector<html::FigureRow>& all_figures) {
  const std::string id = step.value("id", "");
  const std::string plugin = step.value("plugin", "");
  const std::string action = step.value("action", "");
  const json* base_step = base != nullptr ? html::find_step(*base, id) : nullptr;
  out += "<section class=\"step\" id=\"step-" + escape(id) + "\"><h3>" + escape(id) + "<span class=\"what\">" +
         escape(plugin.empty() ? step.value("kind", "") : plugin + "." + action) + "</span>" +
         html::status_badge(step.value("status", "")) + "</h3>\n";
  if (const std::string reason = step.value("reason", ""); !reason.empty()) {
    out += "<p class=\"reason\">" + escape(reason) + "</p>\n";
  }
  const json& record = member(step, "record");
  if (const json& summary = member(record, "summary"); summary.is_string()) {
    const std::string& text = summary.get_ref<const std::string&>();
    out += std::string(text.size() > 400 ? "<p class=\"summary long\">" : "<p class=\"summary\">") + escape(text) +
           "</p>\n";
  }
  if (base != nullptr && base_step == nullptr) {
    out += "<p class=\"muted\">The base run has no step '" + escape(id) + "'.</p>\n";
  }
  std::vector<html::FigureRow> figures = step_figures(step, base_step, catalog);
  if (!figures.empty()) {
    html::figures_table(out, figures, base != nullptr, false);
    all_figures.insert(all_figures.end(), figures.begin(), figures.end());
  }
  const std::vector<json> specs = html::step_charts(step, base_step);
  if (!specs.empty()) {
    out += "<div class=\"charts\">";
    for (const json& spec : specs) {
      const std::string n = std::to_string(charts.size());
      out += "<div class=\"chart\"><canvas id=\"chart-" + n + "\" data-chart=\"" + n + "\" role=\"img\" aria-label=\"" +
             escape(spec.value("title", "")) + "\"></canvas></div>";
      charts.push_back(spec);
    }
    out += "</div>\n";
  }
  if (plugin == "iface_scanner" && action == "scan") {
    out += "<h4>Interfaces</h4>\n";
    html::interfaces_table(out, record);
  } else if (plugin == "proc_scanner" && action == "scan") {
    html::proc_scan_tables(out, record);
  }
  size_t budget = 4000;
  if (record.is_object() && !record.empty()) {
    if (small_json(record, budget)) {
      out += "<details><summary>record (JSON)</summary><pre class=\"record\">" + escape(record.dump(2)) +
             "</pre></details>\n";
    } else {
      out += "<p class=\"muted\">The whole record is in run.json.</p>\n";
    }
  }
  out += "</section>\n";
}

/// `text` safe inside <script>...</script>: no "</script" can end it early.
std::string script_safe(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '<' && i + 1 < text.size() && text[i + 1] == '/' && text.size() - i >= 8 &&
        strncasecmp(text.data() + i + 2, "script", 6) == 0) {
      out += "<\\/";
      ++i;
      continue;
    }
    out += text[i];
  }
  return out;
}

/// JSON for a <script type="application/json">: '<' only occurs inside
/// JSON strings, where \u003c means the same.
std::string json_for_script(const json& value) {
  const std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '<') {
      out += "\\u003c";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::vector<std::string> chart_js_candidates() {
  std::vector<std::string> paths;
  // An explicit file replaces the search (and is the only one tried).
  if (const char* env = std::getenv("SONDA_CHART_JS"); env != nullptr && *env != '\0') {
    return {env};
  }
  for (const char* p : {"/usr/share/javascript/chart.js/chart.min.js", "/usr/share/javascript/chart.js/Chart.min.js",
                        "/usr/share/javascript/chart.js/chart.js", "/usr/local/share/javascript/chart.js/chart.min.js"}) {
    paths.emplace_back(p);
  }
  return paths;
}

std::string load_chart_js() {
  std::string searched;
  for (const std::string& path : chart_js_candidates()) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) {
      searched += (searched.empty() ? "" : ", ") + path;
      continue;
    }
    std::string text = html::read_file(path);
    if (text.find("Chart.js") == std::string::npos) {
      throw ReportError(path + ": not Chart.js (no 'Chart.js' licence header); install Debian's libjs-chart.js "
                               "package (apt-get install libjs-chart.js)");
    }
    return text;
  }
  throw ReportError("Chart.js not found (searched " + searched +
                    "); install Debian's libjs-chart.js package: apt-get install libjs-chart.js");
}

HtmlReport render_html_report(const HtmlReportInput& input) {
  const json& run = input.run->run;
  const json* base = input.base != nullptr ? &input.base->run : nullptr;
  const std::string name = html::scalar_text(member(member(run, "scenario"), "name"));
  const std::string status = html::scalar_text(member(run, "status"));

  std::vector<json> charts;
  std::vector<html::FigureRow> figures;
  std::string sections;
  std::string step_links;
  for (const json& step : member(run, "steps")) {
    step_section(sections, step, base, input.figures, charts, figures);
    const std::string id = step.value("id", "");
    step_links += "<a href=\"#step-" + escape(id) + "\">" + escape(id) + "</a>";
  }

  std::string out;
  out.reserve(sections.size() + input.chart_js.size() + 64 * 1024);
  out += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>sonda report: " +
         escape(name) + " (" + escape(status) + ") " + escape(html::scalar_text(member(run, "started_at"))) +
         "</title>\n<style>\n";
  out += html::kPageCss;
  out += "</style>\n<script>\n";
  out += html::kErrorsScript;
  out += "</script>\n</head>\n<body data-charts-expected=\"" + std::to_string(charts.size()) + "\">\n";
  out += "<header class=\"top\"><h1>" + escape(name) + " " + html::status_badge(status) + "</h1>\n";
  if (const std::string d = html::scalar_text(member(member(run, "scenario"), "description")); !d.empty()) {
    out += "<p>" + escape(d) + "</p>\n";
  }
  out += "<p>" + escape(html::scalar_text(member(run, "started_at"))) + " &middot; " + escape(input.run->dir) +
         "</p>\n<p>" + escape(html::context_line(run)) + "</p>\n";
  if (input.base != nullptr) {
    out += "<p>compared with the base run " + escape(input.base->dir) + " (" +
           escape(html::scalar_text(member(*base, "started_at"))) + ", " +
           escape(html::scalar_text(member(*base, "status"))) + "): its series are dashed</p>\n";
  }
  if (input.run->source.size() > 13 && input.run->source.ends_with("events.jsonl")) {
    out += "<p>run.json is missing: read from events.jsonl (the run did not finish writing its results)</p>\n";
  }
  out += "</header>\n<nav><a href=\"#steps\">Steps</a><a href=\"#figures\">Headline figures</a>"
         "<a href=\"#expectations\">Expectations</a><a href=\"#comparisons\">Comparisons</a><a href=\"#run\">Run</a>"
         "<span class=\"steps\">steps: " + step_links + "</span></nav>\n<main>\n";
  out += "<pre id=\"sonda-report-errors\" hidden></pre>\n";
  out += "<section id=\"steps\"><h2>Steps</h2>\n";
  html::steps_table(out, run, base);
  if (base != nullptr) {
    std::string missing;
    for (const json& b : member(*base, "steps")) {
      if (html::find_step(run, b.value("id", "")) == nullptr) {
        missing += (missing.empty() ? "" : ", ") + b.value("id", "");
      }
    }
    if (!missing.empty()) {
      out += "<p class=\"muted\">Only in the base run: " + escape(missing) + "</p>\n";
    }
  }
  out += "</section>\n<section id=\"figures\"><h2>Headline figures</h2>\n";
  if (figures.empty()) {
    out += "<p class=\"muted\">No step declares headline figures (or their plugins were not found).</p>\n";
  } else {
    html::figures_table(out, figures, base != nullptr, true);
  }
  if (base != nullptr) {
    // The same verdicts `sonda compare` gives (Mann-Whitney U with repeat:,
    // threshold, n=1), so a page and a CI gate never disagree.
    const Comparison cmp = compare_runs(*base, run, {});
    out += "<h3 id=\"compare\">sonda compare: " +
           std::string(cmp.regressed() ? "<strong class=\"bad\">regressed</strong>" : "no regression") + "</h3>\n";
    for (const std::string& w : cmp.warnings) {
      out += "<p class=\"muted\">warning: " + escape(w) + "</p>\n";
    }
    out += "<table class=\"compare\"><thead><tr><th>step</th><th>figure</th><th>base (median)</th>"
           "<th>new (median)</th><th>change</th><th>p</th><th>verdict</th></tr></thead><tbody>\n";
    const nlohmann::json rows = cmp.to_json()["figures"];
    for (const nlohmann::json& f : rows) {
      auto num = [](const nlohmann::json& v, double scale, const char* fmt) {
        if (!v.is_number()) {
          return std::string("-");
        }
        char buf[48];
        std::snprintf(buf, sizeof buf, fmt, v.get<double>() * scale);
        return std::string(buf);
      };
      const std::string verdict = f.value("verdict", std::string());
      const bool bad = verdict == "regressed" || verdict == "failed in new";
      out += "<tr><td>" + escape(f.value("step", std::string())) + "</td><td><code>" +
             escape(f.value("path", std::string())) + "</code></td><td>" + num(f["base_median"], 1, "%.4g") +
             " <span class=\"muted\">n=" + std::to_string(f["base"].size()) + "</span></td><td>" +
             num(f["new_median"], 1, "%.4g") + " <span class=\"muted\">n=" + std::to_string(f["new"].size()) +
             "</span></td><td>" + num(f["change"], 100, "%+.1f %%") + "</td><td>" + num(f["p"], 1, "%.3g") +
             "</td><td>" + (bad ? "<strong class=\"bad\">" + escape(verdict) + "</strong>" : escape(verdict)) +
             (f.value("note", std::string()).empty() ? "" : " <span class=\"muted\">(" + escape(f.value("note", std::string())) + ")</span>") +
             "</td></tr>\n";
    }
    out += "</tbody></table>\n";
  }
  out += "</section>\n<section id=\"expectations\"><h2>Expectations</h2>\n";
  html::expectations_table(out, run, base);
  out += "</section>\n<section id=\"comparisons\"><h2>Comparisons</h2>\n";
  html::comparison_reports(out, run, base);
  out += "</section>\n<h2>Steps in detail</h2>\n";
  out += sections;
  out += "<section id=\"run\"><h2>Run</h2>\n";
  html::context_table(out, run, base);
  out += "</section>\n</main>\n<footer>Written by sonda report " + std::string(kSondaVersion) + " (git " + kSondaGitHash +
         ") from " + escape(input.run->source) +
         (input.base != nullptr ? " and " + escape(input.base->source) : std::string()) +
         ". Charts: Chart.js (MIT licence, its header kept in the script below), from Debian's libjs-chart.js.</footer>\n";
  out += "<script type=\"application/json\" id=\"sonda-charts\">" + json_for_script(charts) + "</script>\n<script>\n";
  out += script_safe(input.chart_js);
  out += "\n</script>\n<script>\n";
  out += html::kPageScript;
  out += "</script>\n</body></html>\n";
  return {std::move(out), charts.size()};
}

}  // namespace sonda
