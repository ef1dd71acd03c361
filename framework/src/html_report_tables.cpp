// The report's tables about the run itself: context, steps, expectations,
// the scenario's comparison reports and headline figures, each with the
// base run's values beside them when there is one.
#include <cinttypes>
#include <cmath>
#include <cstdio>

#include "html_report_internal.hpp"
#include "report.hpp"

namespace sonda::html {

void escape_into(std::string& out, std::string_view text) {
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
}

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  escape_into(out, text);
  return out;
}

std::string format_in_unit(const json& value, const std::string& unit) {
  if (!value.is_number()) {
    return "n/a";
  }
  const double v = value.get<double>();
  // Plugins declare figures in units for people; report.hpp's format_value
  // speaks the scenario `report:` unit names.
  if (unit == "bit/s" || unit == "bits_per_sec") return format_value(v, "bits_per_sec");
  if (unit == "packets/s" || unit == "packets_per_sec") return format_value(v, "packets_per_sec");
  if (unit == "count" || unit.empty()) return format_value(v, "");
  if (unit == "1/s") return format_value(v, "") + "/s";
  return format_value(v, unit);
}

std::string format_duration(int64_t ns) { return format_value(static_cast<double>(ns), "ns"); }

std::string scalar_text(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_null()) return "";
  if (value.is_number_float()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", value.get<double>());
    return buf;
  }
  return value.dump();
}

void cell(std::string& out, std::string_view text, const char* cls) {
  out += cls != nullptr ? std::string("<td class=\"") + cls + "\">" : std::string("<td>");
  escape_into(out, text);
  out += "</td>";
}

std::string status_badge(const std::string& status) {
  return "<span class=\"status st-" + escape(status) + "\">" + escape(status) + "</span>";
}

const json& member(const json& obj, std::string_view key) {
  static const json kNull;
  if (!obj.is_object()) {
    return kNull;
  }
  auto it = obj.find(key);
  return it != obj.end() ? *it : kNull;
}

const json* find_step(const json& run, const std::string& id) {
  for (const json& s : member(run, "steps")) {
    if (s.is_object() && s.value("id", "") == id) {
      return &s;
    }
  }
  return nullptr;
}

namespace {

/// Text at a JSON pointer-ish chain of keys, "" when any is missing.
std::string text_at(const json& doc, std::initializer_list<const char*> keys) {
  const json* at = &doc;
  for (const char* k : keys) {
    if (!at->is_object() || !at->contains(k)) {
      return "";
    }
    at = &(*at)[k];
  }
  return scalar_text(*at);
}

void status_cell(std::string& out, const std::string& status) { out += "<td>" + status_badge(status) + "</td>"; }

/// One line of the context table: label, this run's value, the base's.
void context_row(std::string& out, const char* label, const std::string& value, const std::string* base) {
  out += "<tr><th>";
  out += label;
  out += "</th>";
  cell(out, value);
  if (base != nullptr) {
    cell(out, *base, *base == value ? "same" : nullptr);
  }
  out += "</tr>\n";
}

std::string cpu_text(const json& run) {
  const std::string count = text_at(run, {"context", "cpu", "count"});
  const std::string model = text_at(run, {"context", "cpu", "model"});
  return count + (model.empty() ? "" : " x " + model);
}

std::string kernel_text(const json& run) {
  return text_at(run, {"context", "kernel", "sysname"}) + " " + text_at(run, {"context", "kernel", "release"}) + " " +
         text_at(run, {"context", "kernel", "machine"});
}

std::string duration_at(const json& doc) {
  auto it = doc.find("duration_ns");
  return it != doc.end() && it->is_number_integer() ? format_duration(it->get<int64_t>()) : "";
}

/// "plugin.action", or the spawned program for spawn steps.
std::string step_what(const json& step) {
  if (step.value("kind", "") == "spawn") {
    std::string argv;
    for (const json& a : member(member(step, "params"), "argv")) {
      argv += (argv.empty() ? "" : " ") + scalar_text(a);
    }
    return "spawn: " + argv;
  }
  return step.value("plugin", "") + "." + step.value("action", "");
}

}  // namespace

std::string context_line(const json& run) {
  const std::string model = text_at(run, {"context", "cpu", "model"});
  return "host " + text_at(run, {"context", "host"}) + ", " + kernel_text(run) + ", " +
         text_at(run, {"context", "cpu", "count"}) + " CPUs" + (model.empty() ? "" : " (" + model + ")") + ", sonda " +
         text_at(run, {"sonda", "version"}) + " (git " + text_at(run, {"sonda", "git"}) + "), " +
         text_at(run, {"isolation"}) + " isolation";
}

