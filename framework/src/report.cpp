#include "report.hpp"

#include "report_sections.hpp"
#include "report_wording.hpp"
#include "scenario/record_path.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <sstream>

namespace sonda {

using json = nlohmann::json;

namespace {
/// A string field of a map, `fallback` when absent; anything else is an error.
std::string text_field(const json& obj, const char* key, const std::string& fallback, const std::string& where,
                       std::vector<std::string>& errors) {
  if (!obj.contains(key)) return fallback;
  if (!obj[key].is_string()) {
    errors.push_back(where + ": '" + key + "' must be text, got " + obj[key].dump());
    return fallback;
  }
  return obj[key].get<std::string>();
}

}  // namespace

const std::vector<std::string>& report_keys(const std::string& kind) {
  static const std::vector<std::string> comparison{"kind", "title", "columns", "rows", "pairs", "question",
                                                   "equal_within"};
  static const std::vector<std::string> one_step{"kind", "title", "step"};
  static const std::vector<std::string> interfaces{"kind", "title", "step", "changes"};
  static const std::vector<std::string> occupation{"kind", "title", "port", "rows"};
  if (kind == "interfaces") return interfaces;
  if (kind == "occupation") return occupation;
  if (kind == "services" || kind == "kernel_threads") return one_step;
  return comparison;
}

const std::vector<std::string>& report_row_keys(const std::string& kind) {
  static const std::vector<std::string> comparison{"label", "unit", "better", "values", "loss"};
  static const std::vector<std::string> occupation{"label", "load", "owner"};
  return kind == "occupation" ? occupation : comparison;
}

namespace {

/// `5%` (or a number, a fraction) as a fraction; nullopt when neither.
std::optional<double> fraction_of(const json& v) {
  if (v.is_number()) return v.get<double>();
  if (!v.is_string()) return std::nullopt;
  const std::string text = v.get<std::string>();
  if (text.empty() || text.back() != '%') return std::nullopt;
  char* end = nullptr;
  const double x = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() - 1) return std::nullopt;
  return x / 100.0;
}

/// A step id as a key's value: text that is an id.
std::string step_field(const json& obj, const char* key, const std::string& where,
                       std::vector<std::string>& errors) {
  const std::string id = text_field(obj, key, "", where, errors);
  if (obj.contains(key) && obj[key].is_string() && id.empty()) {
    errors.push_back(where + ": '" + key + "' must name a step");
  }
  return id;
}

/// The path list of a row (`values:` or `loss:`), one per column.
std::vector<std::string> row_paths(const json& r, const char* key, const ReportRow& row, size_t columns,
                                   std::vector<std::string>& errors) {
  std::vector<std::string> paths;
  if (!r[key].is_array() || r[key].size() != columns) {
    errors.push_back("report row '" + row.label + "': '" + key + "' must list one path per column (" +
                     std::to_string(columns) + ")");
    return paths;
  }
  for (const auto& v : r[key]) {
    paths.push_back(v.is_string() ? v.get<std::string>() : "");
    std::string error;
    size_t offset = 0;
    if (!paths.back().empty() && !scenario::parse_record_path(paths.back(), &error, &offset)) {
      errors.push_back("report row '" + row.label + "': bad path '" + paths.back() + "': " + error);
    }
  }
  return paths;
}

void parse_section(const json& doc, ReportSpec& out, std::vector<std::string>& errors) {
  const std::string where = "report '" + out.title + "'";
  if (out.kind != "occupation") {
    if (!doc.contains("step")) errors.push_back(where + ": '" + out.kind + "' needs 'step', the step to show");
    out.step = step_field(doc, "step", where, errors);
  }
  if (out.kind == "interfaces" && doc.contains("changes")) {
    const json& c = doc["changes"];
    for (const auto& id : c.is_array() ? c : json::array({c})) {
      if (!id.is_string() || id.get<std::string>().empty()) {
        errors.push_back(where + ": 'changes' must list step ids (iface_scanner.watch steps), got " + id.dump());
      } else {
        out.changes.push_back(id.get<std::string>());
      }
    }
  }
  if (out.kind != "occupation") return;
  if (doc.contains("port")) {
    if (!doc["port"].is_number_integer() || doc["port"].get<int64_t>() < 1 || doc["port"].get<int64_t>() > 65535) {
      errors.push_back(where + ": 'port' must be a port number 1..65535, got " + doc["port"].dump());
    } else {
      out.port = doc["port"].get<int>();
    }
  }
  if (!doc.contains("rows") || !doc["rows"].is_array() || doc["rows"].empty()) {
    errors.push_back(where + ": 'rows' must be a non-empty list of { label, load, owner }");
    return;
  }
  for (const auto& r : doc["rows"]) {
    if (!r.is_object()) {
      errors.push_back(where + ": every row must be a map { label, load, owner }");
      continue;
    }
    OccupationRow row;
    row.label = text_field(r, "label", "", where + " row", errors);
    row.load = step_field(r, "load", where + " row", errors);
    row.owner = step_field(r, "owner", where + " row", errors);
    if (row.owner.empty()) errors.push_back(where + " row '" + row.label + "': 'owner' must name the step that looked the port up");
    if (row.label.empty()) row.label = row.load.empty() ? row.owner : row.load;
    out.occupation.push_back(std::move(row));
  }
}
}  // namespace

