#include "reporters.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <ostream>
#include <set>
#include <sstream>

#include "registry.hpp"
#include "results.hpp"
#include "run_context.hpp"
#include "runner.hpp"
#include "summary.hpp"
#include "version.hpp"

namespace sonda {

// ---------------------------------------------------------------- the set

namespace {

template <typename Fn>
void each(const std::vector<RunReporter*>& reporters, const char* what, Fn fn) {
  for (RunReporter* r : reporters) {
    try {
      fn(*r);
    } catch (const std::exception& e) {
      spdlog::error("a reporter failed at {}: {}", what, e.what());
    }
  }
}

}  // namespace

void ReporterSet::run_start(const nlohmann::json& run) {
  each(reporters_, "run start", [&](RunReporter& r) { r.run_start(run); });
}
void ReporterSet::event(const std::string& type, const nlohmann::json& fields) {
  each(reporters_, "an event", [&](RunReporter& r) { r.event(type, fields); });
}
void ReporterSet::step_end(const StepResult& step) {
  each(reporters_, "step end", [&](RunReporter& r) { r.step_end(step); });
}
void ReporterSet::run_end(const nlohmann::json& run, const RunOutcome& outcome) {
  each(reporters_, "run end", [&](RunReporter& r) { r.run_end(run, outcome); });
}

// ---------------------------------------------------------------- run.json

nlohmann::json run_header(const Scenario& scenario, const Registry& registry, const std::string& isolation,
                          const std::string& run_dir, const std::string& started_at) {
  nlohmann::json plugins = nlohmann::json::array();
  for (const auto& [name, p] : registry.plugins()) {
    plugins.push_back({{"name", name}, {"version", p->version()}, {"path", p->path}});
  }
  return {{"schema_version", kResultSchemaVersion},
          {"sonda", {{"version", kSondaVersion}, {"git", kSondaGitHash}}},
          {"context", collect_run_context()},
          {"scenario", {{"name", scenario.name}, {"file", scenario.file}, {"description", scenario.description},
                        {"as_run", scenario.as_run}}},
          {"plugins", std::move(plugins)},
          {"isolation", isolation},
          {"run_dir", run_dir},
          {"started_at", started_at}};
}

nlohmann::json complete_run(nlohmann::json run, const RunOutcome& outcome, int64_t duration_ns,
                            const std::string& ended_at) {
  if (!outcome.hosts.empty()) {
    run["context"]["hosts"] = outcome.hosts;
  }
  if (!outcome.host_error.empty()) {
    run["host_error"] = outcome.host_error;
  }
  run["ended_at"] = ended_at;
  run["duration_ns"] = duration_ns;
  run["status"] = outcome.status;
  run["exit_code"] = outcome.exit_code;
  run["expectations"] = outcome.expectations;
  run["reports"] = outcome.reports;
  return run;
}

namespace {

class RunJsonReporter final : public RunReporter {
 public:
  explicit RunJsonReporter(RunWriter& writer) : writer_(writer) {}
  void run_end(const nlohmann::json& run, const RunOutcome& outcome) override {
    // The steps stream in from outcome.steps: records go in as their text.
    writer_.write_run_json(run, outcome.steps);
    writer_.update_latest();
  }

 private:
  RunWriter& writer_;
};

class SummaryReporter final : public RunReporter {
 public:
  SummaryReporter(RunWriter& writer, std::ostream& out) : writer_(writer), out_(out) {}
  void run_end(const nlohmann::json& run, const RunOutcome& outcome) override {
    const std::string text = render_summary(run["scenario"].value("name", std::string()), outcome, writer_.dir());
    try {
      writer_.write_summary(text);
    } catch (...) {
      out_ << text << std::flush;
      throw;
    }
    out_ << text << std::flush;
  }

