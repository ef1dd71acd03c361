// What a run tells the people and programs that follow it. Each output is a
// RunReporter (Google Benchmark's BenchmarkReporter is the model): the
// events log (RunWriter: events.jsonl), run.json, the summary, JUnit XML,
// CSV tables and the live progress lines. The runner speaks to one
// ReporterSet; adding an output is adding a reporter, not editing the runner.
#pragma once

#include <iosfwd>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace sonda {

struct StepResult;
struct RunOutcome;
struct Scenario;
class Registry;
class RunWriter;

class RunReporter {
 public:
  virtual ~RunReporter() = default;
  /// The run's header (run.json without its results): schema, sonda,
  /// context, scenario, plugins, isolation, run_dir, started_at.
  virtual void run_start(const nlohmann::json& /*run*/) {}
  /// Everything that happens, as events.jsonl has it: host, step_start,
  /// sample ({id, sample}), step_ready, repeat_run, expectation, report ...
  virtual void event(const std::string& /*type*/, const nlohmann::json& /*fields*/) {}
  /// A step ended (its record, figures and samples are final).
  virtual void step_end(const StepResult& /*step*/) {}
  /// The run ended: `run` is the whole run.json but its steps, which are in
  /// `outcome.steps`.
  virtual void run_end(const nlohmann::json& /*run*/, const RunOutcome& /*outcome*/) {}
};

/// Fans every call out to its reporters in order. One reporter that throws
/// is logged and the others still report: a full disk for the CSV does not
/// lose run.json.
class ReporterSet final : public RunReporter {
 public:
  void add(RunReporter* borrowed) { reporters_.push_back(borrowed); }
  void add(std::unique_ptr<RunReporter> owned) {
    reporters_.push_back(owned.get());
    owned_.push_back(std::move(owned));
  }
  void run_start(const nlohmann::json& run) override;
  void event(const std::string& type, const nlohmann::json& fields) override;
  void step_end(const StepResult& step) override;
  void run_end(const nlohmann::json& run, const RunOutcome& outcome) override;

 private:
  std::vector<RunReporter*> reporters_;
  std::vector<std::unique_ptr<RunReporter>> owned_;
};

/// run.json (via the run directory's writer), then `latest`.
std::unique_ptr<RunReporter> make_run_json_reporter(RunWriter& writer);
/// summary.txt, and the same text on `out`.
std::unique_ptr<RunReporter> make_summary_reporter(RunWriter& writer, std::ostream& out);
/// JUnit XML: one testcase per step (failure = failed or timeout, error =
/// interrupted or crashed, skipped = not run) and one per expectation.
std::unique_ptr<RunReporter> make_junit_reporter(std::string path);
/// CSV tables into `dir`: figures.csv (every step's headline figures) and
/// <step>.samples.csv (its interval samples, one column per field).
std::unique_ptr<RunReporter> make_csv_reporter(std::string dir);

/// How the live progress is shown.
struct ProgressOptions {
  bool terminal = false;   ///< one updating line (stdout is a terminal)
  bool intervals = false;  ///< every sample as a line, iperf3-style
};
/// Live progress on `out` while steps run: the elapsed time against the
/// step's duration and its newest sample's rate, latency or loss.
std::unique_ptr<RunReporter> make_progress_reporter(std::ostream& out, ProgressOptions options);

/// The run's header, as run_start() receives it.
nlohmann::json run_header(const Scenario& scenario, const Registry& registry, const std::string& isolation,
                          const std::string& run_dir, const std::string& started_at);
/// The header completed with the outcome (status, exit code, expectations,
/// reports, hosts, timing), as run_end() receives it.
nlohmann::json complete_run(nlohmann::json run, const RunOutcome& outcome, int64_t duration_ns,
                            const std::string& ended_at);

}  // namespace sonda