std::vector<std::string> parse_report_spec(const json& doc, ReportSpec& out) {
  std::vector<std::string> errors;
  if (!doc.is_object()) return {"a report must be a map with title, columns and rows"};
  out.kind = text_field(doc, "kind", "comparison", "report", errors);
  if (std::find(kReportKinds.begin(), kReportKinds.end(), out.kind) == kReportKinds.end()) {
    std::string all;
    for (const auto& k : kReportKinds) all += (all.empty() ? "" : ", ") + k;
    errors.push_back("unknown report kind '" + out.kind + "'; expected one of: " + all);
    return errors;
  }
  out.title = text_field(doc, "title", out.kind == "comparison" ? "comparison" : out.kind, "report", errors);
  if (out.kind != "comparison") {
    parse_section(doc, out, errors);
    return errors;
  }
  out.question = text_field(doc, "question", "", "report '" + out.title + "'", errors);
  if (doc.contains("equal_within")) {
    const auto f = fraction_of(doc["equal_within"]);
    if (!f || *f < 0 || *f >= 1) {
      errors.push_back("report '" + out.title + "': 'equal_within' must be a percentage below 100%, like 5%, got " +
                       doc["equal_within"].dump());
    } else {
      out.equal_within = *f;
    }
  }
  if (!doc.contains("columns") || !doc["columns"].is_array() || doc["columns"].empty()) {
    errors.push_back("report '" + out.title + "': 'columns' must be a non-empty list of labels");
  } else {
    for (const auto& c : doc["columns"]) out.columns.push_back(c.is_string() ? c.get<std::string>() : c.dump());
  }
  if (doc.contains("pairs")) {
    auto column_index = [&](const json& label) -> std::optional<size_t> {
      for (size_t i = 0; i < out.columns.size(); ++i) {
        if (label.is_string() && out.columns[i] == label.get<std::string>()) return i;
      }
      return std::nullopt;
    };
    for (const auto& p : doc["pairs"].is_array() ? doc["pairs"] : json::array({nullptr})) {
      const auto a = p.is_array() && p.size() == 2 ? column_index(p[0]) : std::nullopt;
      const auto b = p.is_array() && p.size() == 2 ? column_index(p[1]) : std::nullopt;
      if (!a || !b || *a == *b) {
        errors.push_back("report '" + out.title + "': each entry of 'pairs' must be two different column labels, got " +
                         p.dump());
      } else {
        out.pairs.emplace_back(*a, *b);
      }
    }
  }
  if (!doc.contains("rows") || !doc["rows"].is_array()) {
    errors.push_back("report '" + out.title + "': 'rows' must be a list");
    return errors;
  }
  for (const auto& r : doc["rows"]) {
    if (!r.is_object()) {
      errors.push_back("report '" + out.title + "': every row must be a map with label and values");
      continue;
    }
    ReportRow row;
    const std::string where = "report '" + out.title + "' row";
    row.label = text_field(r, "label", "", where, errors);
    row.unit = text_field(r, "unit", "", where, errors);
    row.better = text_field(r, "better", "", where, errors);
    if (row.label.empty()) errors.push_back("report '" + out.title + "': every row needs a 'label'");
    if (!row.better.empty() && row.better != "lower" && row.better != "higher") {
      errors.push_back("report row '" + row.label + "': 'better' must be lower or higher, not '" + row.better + "'");
    }
    if (!r.contains("values")) {
      errors.push_back("report row '" + row.label + "': 'values' must list one path per column (" +
                       std::to_string(out.columns.size()) + ")");
    } else {
      row.paths = row_paths(r, "values", row, out.columns.size(), errors);
    }
    if (r.contains("loss")) row.loss_paths = row_paths(r, "loss", row, out.columns.size(), errors);
    out.rows.push_back(std::move(row));
  }
  return errors;
}

