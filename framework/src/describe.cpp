#include "describe.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <sstream>
#include <utility>
#include <vector>

#include "scenario/params.hpp"
#include "scenario/suggest.hpp"

namespace sonda {

namespace {

std::string str_or(const char* s, const char* fallback) { return s != nullptr ? s : fallback; }

/// "%g" without locale surprises: 65535 stays "65535", 0.5 stays "0.5".
std::string number_text(double v) {
  std::ostringstream out;
  out.precision(15);
  out << v;
  return out.str();
}

/// A bound as a scenario would write it: durations and sizes in the
/// largest unit that divides them (3600000000000 ns is "1h", 65536 bytes
/// "64KiB"), integers as integers (1e15 is 1000000000000000).
std::string bound_text(const sonda_param_spec& p, double v) {
  char buf[64];
  if (v >= 0 && v == std::floor(v) && v < 9.2e18) {
    const auto n = static_cast<uint64_t>(v);
    if (p.type == SONDA_PARAM_DURATION) {
      static const std::pair<uint64_t, const char*> kUnits[] = {
          {3'600'000'000'000ULL, "h"}, {60'000'000'000ULL, "m"}, {1'000'000'000ULL, "s"},
          {1'000'000ULL, "ms"},        {1'000ULL, "us"},          {1ULL, "ns"}};
      for (const auto& [scale, unit] : kUnits) {
        if (n != 0 && n % scale == 0) {
          std::snprintf(buf, sizeof buf, "%llu%s", static_cast<unsigned long long>(n / scale), unit);
          return buf;
        }
      }
      return "0s";
    }
    if (p.type == SONDA_PARAM_SIZE) {
      static const std::pair<uint64_t, const char*> kUnits[] = {
          {1ULL << 30, "GiB"}, {1ULL << 20, "MiB"}, {1ULL << 10, "KiB"}, {1ULL, "B"}};
      for (const auto& [scale, unit] : kUnits) {
        if (n != 0 && n % scale == 0) {
          std::snprintf(buf, sizeof buf, "%llu%s", static_cast<unsigned long long>(n / scale), unit);
          return buf;
        }
      }
      return "0B";
    }
    if (p.type == SONDA_PARAM_INT || p.type == SONDA_PARAM_INT_LIST) {
      std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(n));
      return buf;
    }
  }
  return number_text(v);
}

/// What values are allowed: choices, or the inclusive range, or "".
std::string allowed_text(const sonda_param_spec& p) {
  if (p.choices != nullptr) {
    return std::string("one of ") + p.choices;
  }
  if (p.min < p.max) {
    return bound_text(p, p.min) + " .. " + bound_text(p, p.max);
  }
  return "";
}

using Row = std::vector<std::string>;

Row row_of(const sonda_param_spec& p) {
  return {p.name,
          scenario::param_type_name(p.type),
          p.required != 0 ? "yes" : "",
          str_or(p.default_value, ""),
          allowed_text(p),
          // Durations and sizes carry their units in the values ("10ms .. 1h").
          p.type == SONDA_PARAM_DURATION || p.type == SONDA_PARAM_SIZE ? "" : str_or(p.unit, ""),
          str_or(p.doc, "")};
}

const Row kHeader = {"parameter", "type", "required", "default", "allowed", "unit", "description"};

/// Markdown cells must not contain raw pipes ("a|b|c" choices).
std::string md_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|') {
      out += "\\|";
    } else {
      out += c;
    }
  }
  return out;
}