void context_table(std::string& out, const json& run, const json* base) {
  struct Item {
    const char* label;
    std::string (*get)(const json&);
  };
  static const Item kItems[] = {
      {"scenario", [](const json& r) { return text_at(r, {"scenario", "name"}); }},
      {"file", [](const json& r) { return text_at(r, {"scenario", "file"}); }},
      {"status", [](const json& r) { return text_at(r, {"status"}) + " (exit " + text_at(r, {"exit_code"}) + ")"; }},
      {"started", [](const json& r) { return text_at(r, {"started_at"}); }},
      {"duration", duration_at},
      {"host", [](const json& r) { return text_at(r, {"context", "host"}); }},
      {"kernel", kernel_text},
      {"CPUs", cpu_text},
      {"sonda", [](const json& r) { return text_at(r, {"sonda", "version"}) + " (git " + text_at(r, {"sonda", "git"}) + ")"; }},
      {"isolation", [](const json& r) { return text_at(r, {"isolation"}); }},
  };
  out += "<table class=\"context\"><thead><tr><th></th><th>this run</th>";
  out += base != nullptr ? "<th>base run</th>" : "";
  out += "</tr></thead><tbody>\n";
  for (const Item& item : kItems) {
    const std::string b = base != nullptr ? item.get(*base) : "";
    context_row(out, item.label, item.get(run), base != nullptr ? &b : nullptr);
  }
  // Sysctls that change throughput; either run's keys.
  json sysctls = member(member(run, "context"), "sysctls");
  if (!sysctls.is_object()) sysctls = json::object();
  const json& base_sysctls = base != nullptr ? member(member(*base, "context"), "sysctls") : member(run, "");
  if (base_sysctls.is_object()) {
    for (const auto& [k, v] : base_sysctls.items()) {
      if (!sysctls.contains(k)) sysctls[k] = nullptr;
    }
  }
  for (const auto& [key, value] : sysctls.items()) {
    const std::string b = base_sysctls.is_object() && base_sysctls.contains(key) ? scalar_text(base_sysctls[key]) : "";
    context_row(out, key.c_str(), scalar_text(value), base != nullptr ? &b : nullptr);
  }
  out += "</tbody></table>\n";
}

void steps_table(std::string& out, const json& run, const json* base) {
  out += "<table class=\"steps\"><thead><tr><th>step</th><th>plugin.action</th><th>status</th><th>duration</th>";
  out += base != nullptr ? "<th>base status</th><th>base duration</th>" : "";
  out += "<th>reason</th><th>summary</th></tr></thead><tbody>\n";
  for (const json& step : member(run, "steps")) {
    const std::string id = step.value("id", "");
    out += "<tr><td><a href=\"#step-" + escape(id) + "\">" + escape(id) + "</a></td>";
    cell(out, step_what(step), "what");
    status_cell(out, step.value("status", ""));
    cell(out, duration_at(step), "num");
    if (base != nullptr) {
      const json* b = find_step(*base, id);
      if (b != nullptr) {
        status_cell(out, b->value("status", ""));
        cell(out, duration_at(*b), "num");
      } else {
        out += "<td colspan=\"2\" class=\"muted\">not in base run</td>";
      }
    }
    cell(out, step.value("reason", ""), "reason");
    // Every summary whole; a very long one (a scan naming hundreds of
    // services) scrolls inside its cell instead of stretching the table.
    const std::string summary = scalar_text(member(member(step, "record"), "summary"));
    out += summary.size() > 400 ? "<td class=\"summary\"><div class=\"long\">" : "<td class=\"summary\">";
    escape_into(out, summary);
    out += summary.size() > 400 ? "</div></td>" : "</td>";
    out += "</tr>\n";
  }
  out += "</tbody></table>\n";
}

void expectations_table(std::string& out, const json& run, const json* base) {
  const json& expectations = member(run, "expectations");
  if (expectations.empty()) {
    out += "<p class=\"muted\">The scenario has no expectations (or the run was interrupted before they were "
           "checked).</p>\n";
    return;
  }
  out += "<table class=\"expectations\"><thead><tr><th>expectation</th><th>result</th>";
  out += base != nullptr ? "<th>base</th>" : "";
  out += "<th>message</th></tr></thead><tbody>\n";
  for (const json& e : expectations) {
    const std::string text = e.value("text", "");
    const bool passed = e.value("passed", false);
    out += "<tr>";
    cell(out, text, "code");
    out += passed ? "<td><span class=\"status st-ok\">pass</span></td>" : "<td><span class=\"status st-failed\">FAIL</span></td>";
    if (base != nullptr) {
      std::string result = "n/a";
      for (const json& b : member(*base, "expectations")) {
        if (b.value("text", "") == text) {
          result = b.value("passed", false) ? "pass" : "FAIL";
        }
      }
      cell(out, result, "muted");
    }
    cell(out, e.value("message", ""), "reason");
    out += "</tr>\n";
  }
  out += "</tbody></table>\n";
}

