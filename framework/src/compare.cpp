#include "compare.hpp"

#include <iostream>

#include "commands.hpp"
#include "runner.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

namespace sonda {

namespace {

/// Exact only up to this many samples a side (the U distribution has
/// n*m+1 terms).
constexpr size_t kExactMax = 50;

/// Counts of U = 0..n*m over all arrangements of n and m samples without
/// ties: the coefficients of the Gaussian binomial [n+m choose n]_q.
std::vector<double> u_distribution(size_t n, size_t m) {
  std::vector<double> c(n * m + n + 1, 0.0);  // room for the product before each division
  c[0] = 1.0;
  size_t degree = 0;
  for (size_t i = 1; i <= n; ++i) {
    // times (1 - q^(m+i)), then divided by (1 - q^i): [m+i choose i]_q.
    const size_t up = m + i;
    const size_t new_degree = degree + m;
    for (size_t k = std::min(new_degree + i, c.size() - 1) + 1; k-- > up;) {
      c[k] -= c[k - up];
    }
    for (size_t k = i; k < c.size(); ++k) {
      c[k] += c[k - i];
    }
    degree = new_degree;
  }
  c.resize(n * m + 1);
  return c;
}

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

std::vector<double> samples_of(const nlohmann::json& figure) {
  std::vector<double> out;
  if (figure.contains("samples") && figure["samples"].is_array() && !figure["samples"].empty()) {
    for (const auto& s : figure["samples"]) {
      if (s.is_number()) {
        out.push_back(s.get<double>());
      }
    }
  } else if (figure.contains("value") && figure["value"].is_number()) {
    out.push_back(figure["value"].get<double>());
  }
  return out;
}

std::string scaled(double v, const std::string& unit) {
  char buf[64];
  const double a = std::fabs(v);
  if (unit == "bit/s" || unit == "packets/s" || unit == "1/s") {
    const char* suffix = unit == "bit/s" ? "bit/s" : (unit == "packets/s" ? "pps" : "/s");
    if (a >= 1e9) {
      std::snprintf(buf, sizeof buf, "%.3g G%s", v / 1e9, suffix);
    } else if (a >= 1e6) {
      std::snprintf(buf, sizeof buf, "%.3g M%s", v / 1e6, suffix);
    } else if (a >= 1e3) {
      std::snprintf(buf, sizeof buf, "%.3g k%s", v / 1e3, suffix);
    } else {
      std::snprintf(buf, sizeof buf, "%.3g %s", v, suffix);
    }
  } else if (unit == "ns") {
    if (a >= 1e9) {
      std::snprintf(buf, sizeof buf, "%.3g s", v / 1e9);
    } else if (a >= 1e6) {
      std::snprintf(buf, sizeof buf, "%.3g ms", v / 1e6);
    } else if (a >= 1e3) {
      std::snprintf(buf, sizeof buf, "%.3g us", v / 1e3);
    } else {
      std::snprintf(buf, sizeof buf, "%.3g ns", v);
    }
  } else if (unit == "ratio") {
    std::snprintf(buf, sizeof buf, "%.3g %%", v * 100.0);
  } else {
    std::snprintf(buf, sizeof buf, "%.4g%s%s", v, unit.empty() ? "" : " ", unit.c_str());
  }
  return buf;
}

std::string value_text(const std::optional<double>& median, size_t n, const std::string& unit) {
  if (!median) {
    return "-";
  }
  return scaled(*median, unit) + (n > 1 ? " (n=" + std::to_string(n) + ")" : "");
}

std::string change_text(const std::optional<double>& change) {
  if (!change) {
    return "-";
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%+.1f %%", *change * 100.0);
  return buf;
}

std::string p_text(const std::optional<double>& p) {
  if (!p) {
    return "-";
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", *p);
  return buf;
}

/// "what" of a run's machine, for the like-for-like warning.
std::string machine_of(const nlohmann::json& run) {
  const nlohmann::json ctx = run.value("context", nlohmann::json::object());
  const nlohmann::json kernel = ctx.value("kernel", nlohmann::json::object());
  const nlohmann::json cpu = ctx.value("cpu", nlohmann::json::object());
  std::string hosts;
  const nlohmann::json host_list = ctx.value("hosts", nlohmann::json::object());
  for (const auto& [name, h] : host_list.items()) {
    const nlohmann::json hk = h.value("context", nlohmann::json::object()).value("kernel", nlohmann::json::object());
    hosts += " " + name + "=" + (hk.is_object() ? hk.value("release", std::string("?")) : "?");
  }
  return ctx.value("host", std::string("?")) + ", kernel " +
         (kernel.is_object() ? kernel.value("release", std::string("?")) : "?") + ", " +
         std::to_string(cpu.is_object() ? cpu.value("count", 0) : 0) + " x " +
         (cpu.is_object() && cpu.contains("model") && cpu["model"].is_string() ? cpu["model"].get<std::string>()
                                                                               : "?") +
         (hosts.empty() ? "" : "; hosts:" + hosts);
}

double parse_fraction(const nlohmann::json& v, const std::string& what) {
  if (v.is_number()) {
    return v.get<double>();
  }
  if (v.is_string()) {
    std::string s = v.get<std::string>();
    if (!s.empty() && s.back() == '%') {
      s.pop_back();
      try {
        return std::stod(s) / 100.0;
      } catch (...) {
      }
    }
  }
  throw std::runtime_error(what + ": expected a percentage like 5%, got " + v.dump());
}

}  // namespace

double mann_whitney_min_p(size_t n, size_t m) {
  if (n == 0 || m == 0) {
    return 1.0;
  }
  // 2 / C(n+m, n)
  double log_c = std::lgamma(static_cast<double>(n + m + 1)) - std::lgamma(static_cast<double>(n + 1)) -
                 std::lgamma(static_cast<double>(m + 1));
  return std::min(1.0, 2.0 * std::exp(-log_c));
}

double mann_whitney_p(const std::vector<double>& a, const std::vector<double>& b) {
  const size_t n = a.size();
  const size_t m = b.size();
  if (n == 0 || m == 0) {
    return 1.0;
  }
  // Ranks over both samples, ties given their mean rank.
  std::vector<std::pair<double, int>> all;
  for (double v : a) all.emplace_back(v, 0);
  for (double v : b) all.emplace_back(v, 1);
  std::sort(all.begin(), all.end());
  const size_t total = all.size();
  double rank_sum_a = 0;
  double tie_term = 0;
  bool ties = false;
  for (size_t i = 0; i < total;) {
    size_t j = i;
    while (j < total && all[j].first == all[i].first) {
      ++j;
    }
    const double t = static_cast<double>(j - i);
    const double mid = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;
    for (size_t k = i; k < j; ++k) {
      if (all[k].second == 0) {
        rank_sum_a += mid;
      }
    }
    if (t > 1) {
      ties = true;
      tie_term += t * t * t - t;
    }
    i = j;
  }
  const double nd = static_cast<double>(n);
  const double md = static_cast<double>(m);
  const double u = rank_sum_a - nd * (nd + 1) / 2.0;  // pairs where a > b
  if (!ties && n <= kExactMax && m <= kExactMax) {
    const std::vector<double> dist = u_distribution(n, m);
    double all_ways = 0;
    for (double c : dist) all_ways += c;
    const auto ui = static_cast<size_t>(std::llround(u));
    double low = 0;
    double high = 0;
    for (size_t k = 0; k < dist.size(); ++k) {
      if (k <= ui) low += dist[k];
      if (k >= ui) high += dist[k];
    }
    return std::min(1.0, 2.0 * std::min(low, high) / all_ways);
  }
  const double big_n = nd + md;
  const double var = nd * md / 12.0 * ((big_n + 1) - tie_term / (big_n * (big_n - 1)));
  if (var <= 0) {
    return 1.0;  // every value equal
  }
  const double z = std::max(0.0, std::fabs(u - nd * md / 2.0) - 0.5) / std::sqrt(var);
  return std::min(1.0, std::erfc(z / std::sqrt(2.0)));
}

bool Comparison::regressed() const {
  return std::any_of(figures.begin(), figures.end(), [](const FigureComparison& f) {
    return f.verdict == "regressed" || f.verdict == "failed in new";
  });
}

nlohmann::json Comparison::to_json() const {
  nlohmann::json figs = nlohmann::json::array();
  std::map<std::string, int> counts;
  for (const FigureComparison& f : figures) {
    ++counts[f.verdict];
    auto opt = [](const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
    figs.push_back({{"step", f.step}, {"path", f.path}, {"unit", f.unit}, {"better", f.better},
                    {"base", f.base}, {"new", f.now}, {"base_median", opt(f.base_median)},
                    {"new_median", opt(f.new_median)}, {"change", opt(f.change)}, {"p", opt(f.p)},
                    {"threshold", f.threshold}, {"verdict", f.verdict}, {"note", f.note}});
  }
  return {{"base", base_path},
          {"new", new_path},
          {"alpha", options.alpha},
          {"threshold", options.threshold},
          {"warnings", warnings},
          {"regressed", regressed()},
          {"counts", counts},
          {"figures", std::move(figs)}};
}

std::string Comparison::to_text() const {
  std::ostringstream out;
  out << "base: " << base_path << "\nnew:  " << new_path << '\n';
  for (const std::string& w : warnings) {
    out << "warning: " << w << '\n';
  }
  std::vector<std::vector<std::string>> rows = {{"STEP", "FIGURE", "BASE", "NEW", "CHANGE", "P", "VERDICT"}};
  for (const FigureComparison& f : figures) {
    rows.push_back({f.step, f.path, value_text(f.base_median, f.base.size(), f.unit),
                    value_text(f.new_median, f.now.size(), f.unit), change_text(f.change), p_text(f.p),
                    f.verdict + (f.note.empty() ? "" : " (" + f.note + ")")});
  }
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size(); ++i) {
      width[i] = std::max(width[i], r[i].size());
    }
  }
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) {
        line += std::string(width[i] - r[i].size() + 2, ' ');
      }
    }
    out << line << '\n';
  }
  const nlohmann::json counts = to_json()["counts"];
  out << '\n' << (regressed() ? "REGRESSED" : "no regression") << " (alpha " << options.alpha << ", threshold "
      << options.threshold * 100 << " %):";
  for (const auto& [verdict, n] : counts.items()) {
    out << ' ' << n.get<int>() << ' ' << verdict << ';';
  }
  out << '\n';
  return out.str();
}