std::vector<std::pair<std::string, std::string>> referenced_steps(const ReportSpec& spec) {
  std::vector<std::pair<std::string, std::string>> out;
  auto id_of = [](const std::string& path) { return path.substr(0, path.find_first_of(".[")); };
  if (!spec.step.empty()) out.emplace_back(spec.step, "step");
  for (size_t i = 0; i < spec.changes.size(); ++i) out.emplace_back(spec.changes[i], "changes");
  for (size_t i = 0; i < spec.occupation.size(); ++i) {
    const std::string row = "rows[" + std::to_string(i) + "].";
    if (!spec.occupation[i].load.empty()) out.emplace_back(spec.occupation[i].load, row + "load");
    if (!spec.occupation[i].owner.empty()) out.emplace_back(spec.occupation[i].owner, row + "owner");
  }
  for (size_t i = 0; i < spec.rows.size(); ++i) {
    const std::string row = "rows[" + std::to_string(i) + "].";
    for (const std::string& p : spec.rows[i].paths) {
      if (!p.empty()) out.emplace_back(id_of(p), row + "values");
    }
    for (const std::string& p : spec.rows[i].loss_paths) {
      if (!p.empty()) out.emplace_back(id_of(p), row + "loss");
    }
  }
  return out;
}

std::vector<std::string> report_read_paths(const ReportSpec& spec) {
  std::vector<std::string> out;
  auto add = [&](const std::string& id, std::initializer_list<const char*> keys) {
    for (const char* k : keys) out.push_back(id + "." + k);
  };
  if (spec.kind == "interfaces") {
    add(spec.step, {"interfaces"});
    for (const std::string& w : spec.changes) add(w, {"interfaces", "elapsed_ns"});
  } else if (spec.kind == "services") {
    add(spec.step, {"services", "sockets", "processes", "namespaces", "partial", "partial_reason"});
  } else if (spec.kind == "kernel_threads") {
    add(spec.step, {"kernel_threads"});
  } else if (spec.kind == "occupation") {
    for (const OccupationRow& o : spec.occupation) {
      if (!o.owner.empty()) out.push_back(o.owner);  // small: a port's holders, or a filtered scan
      if (!o.load.empty()) add(o.load, {"summary"});  // only that it ran
    }
  }
  for (const ReportRow& row : spec.rows) {
    for (const auto* paths : {&row.paths, &row.loss_paths}) {
      for (const std::string& p : *paths) {
        if (p.empty()) continue;
        out.push_back(p);
        const size_t cut = p.find_first_of(".[");
        if (cut != std::string::npos && p[cut] == '.') out.push_back(p.substr(0, cut) + ".repeat.spread");
      }
    }
  }
  return out;
}