void render_table(std::ostringstream& out, const std::vector<Row>& rows, bool markdown, const Row& header = kHeader) {
  if (markdown) {
    auto line = [&](const Row& r) {
      out << '|';
      for (const auto& cell : r) {
        out << ' ' << (markdown ? md_escape(cell) : cell) << " |";
      }
      out << '\n';
    };
    line(header);
    out << '|';
    for (size_t i = 0; i < header.size(); ++i) {
      out << " --- |";
    }
    out << '\n';
    for (const auto& r : rows) {
      line(r);
    }
    return;
  }
  std::vector<size_t> width(header.size());
  for (size_t i = 0; i < header.size(); ++i) {
    width[i] = header[i].size();
    for (const auto& r : rows) {
      width[i] = std::max(width[i], r[i].size());
    }
  }
  auto line = [&](const Row& r) {
    std::string text = "   ";
    for (size_t i = 0; i < r.size(); ++i) {
      text += r[i];
      if (i + 1 < r.size()) {
        text += std::string(width[i] - r[i].size() + 2, ' ');
      }
    }
    while (!text.empty() && text.back() == ' ') {
      text.pop_back();
    }
    out << text << '\n';
  };
  line(header);
  for (const auto& r : rows) {
    line(r);
  }
}

/// The renames that apply to `action`: {old name, new name}.
std::vector<std::pair<std::string, std::string>> action_renames(const sonda_plugin& d,
                                                                const sonda_action_spec& action) {
  std::vector<std::pair<std::string, std::string>> out;
  if (d.struct_size < sizeof(sonda_plugin)) {
    return out;
  }
  for (size_t i = 0; i < d.rename_count; ++i) {
    const sonda_rename_spec& r = d.renames[i];
    const bool for_this_action = r.action == nullptr || std::string(r.action) == action.name;
    if (auto now = scenario::renamed_to(d, action, r.old_name); for_this_action && now && *now == r.new_name) {
      out.emplace_back(r.old_name, r.new_name);
    }
  }
  return out;
}

/// "renamed: payload -> size, connections -> parallel" for `action`, or "".
std::string renames_text(const LoadedPlugin& plugin, const sonda_action_spec& action, bool markdown) {
  std::string list;
  for (const auto& [old_name, new_name] : action_renames(*plugin.descriptor, action)) {
    list += std::string(list.empty() ? "" : ", ") + (markdown ? "`" : "") + old_name +
            (markdown ? "` → `" : " -> ") + new_name + (markdown ? "`" : "");
  }
  if (list.empty()) {
    return "";
  }
  return markdown ? "Renamed (old names are refused, naming the new one): " + list + ".\n"
                  : "   renamed (old names are refused): " + list + "\n";
}

/// One action's parameter table, then its renames: what a plugin README
/// embeds between <!-- sonda:params plugin.action --> markers.
std::string params_block(const LoadedPlugin& plugin, const sonda_action_spec& a, bool markdown) {
  std::ostringstream out;
  std::vector<Row> rows;
  for (size_t p = 0; p < a.param_count; ++p) {
    rows.push_back(row_of(a.params[p]));
  }
  if (rows.empty()) {
    out << (markdown ? "No parameters.\n" : "   (no parameters)\n");
  } else {
    render_table(out, rows, markdown);
  }
  const std::string renamed = renames_text(plugin, a, markdown);
  if (!renamed.empty()) {
    out << (markdown ? "\n" : "") << renamed;
  }
  return out.str();
}

}  // namespace

std::optional<std::string> describe_action_params(const LoadedPlugin& plugin, const std::string& action,
                                                  bool markdown) {
  const sonda_action_spec* a = plugin.find_action(action);
  if (a == nullptr) {
    return std::nullopt;
  }
  return params_block(plugin, *a, markdown);
}