std::string Comparison::to_markdown() const {
  std::ostringstream out;
  out << "### sonda compare: " << (regressed() ? "**regressed**" : "no regression") << "\n\n";
  for (const std::string& w : warnings) {
    out << "> **warning:** " << w << "\n";
  }
  if (!warnings.empty()) {
    out << '\n';
  }
  out << "| step | figure | base | new | change | p | verdict |\n|---|---|---|---|---|---|---|\n";
  for (const FigureComparison& f : figures) {
    const bool bad = f.verdict == "regressed" || f.verdict == "failed in new";
    out << "| " << f.step << " | `" << f.path << "` | " << value_text(f.base_median, f.base.size(), f.unit) << " | "
        << value_text(f.new_median, f.now.size(), f.unit) << " | " << change_text(f.change) << " | " << p_text(f.p)
        << " | " << (bad ? "**" + f.verdict + "**" : f.verdict) << (f.note.empty() ? "" : " (" + f.note + ")")
        << " |\n";
  }
  out << "\nalpha " << options.alpha << ", threshold " << options.threshold * 100
      << " % (a figure regresses when p < alpha and it moved the wrong way by more than its threshold)\n";
  return out.str();
}

nlohmann::json read_run_json(const std::string& path, std::string* resolved) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path p(path);
  if (fs::is_directory(p, ec)) {
    if (fs::exists(p / "run.json", ec)) {
      p /= "run.json";
    } else if (fs::exists(p / "latest" / "run.json", ec)) {
      p = p / "latest" / "run.json";
    } else {
      throw std::runtime_error(path + ": no run.json there (nor in " + path + "/latest)");
    }
  }
  std::ifstream in(p);
  if (!in) {
    throw std::runtime_error(path + ": cannot read (no such file)");
  }
  nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (!j.is_object() || !j.contains("steps") || !j["steps"].is_array()) {
    throw std::runtime_error(p.string() + ": not a sonda run.json (no steps array)");
  }
  if (resolved != nullptr) {
    *resolved = fs::weakly_canonical(p, ec).string();
  }
  return j;
}