json lookup_path(const json& records, const std::string& path) {
  // The same path syntax and lookup as `${...}` references and `expect:`.
  std::string error;
  size_t offset = 0;
  const auto parsed = scenario::parse_record_path(path, &error, &offset);
  if (!parsed) return nullptr;
  std::string missing_at;
  const json* value = scenario::lookup_record_path(records, *parsed, &missing_at);
  return value != nullptr ? *value : json(nullptr);
}

std::string format_value(double v, const std::string& unit) {
  char buf[64];
  auto scaled = [&](const char* const* names, double step) {
    int k = 0;
    while (std::fabs(v) >= step * 0.9999 && names[k + 1] != nullptr) {
      v /= step;
      ++k;
    }
    std::snprintf(buf, sizeof buf, "%.3g %s", v, names[k]);
    return std::string(buf);
  };
  if (unit == "ns") {
    static const char* const n[] = {"ns", "us", "ms", "s", nullptr};
    return scaled(n, 1000.0);
  }
  if (unit == "bits_per_sec") {
    static const char* const n[] = {"bit/s", "kbit/s", "Mbit/s", "Gbit/s", "Tbit/s", nullptr};
    return scaled(n, 1000.0);
  }
  if (unit == "packets_per_sec") {
    static const char* const n[] = {"pps", "kpps", "Mpps", nullptr};
    return scaled(n, 1000.0);
  }
  if (unit == "bytes") {
    static const char* const n[] = {"B", "KiB", "MiB", "GiB", "TiB", nullptr};
    return scaled(n, 1024.0);
  }
  if (unit == "ratio") {
    std::snprintf(buf, sizeof buf, "%.3g %%", v * 100.0);
    return buf;
  }
  if (unit == "percent") {
    std::snprintf(buf, sizeof buf, "%.3g %%", v);
    return buf;
  }
  // Plain counts and rates: whole numbers in full ("33198"), small ones
  // with 4 significant digits.
  std::snprintf(buf, sizeof buf, std::fabs(v) >= 1000 ? "%.0f%s%s" : "%.4g%s%s", v, unit.empty() ? "" : " ",
                unit.c_str());
  return buf;
}

namespace {

std::optional<double> number_at(const json& records, const std::string& path) {
  if (path.empty()) return std::nullopt;
  const json v = lookup_path(records, path);
  return v.is_number() ? std::optional<double>(v.get<double>()) : std::nullopt;
}

/// (max - min) / median of a figure over its step's `repeat:` runs, from
/// `<step>.repeat.spread.<rest>`; nullopt with one run.
std::optional<double> spread_of(const json& records, const std::string& path) {
  const size_t cut = path.find_first_of(".[");
  if (path.empty() || cut == std::string::npos || path[cut] != '.') return std::nullopt;
  const std::string base = path.substr(0, cut) + ".repeat.spread." + path.substr(cut + 1);
  const auto min = number_at(records, base + ".min");
  const auto max = number_at(records, base + ".max");
  const auto median = number_at(records, base + ".median");
  if (!min || !max || !median || *median == 0) return std::nullopt;
  return (*max - *min) / std::fabs(*median);
}

const char* outcome_name(FigureOutcome o) {
  switch (o) {
    case FigureOutcome::kEqual: return "equal";
    case FigureOutcome::kFirstBetter: return "first";
    case FigureOutcome::kSecondBetter: return "second";
    case FigureOutcome::kUnranked: return "unranked";
    case FigureOutcome::kMissing: return "missing";
  }
  return "missing";
}

/// "a, b and c".
std::string and_list(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    out += (i == 0 ? "" : i + 1 == items.size() ? " and " : ", ") + items[i];
  }
  return out;
}