 private:
  RunWriter& writer_;
  std::ostream& out_;
};

// ---------------------------------------------------------------- JUnit

std::string xml_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (const unsigned char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // XML 1.0 has no place for other control characters.
        if (c < 0x20 && c != '\n' && c != '\t' && c != '\r') {
          out += ' ';
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

std::string seconds(int64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(ns) / 1e9);
  return buf;
}

/// "bits_per_sec = 2.3e+10 bit/s (higher is better)" lines.
std::string figures_text(const nlohmann::json& figures) {
  std::string out;
  for (const nlohmann::json& f : figures) {
    out += f.value("path", std::string()) + " = " + (f["value"].is_null() ? "n/a" : f["value"].dump()) + " " +
           f.value("unit", std::string()) + " (" + f.value("better", std::string()) + " is better)\n";
  }
  return out;
}

class JUnitReporter final : public RunReporter {
 public:
  explicit JUnitReporter(std::string path) : path_(std::move(path)) {}
  void run_end(const nlohmann::json& run, const RunOutcome& outcome) override {
    const std::string suite = run["scenario"].value("name", std::string("sonda"));
    int failures = 0;
    int errors = 0;
    int skipped = 0;
    std::ostringstream cases;
    for (const StepResult& s : outcome.steps) {
      const std::string name = s.id + (s.plugin.empty() ? "" : " (" + s.plugin + "." + s.action + ")");
      cases << "    <testcase classname=\"" << xml_escape(suite + ".steps") << "\" name=\"" << xml_escape(name)
            << "\" time=\"" << seconds(s.duration_ns) << "\">\n";
      const nlohmann::json& top = s.record.top();
      const std::string summary = top.contains("summary") && top["summary"].is_string()
                                      ? top["summary"].get<std::string>() : "";
      const bool crashed = top.contains("crash");
      switch (s.status) {
        case StepStatus::kOk:
          break;
        case StepStatus::kFailed:
        case StepStatus::kTimeout:
          if (crashed) {
            ++errors;
            cases << "      <error type=\"crash\" message=\"" << xml_escape(s.reason) << "\">"
                  << xml_escape(top["crash"].dump()) << "</error>\n";
          } else {
            ++failures;
            cases << "      <failure type=\"" << to_string(s.status) << "\" message=\"" << xml_escape(s.reason)
                  << "\">" << xml_escape(summary.empty() ? s.reason : summary) << "</failure>\n";
          }
          break;
        case StepStatus::kInterrupted:
          ++errors;
          cases << "      <error type=\"interrupted\" message=\"" << xml_escape(s.reason.empty() ? "interrupted" : s.reason)
                << "\"/>\n";
          break;
        case StepStatus::kSkipped:
          ++skipped;
          cases << "      <skipped message=\"" << xml_escape(s.reason) << "\"/>\n";
          break;
      }
      const std::string out = summary + (summary.empty() ? "" : "\n") + figures_text(s.figures);
      if (!out.empty()) {
        cases << "      <system-out>" << xml_escape(out) << "</system-out>\n";
      }
      cases << "    </testcase>\n";
    }
    for (const nlohmann::json& e : outcome.expectations) {
      cases << "    <testcase classname=\"" << xml_escape(suite + ".expect") << "\" name=\""
            << xml_escape(e.value("text", std::string())) << "\" time=\"0.000\">\n";
      if (!e.value("passed", false)) {
        ++failures;
        cases << "      <failure type=\"expectation\" message=\"" << xml_escape(e.value("message", std::string()))
              << "\">measured: " << xml_escape(e["measured"].dump()) << "</failure>\n";
      }
      cases << "    </testcase>\n";
    }
    const size_t tests = outcome.steps.size() + outcome.expectations.size();
    const std::string time = seconds(run.value("duration_ns", int64_t{0}));
    const std::string counts = " tests=\"" + std::to_string(tests) + "\" failures=\"" + std::to_string(failures) +
                               "\" errors=\"" + std::to_string(errors) + "\" skipped=\"" + std::to_string(skipped) +
                               "\" time=\"" + time + "\"";
    // Timestamps without the zone suffix and fraction: the Ant schema's
    // xs:dateTime as CI servers read it.
    std::string stamp = run.value("started_at", std::string());
    stamp = stamp.substr(0, std::min<size_t>(stamp.size(), 19));
    std::ofstream f(path_);
    f << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<testsuites name=\"sonda\"" << counts << ">\n"
      << "  <testsuite name=\"" << xml_escape(suite) << "\"" << counts << " timestamp=\"" << xml_escape(stamp)
      << "\" hostname=\"" << xml_escape(run["context"].value("host", std::string("localhost"))) << "\">\n"
      << "    <properties>\n"
      << "      <property name=\"sonda.version\" value=\"" << xml_escape(run["sonda"].value("version", std::string()))
      << "\"/>\n"
      << "      <property name=\"run_dir\" value=\"" << xml_escape(run.value("run_dir", std::string())) << "\"/>\n"
      << "      <property name=\"status\" value=\"" << xml_escape(run.value("status", std::string())) << "\"/>\n"
      << "    </properties>\n"
      << cases.str() << "  </testsuite>\n</testsuites>\n";
    if (!f) {
      throw std::runtime_error("cannot write " + path_);
    }
  }

 private:
  std::string path_;
};

// ---------------------------------------------------------------- CSV

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) {
    return s;
  }
  std::string out = "\"";
  for (char c : s) {
    out += c == '"' ? "\"\"" : std::string(1, c);
  }
  return out + "\"";
}

std::string csv_value(const nlohmann::json& v) {
  if (v.is_null()) {
    return "";
  }
  if (v.is_string()) {
    return csv_field(v.get<std::string>());
  }
  return csv_field(v.dump());
}

/// Scalars of a sample, nested objects flattened with dots.
void flatten(const nlohmann::json& j, const std::string& prefix, std::map<std::string, nlohmann::json>& out) {
  for (const auto& [k, v] : j.items()) {
    const std::string key = prefix.empty() ? k : prefix + "." + k;
    if (v.is_object()) {
      flatten(v, key, out);
    } else if (!v.is_array()) {
      out[key] = v;
    }
  }
}

class CsvReporter final : public RunReporter {
 public:
  explicit CsvReporter(std::string dir) : dir_(std::move(dir)) {}
  void run_end(const nlohmann::json& /*run*/, const RunOutcome& outcome) override {
    std::filesystem::create_directories(dir_);
    std::ofstream figures(dir_ + "/figures.csv");
    figures << "step,plugin,action,status,figure,unit,better,value,samples\n";
    for (const StepResult& s : outcome.steps) {
      for (const nlohmann::json& f : s.figures) {
        std::string samples;
        for (const nlohmann::json& v : f.value("samples", nlohmann::json::array())) {
          samples += (samples.empty() ? "" : " ") + v.dump();
        }
        figures << csv_field(s.id) << ',' << csv_field(s.plugin) << ',' << csv_field(s.action) << ','
                << to_string(s.status) << ',' << csv_field(f.value("path", std::string())) << ','
                << csv_field(f.value("unit", std::string())) << ',' << f.value("better", std::string()) << ','
                << csv_value(f["value"]) << ',' << csv_field(samples) << '\n';
      }
      if (s.samples.empty()) {
        continue;
      }
      std::vector<std::map<std::string, nlohmann::json>> rows;
      std::set<std::string> columns;
      for (const nlohmann::json& sample : s.samples) {
        std::map<std::string, nlohmann::json> row;
        if (sample.is_object()) {
          flatten(sample, "", row);
        }
        for (const auto& [k, v] : row) {
          columns.insert(k);
        }
        rows.push_back(std::move(row));
      }
      std::ofstream out(dir_ + "/" + s.id + ".samples.csv");
      std::string header;
      for (const std::string& c : columns) {
        header += (header.empty() ? "" : ",") + csv_field(c);
      }
      out << header << '\n';
      for (const auto& row : rows) {
        std::string line;
        bool first = true;
        for (const std::string& c : columns) {
          auto it = row.find(c);
          line += (first ? "" : ",") + (it == row.end() ? std::string() : csv_value(it->second));
          first = false;
        }
        out << line << '\n';
      }
      if (!out) {
        throw std::runtime_error("cannot write " + dir_ + "/" + s.id + ".samples.csv");
      }
    }
    if (!figures) {
      throw std::runtime_error("cannot write " + dir_ + "/figures.csv");
    }
  }