Comparison compare_runs(const nlohmann::json& base, const nlohmann::json& now, CompareOptions options) {
  // The scenario's `compare:` fills what the command line did not say.
  const nlohmann::json as_run = now.value("scenario", nlohmann::json::object()).value("as_run", nlohmann::json::object());
  if (as_run.is_object() && as_run.contains("compare") && as_run["compare"].is_object()) {
    const nlohmann::json& c = as_run["compare"];
    if (!options.alpha_given && c.contains("alpha") && c["alpha"].is_number()) {
      options.alpha = c["alpha"].get<double>();
    }
    if (!options.threshold_given && c.contains("threshold")) {
      options.threshold = parse_fraction(c["threshold"], "compare.threshold");
    }
    const nlohmann::json thresholds = c.value("thresholds", nlohmann::json::object());
    for (const auto& [key, v] : thresholds.items()) {
      options.thresholds.emplace(key, parse_fraction(v, "compare.thresholds." + key));  // the command line's win
    }
  }
  Comparison cmp;
  cmp.options = options;
  const nlohmann::json base_scenario = base.value("scenario", nlohmann::json::object());
  const nlohmann::json new_scenario = now.value("scenario", nlohmann::json::object());
  if (base_scenario.value("as_run", nlohmann::json()) != new_scenario.value("as_run", nlohmann::json())) {
    cmp.warnings.push_back("the scenarios differ (base: " + base_scenario.value("name", std::string("?")) + " " +
                           base_scenario.value("file", std::string("?")) + "; new: " +
                           new_scenario.value("name", std::string("?")) + " " +
                           new_scenario.value("file", std::string("?")) + "): figures may not be like for like");
  }
  const std::string base_machine = machine_of(base);
  const std::string new_machine = machine_of(now);
  if (base_machine != new_machine) {
    cmp.warnings.push_back("another machine or context: base ran on " + base_machine + "; new on " + new_machine);
  }
  std::map<std::string, const nlohmann::json*> base_steps;
  const nlohmann::json base_list = base.value("steps", nlohmann::json::array());
  const nlohmann::json new_list = now.value("steps", nlohmann::json::array());
  for (const nlohmann::json& s : base_list) {
    base_steps[s.value("id", std::string())] = &s;
  }
  std::set<std::string> seen;
  for (const nlohmann::json& s : new_list) {
    const std::string id = s.value("id", std::string());
    seen.insert(id);
    const nlohmann::json new_figs = s.value("figures", nlohmann::json::array());
    auto bit = base_steps.find(id);
    if (bit == base_steps.end()) {
      if (!new_figs.empty()) {
        cmp.warnings.push_back("step " + id + " is in the new run only");
      }
      continue;
    }
    const nlohmann::json& bs = *bit->second;
    const nlohmann::json base_figs = bs.value("figures", nlohmann::json::array());
    const bool base_ok = bs.value("status", "") == "ok";
    const bool new_ok = s.value("status", "") == "ok";
    std::map<std::string, const nlohmann::json*> by_path;
    for (const nlohmann::json& f : base_figs) {
      by_path[f.value("path", std::string())] = &f;
    }
    std::set<std::string> paths;
    for (const nlohmann::json* list : {&new_figs, &base_figs}) {
      for (const nlohmann::json& f : *list) {
        const std::string path = f.value("path", std::string());
        if (!paths.insert(path).second) {
          continue;
        }
        FigureComparison fc;
        fc.step = id;
        fc.path = path;
        fc.unit = f.value("unit", std::string());
        fc.better = f.value("better", std::string("higher"));
        auto t = options.thresholds.find(id + "." + path);
        if (t == options.thresholds.end()) {
          t = options.thresholds.find(path);
        }
        fc.threshold = t != options.thresholds.end() ? t->second : options.threshold;
        const nlohmann::json* in_base = by_path.count(path) ? by_path[path] : nullptr;
        const nlohmann::json* in_new = nullptr;
        for (const nlohmann::json& g : new_figs) {
          if (g.value("path", std::string()) == path) {
            in_new = &g;
          }
        }
        if (in_base != nullptr && base_ok) fc.base = samples_of(*in_base);
        if (in_new != nullptr && new_ok) fc.now = samples_of(*in_new);
        if (!fc.base.empty()) fc.base_median = median_of(fc.base);
        if (!fc.now.empty()) fc.new_median = median_of(fc.now);
        if (fc.base_median && fc.new_median) {
          if (*fc.base_median != 0) {
            fc.change = (*fc.new_median - *fc.base_median) / std::fabs(*fc.base_median);
          } else if (*fc.new_median == 0) {
            fc.change = 0.0;
          }
        }
        if (!new_ok && base_ok) {
          fc.verdict = "failed in new";
          fc.note = s.value("reason", std::string());
        } else if (!base_ok && new_ok) {
          fc.verdict = "failed in base";
        } else if (!base_ok && !new_ok) {
          fc.verdict = "failed in both";
        } else if (fc.base.empty()) {
          fc.verdict = "missing in base";
        } else if (fc.now.empty()) {
          fc.verdict = "missing in new";
        } else if (fc.base.size() < 2 || fc.now.size() < 2) {
          fc.verdict = "n=1";
          fc.note = "no test with one sample; use repeat:";
        } else {
          fc.p = mann_whitney_p(fc.base, fc.now);
          const bool worse = fc.change && (fc.better == "lower" ? *fc.change > 0 : *fc.change < 0);
          const bool big = fc.change && std::fabs(*fc.change) > fc.threshold;
          if (*fc.p < options.alpha && big) {
            fc.verdict = worse ? "regressed" : "improved";
          } else {
            fc.verdict = "~";
            const double floor_p = mann_whitney_min_p(fc.base.size(), fc.now.size());
            if (floor_p >= options.alpha) {
              char buf[96];
              std::snprintf(buf, sizeof buf, "%zu+%zu samples cannot reach p < %g", fc.base.size(), fc.now.size(),
                            options.alpha);
              fc.note = buf;
            }
          }
        }
        cmp.figures.push_back(std::move(fc));
      }
    }
  }
  for (const auto& [id, s] : base_steps) {
    if (!seen.count(id) && !s->value("figures", nlohmann::json::array()).empty()) {
      cmp.warnings.push_back("step " + id + " is in the base run only");
    }
  }
  return cmp;
}