void comparison_reports(std::string& out, const json& run, const json* base) {
  const json& reports = member(run, "reports");
  if (reports.empty()) {
    out += "<p class=\"muted\">The scenario has no <code>report:</code> entries.</p>\n";
    return;
  }
  for (const json& report : reports) {
    if (report.value("kind", "comparison") != "comparison") {
      continue;  // the discovery sections (interfaces, services, ...) are shown by the summary only, so far
    }
    const std::string title = report.value("title", "");
    const json* base_report = nullptr;
    if (base != nullptr) {
      for (const json& b : member(*base, "reports")) {
        if (b.value("title", "") == title) base_report = &b;
      }
    }
    out += "<h3>" + escape(title) + "</h3>\n<table class=\"comparison\"><thead><tr><th></th>";
    for (const json& c : member(report, "columns")) {
      out += "<th>" + escape(scalar_text(c)) + "</th>";
    }
    out += "<th>best / worst</th></tr></thead><tbody>\n";
    for (const json& row : member(report, "rows")) {
      const std::string label = row.value("label", "");
      const std::string unit = row.value("unit", "");
      const json* base_values = nullptr;
      if (base_report != nullptr) {
        for (const json& br : member(*base_report, "rows")) {
          if (br.value("label", "") == label && br.contains("values")) base_values = &br["values"];
        }
      }
      out += "<tr><th>" + escape(label) + (row.value("better", "").empty() ? "" : " <span class=\"muted\">(" +
                                                                                escape(row.value("better", "")) +
                                                                                " is better)</span>") + "</th>";
      const json& values = member(row, "values");
      const json best = row.value("best", json(nullptr));
      for (size_t i = 0; i < values.size(); ++i) {
        const bool is_best = best.is_number() && best.get<size_t>() == i;
        out += is_best ? "<td class=\"num best\">" : "<td class=\"num\">";
        escape_into(out, format_in_unit(values[i], unit));
        if (base_values != nullptr && i < base_values->size()) {
          out += "<br><span class=\"muted\">base " + escape(format_in_unit((*base_values)[i], unit)) + "</span>";
        }
        out += "</td>";
      }
      const json ratio = row.value("ratio_best_to_worst", json(nullptr));
      cell(out, ratio.is_number() ? format_value(ratio.get<double>(), "") + "x" : "", "num");
      out += "</tr>\n";
    }
    out += "</tbody></table>\n<p class=\"verdict\">" + escape(report.value("verdict", "")) + "</p>\n";
  }
}

void figures_table(std::string& out, const std::vector<FigureRow>& rows, bool with_base, bool with_step) {
  out += "<table class=\"figures\"><thead><tr>";
  out += with_step ? "<th>step</th>" : "";
  out += "<th>figure</th><th>this run</th>";
  out += with_base ? "<th>base run</th><th>change</th>" : "";
  out += "<th>better</th><th>what</th></tr></thead>\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    const FigureRow& r = rows[i];
    // One <tbody> per step, its name once (rowspan) over its figures.
    const bool first_of_step = i == 0 || rows[i - 1].step != r.step;
    if (first_of_step) {
      out += i == 0 ? "<tbody>" : "</tbody><tbody>";
    }
    out += "<tr>";
    if (with_step && first_of_step) {
      size_t span = 1;
      while (i + span < rows.size() && rows[i + span].step == r.step) ++span;
      out += "<th rowspan=\"" + std::to_string(span) + "\"><a href=\"#step-" + escape(r.step) + "\">" +
             escape(r.step) + "</a></th>";
    }
    cell(out, r.spec.path, "code");
    out += "<td class=\"num\">" + escape(format_in_unit(r.value, r.spec.unit));
    if (!r.spread.empty()) {
      out += "<br><span class=\"muted\">" + escape(r.spread) + "</span>";
    }
    out += "</td>";
    if (with_base) {
      cell(out, format_in_unit(r.base_value, r.spec.unit), "num");
      std::string change = "n/a";
      const char* cls = "num";
      if (r.value.is_number() && r.base_value.is_number()) {
        const double v = r.value.get<double>();
        const double b = r.base_value.get<double>();
        if (v == b) {
          change = "0 %";
        } else if (b == 0) {
          change = (v > 0 ? "+" : "") + format_in_unit(r.value, r.spec.unit) + " (from 0)";
          cls = (r.spec.better == "higher") == (v > b) ? "num better" : "num worse";
        } else {
          const double rel = (v - b) / std::fabs(b);
          char buf[32];
          std::snprintf(buf, sizeof buf, "%+.1f %%", rel * 100.0);
          change = buf;
          const bool improved = (r.spec.better == "higher") == (v > b);
          cls = improved ? "num better" : "num worse";
        }
      }
      cell(out, change, cls);
    }
    cell(out, r.spec.better, "muted");
    cell(out, r.spec.doc, "muted");
    out += "</tr>\n";
  }
  out += rows.empty() ? "</table>\n" : "</tbody></table>\n";
}

}  // namespace sonda::html