 private:
  std::string dir_;
};

// ---------------------------------------------------------------- progress

std::string rate_text(double v, const char* unit) {
  char buf[48];
  if (v >= 1e9) {
    std::snprintf(buf, sizeof buf, "%.2f G%s", v / 1e9, unit);
  } else if (v >= 1e6) {
    std::snprintf(buf, sizeof buf, "%.2f M%s", v / 1e6, unit);
  } else if (v >= 1e3) {
    std::snprintf(buf, sizeof buf, "%.2f k%s", v / 1e3, unit);
  } else {
    std::snprintf(buf, sizeof buf, "%.0f %s", v, unit);
  }
  return buf;
}

/// The figures a person watches, from whatever the sample has.
std::string sample_text(const nlohmann::json& s) {
  std::vector<std::string> parts;
  auto num = [&](const char* key) -> std::optional<double> {
    if (s.contains(key) && s[key].is_number()) {
      return s[key].get<double>();
    }
    return std::nullopt;
  };
  if (auto v = num("bits_per_sec")) parts.push_back(rate_text(*v, "bit/s"));
  if (auto v = num("packets_per_sec")) parts.push_back(rate_text(*v, "pps"));
  if (auto v = num("transactions_per_sec")) parts.push_back(rate_text(*v, "trans/s"));
  if (auto v = num("connections_per_sec")) parts.push_back(rate_text(*v, "conn/s"));
  for (const char* key : {"p50_ns", "latency_p50_ns"}) {
    if (auto v = num(key)) {
      char buf[48];
      std::snprintf(buf, sizeof buf, "p50 %.1f us", *v / 1e3);
      parts.push_back(buf);
    }
  }
  if (auto v = num("loss_ratio")) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "loss %.3f %%", *v * 100);
    parts.push_back(buf);
  } else if (auto lost = num("lost")) {
    parts.push_back("lost " + std::to_string(static_cast<long long>(*lost)));
  }
  if (auto v = num("retransmits")) parts.push_back(std::to_string(static_cast<long long>(*v)) + " retr");
  std::string out;
  for (const auto& p : parts) {
    out += (out.empty() ? "" : ", ") + p;
  }
  return out;
}