namespace {

double percent_arg(const std::string& text, const std::string& what) {
  return parse_fraction(nlohmann::json(text), what);
}

}  // namespace

int compare_command(const CompareCommand& cmd) {
  CompareOptions options;
  Comparison cmp;
  try {
    options.alpha = cmd.alpha;
    options.alpha_given = cmd.alpha_given;
    if (!(options.alpha > 0 && options.alpha < 1)) {
      throw std::runtime_error("--alpha must be between 0 and 1");
    }
    if (!cmd.threshold.empty()) {
      options.threshold = percent_arg(cmd.threshold, "--threshold");
      options.threshold_given = true;
    }
    for (const std::string& t : cmd.thresholds) {
      const size_t eq = t.find('=');
      if (eq == std::string::npos || eq == 0) {
        throw std::runtime_error("--figure-threshold " + t + ": expected STEP.PATH=PERCENT, e.g. load.bits_per_sec=3%");
      }
      options.thresholds[t.substr(0, eq)] = percent_arg(t.substr(eq + 1), "--figure-threshold " + t);
    }
    std::string base_path;
    std::string new_path;
    const nlohmann::json base = read_run_json(cmd.base, &base_path);
    const nlohmann::json now = read_run_json(cmd.now, &new_path);
    cmp = compare_runs(base, now, options);
    cmp.base_path = base_path;
    cmp.new_path = new_path;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << '\n';
    return kExitInvalidScenario;
  }
  std::cout << cmp.to_text() << std::flush;
  auto write = [](const std::string& file, const std::string& text) {
    std::ofstream out(file);
    out << text;
    if (!out) {
      std::cerr << "error: cannot write " << file << '\n';
      return false;
    }
    return true;
  };
  if (!cmd.json_file.empty() && !write(cmd.json_file, cmp.to_json().dump(2) + "\n")) {
    return kExitInvalidScenario;
  }
  if (!cmd.markdown_file.empty() && !write(cmd.markdown_file, cmp.to_markdown())) {
    return kExitInvalidScenario;
  }
  return cmp.regressed() ? kExitRegressed : kExitOk;
}

}  // namespace sonda