/// One pair's answers: a sentence per figure, then which figures went which way.
json answer_pair(const ReportSpec& spec, size_t a, size_t b, const json& records) {
  json figures = json::array();
  std::vector<std::string> equal;
  std::vector<std::string> first;
  std::vector<std::string> second;
  std::vector<std::string> not_compared;
  for (const ReportRow& row : spec.rows) {
    auto side = [&](size_t c) {
      FigureSide s;
      s.name = spec.columns[c];
      s.value = c < row.paths.size() ? number_at(records, row.paths[c]) : std::nullopt;
      s.loss_ratio = c < row.loss_paths.size() ? number_at(records, row.loss_paths[c]) : std::nullopt;
      s.spread_ratio = c < row.paths.size() ? spread_of(records, row.paths[c]) : std::nullopt;
      return s;
    };
    const FigureSide sa = side(a);
    const FigureSide sb = side(b);
    if (!sa.value && !sb.value && !sa.loss_ratio && !sb.loss_ratio &&
        (a >= row.paths.size() || row.paths[a].empty()) && (b >= row.paths.size() || row.paths[b].empty())) {
      continue;  // the row is not about this pair at all
    }
    if (row.better.empty() && (!sa.value || !sb.value)) {
      continue;  // shown for one side only: the table has it, there is nothing to answer
    }
    const FigureAnswer ans = answer_figure(row.label, row.unit, row.better, sa, sb, spec.equal_within);
    figures.push_back({{"label", row.label}, {"outcome", outcome_name(ans.outcome)}, {"text", ans.text},
                       {"tolerance", ans.tolerance}});
    switch (ans.outcome) {
      case FigureOutcome::kEqual: equal.push_back(row.label); break;
      case FigureOutcome::kFirstBetter: first.push_back(row.label); break;
      case FigureOutcome::kSecondBetter: second.push_back(row.label); break;
      case FigureOutcome::kMissing: not_compared.push_back(row.label); break;
      case FigureOutcome::kUnranked: break;
    }
  }
  std::vector<std::string> parts;
  if (!equal.empty()) parts.push_back("equal on " + and_list(equal));
  if (!first.empty()) parts.push_back(spec.columns[a] + " better on " + and_list(first));
  if (!second.empty()) parts.push_back(spec.columns[b] + " better on " + and_list(second));
  if (!not_compared.empty()) parts.push_back("not compared (n/a): " + and_list(not_compared));
  std::string in_short;
  for (const auto& p : parts) in_short += (in_short.empty() ? "" : "; ") + p;
  const std::string question = spec.question.empty() ? spec.columns[a] + " vs " + spec.columns[b]
                                                     : spec.question + " (" + spec.columns[a] + " vs " +
                                                           spec.columns[b] + ")";
  return {{"columns", {spec.columns[a], spec.columns[b]}},
          {"question", question},
          {"figures", std::move(figures)},
          {"in_short", in_short.empty() ? "nothing to compare" : in_short}};
}

}  // namespace