class ProgressReporter final : public RunReporter {
 public:
  ProgressReporter(std::ostream& out, ProgressOptions options) : out_(out), options_(options) {}
  void event(const std::string& type, const nlohmann::json& fields) override {
    std::lock_guard lock(mu_);
    const std::string id = fields.value("id", std::string());
    const auto now = std::chrono::steady_clock::now();
    if (type == "step_start") {
      Step& s = steps_[id];
      s.started = now;
      s.label = fields.value("plugin", std::string()) + "." + fields.value("action", std::string());
      const nlohmann::json params = fields.value("params", nlohmann::json::object());
      s.duration_s = params.contains("duration") && params["duration"].is_number()
                         ? params["duration"].get<double>() / 1e9 : 0;
      s.latest.clear();
    } else if (type == "sample") {
      auto it = steps_.find(id);
      if (it == steps_.end()) {
        return;
      }
      Step& s = it->second;
      const nlohmann::json sample = fields.value("sample", nlohmann::json::object());
      s.latest = sample_text(sample);
      if (options_.intervals) {
        const double from = sample.value("offset_ns", 0.0) / 1e9;
        const double width = sample.value("interval_ns", 0.0) / 1e9;
        char span[64];
        std::snprintf(span, sizeof span, "%6.2f-%-6.2f s", from, from + width);
        clear_line();
        out_ << "[" << id << "] " << span << "  " << s.latest << '\n' << std::flush;
      } else if (!options_.terminal && now - s.last_line >= std::chrono::seconds(1)) {
        s.last_line = now;
        out_ << "[" << id << "] " << elapsed(s, now) << "  " << s.latest << '\n' << std::flush;
      }
      if (options_.terminal) {
        redraw(now);
      }
    } else if (type == "step_end" || type == "step_ready") {
      if (type == "step_end") {
        steps_.erase(id);
      }
      if (options_.terminal) {
        redraw(now);
      }
    }
  }
  void run_end(const nlohmann::json& /*run*/, const RunOutcome& /*outcome*/) override {
    std::lock_guard lock(mu_);
    clear_line();
  }
  void step_end(const StepResult& step) override { event("step_end", {{"id", step.id}}); }

 private:
  struct Step {
    std::chrono::steady_clock::time_point started;
    std::chrono::steady_clock::time_point last_line{};
    std::string label;
    double duration_s = 0;
    std::string latest;
  };
  static std::string elapsed(const Step& s, std::chrono::steady_clock::time_point now) {
    const double e = std::chrono::duration<double>(now - s.started).count();
    char buf[48];
    if (s.duration_s > 0) {
      std::snprintf(buf, sizeof buf, "%.1f/%.1f s", e, s.duration_s);
    } else {
      std::snprintf(buf, sizeof buf, "%.1f s", e);
    }
    return buf;
  }
  void clear_line() {
    if (options_.terminal && drawn_) {
      out_ << "\r\033[K";
      drawn_ = false;
    }
  }
  void redraw(std::chrono::steady_clock::time_point now) {
    std::string line;
    for (const auto& [id, s] : steps_) {
      if (s.latest.empty()) {
        continue;  // servers and scans: nothing to watch
      }
      line += (line.empty() ? "" : " | ") + id + " " + elapsed(s, now) + " " + s.latest;
    }
    out_ << "\r\033[K" << line.substr(0, 200) << std::flush;
    drawn_ = !line.empty();
  }

  std::ostream& out_;
  ProgressOptions options_;
  std::mutex mu_;
  std::map<std::string, Step> steps_;
  bool drawn_ = false;
};

}  // namespace

std::unique_ptr<RunReporter> make_run_json_reporter(RunWriter& writer) {
  return std::make_unique<RunJsonReporter>(writer);
}
std::unique_ptr<RunReporter> make_summary_reporter(RunWriter& writer, std::ostream& out) {
  return std::make_unique<SummaryReporter>(writer, out);
}
std::unique_ptr<RunReporter> make_junit_reporter(std::string path) {
  return std::make_unique<JUnitReporter>(std::move(path));
}
std::unique_ptr<RunReporter> make_csv_reporter(std::string dir) { return std::make_unique<CsvReporter>(std::move(dir)); }
std::unique_ptr<RunReporter> make_progress_reporter(std::ostream& out, ProgressOptions options) {
  return std::make_unique<ProgressReporter>(out, options);
}

}  // namespace sonda