std::string describe_plugin(const LoadedPlugin& plugin, bool markdown) {
  const sonda_plugin& d = *plugin.descriptor;
  std::ostringstream out;
  if (markdown) {
    out << "## " << d.name << ' ' << plugin.version() << "\n\n" << plugin.description() << "\n\n";
  } else {
    out << d.name << ' ' << plugin.version() << " - " << plugin.description() << '\n'
        << "path: " << plugin.path << "\n\n";
  }
  for (size_t i = 0; i < d.action_count; ++i) {
    const sonda_action_spec& a = d.actions[i];
    const bool background = (a.flags & SONDA_ACTION_BACKGROUND) != 0;
    if (markdown) {
      out << "### `" << d.name << '.' << a.name << "`" << (background ? " (background)" : "")
          << "\n\n" << str_or(a.doc, "") << "\n\n";
    } else {
      out << d.name << '.' << a.name << (background ? "  [background]" : "") << "\n  "
          << str_or(a.doc, "") << '\n';
    }
    out << params_block(plugin, a, markdown) << '\n';
    const std::vector<sonda_figure_spec> figures = plugin.figures(a.name);
    if (!figures.empty()) {
      std::vector<Row> frows;
      for (const sonda_figure_spec& f : figures) {
        frows.push_back({f.path, str_or(f.unit, ""), std::string(f.better) == "higher" ? "higher" : "lower",
                         str_or(f.doc, "")});
      }
      out << (markdown ? "Headline figures:\n\n" : "   headline figures:\n");
      render_table(out, frows, markdown, {"figure", "unit", "better", "description"});
      out << '\n';
    }
  }
  return out.str();
}

std::string list_plugins(const Registry& registry) {
  std::ostringstream out;
  size_t name_w = 4;
  size_t version_w = 7;
  for (const auto& [name, p] : registry.plugins()) {
    name_w = std::max(name_w, name.size());
    version_w = std::max(version_w, p->version().size());
  }
  auto pad = [](const std::string& s, size_t w) { return s + std::string(w - s.size() + 2, ' '); };
  out << pad("NAME", name_w) << pad("VERSION", version_w) << "PATH\n";
  for (const auto& [name, p] : registry.plugins()) {
    out << pad(name, name_w) << pad(p->version(), version_w) << p->path << '\n';
  }
  if (registry.plugins().empty()) {
    out << "(no plugins found)\n";
  }
  if (!registry.refused().empty()) {
    out << "\nrefused:\n";
    for (const auto& r : registry.refused()) {
      out << "  " << r.reason << '\n';
    }
  }
  return out.str();
}

}  // namespace sonda

namespace sonda {

nlohmann::json figure_json(const sonda_figure_spec& f) {
  return {{"path", str_or(f.path, "")}, {"unit", str_or(f.unit, "")}, {"better", str_or(f.better, "")},
          {"doc", str_or(f.doc, "")}};
}

nlohmann::json plugin_schema_json(const LoadedPlugin& plugin) {
  const sonda_plugin& d = *plugin.descriptor;
  nlohmann::json actions = nlohmann::json::array();
  for (size_t i = 0; i < d.action_count; ++i) {
    const sonda_action_spec& a = d.actions[i];
    nlohmann::json params = nlohmann::json::array();
    for (size_t k = 0; k < a.param_count; ++k) {
      const sonda_param_spec& p = a.params[k];
      nlohmann::json j = {{"name", str_or(p.name, "")},
                          {"type", scenario::param_type_name(p.type)},
                          {"required", p.required != 0},
                          {"doc", str_or(p.doc, "")}};
      if (p.default_value != nullptr) j["default"] = p.default_value;
      if (p.min < p.max) j["range"] = {p.min, p.max};
      if (p.choices != nullptr) j["choices"] = p.choices;
      if (p.unit != nullptr) j["unit"] = p.unit;
      params.push_back(std::move(j));
    }
    nlohmann::json figures = nlohmann::json::array();
    for (const sonda_figure_spec& f : plugin.figures(a.name)) {
      figures.push_back(figure_json(f));
    }
    nlohmann::json renames = nlohmann::json::array();
    for (const auto& [old_name, new_name] : action_renames(d, a)) {
      renames.push_back({{"old", old_name}, {"new", new_name}});
    }
    actions.push_back({{"name", str_or(a.name, "")},
                       {"doc", str_or(a.doc, "")},
                       {"background", (a.flags & SONDA_ACTION_BACKGROUND) != 0},
                       {"params", std::move(params)},
                       {"figures", std::move(figures)},
                       {"renames", std::move(renames)}});
  }
  return {{"name", plugin.name()},
          {"version", plugin.version()},
          {"path", plugin.path},
          {"description", plugin.description()},
          {"capabilities", d.capabilities},
          {"actions", std::move(actions)}};
}

}  // namespace sonda