json build_report(const ReportSpec& spec, const json& records) {
  if (spec.kind != "comparison") return build_section(spec, records);
  json rows = json::array();
  std::vector<std::string> sentences;
  for (const ReportRow& row : spec.rows) {
    json values = json::array();
    int best = -1;
    int worst = -1;
    for (size_t c = 0; c < row.paths.size(); ++c) {
      const auto v = number_at(records, row.paths[c]);
      if (!v) {
        values.push_back(nullptr);
        continue;
      }
      values.push_back(*v);
      auto better = [&](double x, double y) { return row.better == "lower" ? x < y : x > y; };
      if (!row.better.empty()) {
        if (best < 0 || better(*v, values[best].get<double>())) best = static_cast<int>(c);
        if (worst < 0 || better(values[worst].get<double>(), *v)) worst = static_cast<int>(c);
      }
    }
    json r = {{"label", row.label}, {"unit", row.unit}, {"better", row.better}, {"values", values},
              {"best", best >= 0 ? json(best) : json(nullptr)}};
    if (!row.loss_paths.empty()) {
      json loss = json::array();
      for (const std::string& p : row.loss_paths) {
        const auto l = number_at(records, p);
        loss.push_back(l ? json(*l) : json(nullptr));
      }
      r["loss"] = std::move(loss);
    }
    if (best >= 0 && worst >= 0 && best != worst) {
      const double b = values[best].get<double>();
      const double w = values[worst].get<double>();
      r["ratio_best_to_worst"] = (b != 0 && w != 0) ? json(row.better == "lower" ? w / b : b / w) : json(nullptr);
      if (spec.pairs.empty()) {
        // Without pairs: best against worst, in the same words as a pair.
        FigureSide sb{spec.columns[best], b, std::nullopt, spread_of(records, row.paths[best])};
        FigureSide sw{spec.columns[worst], w, std::nullopt, spread_of(records, row.paths[worst])};
        sentences.push_back(answer_figure(row.label, row.unit, row.better, sb, sw, spec.equal_within).text);
      }
    }
    rows.push_back(std::move(r));
  }
  json answers = json::array();
  for (const auto& [a, b] : spec.pairs) answers.push_back(answer_pair(spec, a, b, records));
  // `verdict`: the same words as one paragraph, for readers of run.json that
  // predate `answers` (the HTML report shows it under the table).
  std::string verdict = equal_rule_text(spec.equal_within);
  for (const auto& s : sentences) verdict += " " + s + ".";
  for (const json& p : answers) {
    verdict += " " + p["question"].get<std::string>() + ":";
    for (const json& f : p["figures"]) verdict += " " + f["text"].get<std::string>() + ".";
    verdict += " In short: " + p["in_short"].get<std::string>() + ".";
  }
  if (sentences.empty() && answers.empty()) verdict = "No figure could be compared (steps missing or failed).";
  return {{"kind", "comparison"}, {"title", spec.title},           {"columns", spec.columns},
          {"rows", rows},         {"answers", std::move(answers)}, {"rule", equal_rule_text(spec.equal_within)},
          {"verdict", verdict}};
}

std::string render_report(const json& report) {
  if (report.value("kind", std::string("comparison")) != "comparison") return render_section(report);
  const auto& columns = report["columns"];
  std::vector<std::vector<std::string>> cells;
  std::vector<std::string> header = {""};
  for (const auto& c : columns) header.push_back(c.get<std::string>());
  cells.push_back(header);
  for (const auto& r : report["rows"]) {
    std::vector<std::string> line = {r["label"].get<std::string>()};
    for (size_t c = 0; c < r["values"].size(); ++c) {
      const auto& v = r["values"][c];
      std::string text = v.is_number() ? format_value(v.get<double>(), r["unit"].get<std::string>()) : "n/a";
      if (r["best"].is_number() && r["best"].get<size_t>() == c) text += " *";
      line.push_back(text);
    }
    cells.push_back(line);
  }
  std::vector<size_t> width(header.size(), 0);
  for (const auto& line : cells) {
    for (size_t i = 0; i < line.size() && i < width.size(); ++i) width[i] = std::max(width[i], line[i].size());
  }
  std::ostringstream out;
  const std::string title = report["title"].get<std::string>();
  out << title << "\n" << std::string(title.size(), '=') << "\n";
  for (size_t l = 0; l < cells.size(); ++l) {
    std::string line;
    for (size_t i = 0; i < cells[l].size(); ++i) {
      line += (i ? "  " : "") + cells[l][i] + std::string(width[i] - cells[l][i].size(), ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << "\n";
    if (l == 0) {
      size_t total = 0;
      for (size_t w : width) total += w + 2;
      out << std::string(total - 2, '-') << "\n";
    }
  }
  out << "(* = best)\n";
  const json& answers = report.value("answers", json::array());
  if (answers.empty()) {
    out << wrap_text(report["verdict"].get<std::string>(), 110, "") << "\n";
    return out.str();
  }
  out << "\n" << wrap_text(report.value("rule", std::string()), 110, "") << "\n";
  for (const json& p : answers) {
    out << "\n" << p.value("question", std::string()) << "\n";
    for (const json& f : p["figures"]) out << "  - " << wrap_text(f.value("text", std::string()), 106, "    ") << "\n";
    out << "  In short: " << wrap_text(p.value("in_short", std::string()), 99, "    ") << "\n";
  }
  return out.str();
}

}  // namespace sonda
