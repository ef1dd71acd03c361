#include "report.hpp"

#include "scenario/record_path.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
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

std::vector<std::string> parse_report_spec(const json& doc, ReportSpec& out) {
  std::vector<std::string> errors;
  if (!doc.is_object()) return {"a report must be a map with title, columns and rows"};
  out.title = text_field(doc, "title", "comparison", "report", errors);
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
    if (!r.contains("values") || !r["values"].is_array() || r["values"].size() != out.columns.size()) {
      errors.push_back("report row '" + row.label + "': 'values' must list one path per column (" +
                       std::to_string(out.columns.size()) + ")");
    } else {
      for (const auto& v : r["values"]) {
        row.paths.push_back(v.is_string() ? v.get<std::string>() : "");
        std::string error;
        size_t offset = 0;
        if (!row.paths.back().empty() && !scenario::parse_record_path(row.paths.back(), &error, &offset)) {
          errors.push_back("report row '" + row.label + "': bad path '" + row.paths.back() + "': " + error);
        }
      }
    }
    out.rows.push_back(std::move(row));
  }
  return errors;
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

json build_report(const ReportSpec& spec, const json& records) {
  json rows = json::array();
  std::vector<int> wins(spec.columns.size(), 0);
  std::vector<std::string> sentences;
  for (const ReportRow& row : spec.rows) {
    json values = json::array();
    int best = -1;
    int worst = -1;
    for (size_t c = 0; c < row.paths.size(); ++c) {
      const json v = row.paths[c].empty() ? json(nullptr) : lookup_path(records, row.paths[c]);
      if (!v.is_number()) {
        values.push_back(nullptr);
        continue;
      }
      values.push_back(v);
      const double x = v.get<double>();
      auto better = [&](double a, double b) { return row.better == "lower" ? a < b : a > b; };
      if (!row.better.empty()) {
        if (best < 0 || better(x, values[best].get<double>())) best = static_cast<int>(c);
        if (worst < 0 || better(values[worst].get<double>(), x)) worst = static_cast<int>(c);
      }
    }
    json r = {{"label", row.label}, {"unit", row.unit}, {"better", row.better}, {"values", values},
              {"best", best >= 0 ? json(best) : json(nullptr)}};
    if (best >= 0 && worst >= 0 && best != worst) {
      ++wins[best];
      const double b = values[best].get<double>();
      const double w = values[worst].get<double>();
      std::ostringstream s;
      s << row.label << ": " << spec.columns[best] << " is best at " << format_value(b, row.unit);
      if (b != 0 && w != 0) {
        char ratio[32];
        std::snprintf(ratio, sizeof ratio, "%.2f", row.better == "lower" ? w / b : b / w);
        s << ", " << ratio << "x " << (row.better == "lower" ? "lower" : "higher") << " than "
          << spec.columns[worst] << " (" << format_value(w, row.unit) << ")";
      } else {
        s << " against " << spec.columns[worst] << "'s " << format_value(w, row.unit);
      }
      r["ratio_best_to_worst"] = (b != 0 && w != 0) ? json(row.better == "lower" ? w / b : b / w) : json(nullptr);
      sentences.push_back(s.str());
    }
    rows.push_back(std::move(r));
  }
  std::ostringstream verdict;
  for (const auto& s : sentences) verdict << s << ". ";
  // Head to head: who is ahead on each ranked row, and by how much.
  for (const auto& [a, b] : spec.pairs) {
    int wins_a = 0;
    int wins_b = 0;
    std::vector<std::string> parts;
    for (size_t r = 0; r < spec.rows.size(); ++r) {
      const ReportRow& row = spec.rows[r];
      const json& va = rows[r]["values"][a];
      const json& vb = rows[r]["values"][b];
      if (row.better.empty() || !va.is_number() || !vb.is_number()) continue;
      const double x = va.get<double>();
      const double y = vb.get<double>();
      if (x == y || x <= 0 || y <= 0) continue;
      const bool a_ahead = row.better == "lower" ? x < y : x > y;
      ++(a_ahead ? wins_a : wins_b);
      char ratio[32];
      std::snprintf(ratio, sizeof ratio, "%.2fx", a_ahead == (row.better == "lower") ? y / x : x / y);
      parts.push_back(row.label + " " + ratio + " " + row.better + " for " + spec.columns[a_ahead ? a : b]);
    }
    if (parts.empty()) continue;
    verdict << spec.columns[a] << " vs " << spec.columns[b] << ": ";
    for (size_t i = 0; i < parts.size(); ++i) verdict << (i ? "; " : "") << parts[i];
    verdict << " - " << (wins_a == wins_b ? std::string("a draw")
                                          : spec.columns[wins_a > wins_b ? a : b] + " ahead on " +
                                                std::to_string(std::max(wins_a, wins_b)) + " of " +
                                                std::to_string(wins_a + wins_b))
            << ". ";
  }
  const auto top = std::max_element(wins.begin(), wins.end());
  if (top != wins.end() && *top > 0) {
    const int ranked = static_cast<int>(sentences.size());
    verdict << "Overall, " << spec.columns[top - wins.begin()] << " wins " << *top << " of " << ranked
            << " compared figures.";
  } else {
    verdict << "No figure could be compared (steps missing or failed).";
  }
  return {{"title", spec.title}, {"columns", spec.columns}, {"rows", rows}, {"verdict", verdict.str()}};
}

std::string render_report(const json& report) {
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
  out << report["title"].get<std::string>() << "\n";
  for (size_t l = 0; l < cells.size(); ++l) {
    for (size_t i = 0; i < cells[l].size(); ++i) {
      out << (i ? "  " : "") << cells[l][i] << std::string(width[i] - cells[l][i].size(), ' ');
    }
    out << "\n";
    if (l == 0) {
      size_t total = 0;
      for (size_t w : width) total += w + 2;
      out << std::string(total - 2, '-') << "\n";
    }
  }
  out << "(* = best)\n" << report["verdict"].get<std::string>() << "\n";
  return out.str();
}

}  // namespace sonda
