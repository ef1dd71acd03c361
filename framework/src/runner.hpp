// Runs a validated Scenario: sequences, parallel groups, background steps
// (servers and spawned programs) that live until their group ends, repeats,
// deadlines, Ctrl-C; passes each finished step's record to later steps and
// to the expectations. Results stream to a RunWriter as they happen.
#pragma once

#include <atomic>
#include <functional>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "action_run.hpp"
#include "registry.hpp"
#include "results.hpp"
#include "report.hpp"
#include "scenario.hpp"

namespace sonda {

class SpawnedProcess;

/// Process exit codes, distinct per failure class (k6-style).
enum ExitCode : int {
  kExitOk = 0,
  kExitInvalidScenario = 2,  ///< invalid scenario or usage
  kExitPluginError = 3,      ///< a plugin the scenario needs was refused or missing
  kExitStepFailed = 4,
  kExitExpectationsFailed = 5,
  kExitHostUnreachable = 6,  ///< a scenario host could not be reached (nothing ran)
  kExitRegressed = 7,        ///< `sonda compare`: a figure regressed (or a step failed in the new run)
  kExitInterrupted = 130,
};

/// What a run produced, in scenario order.
struct RunOutcome {
  std::string status;  ///< ok | failed | interrupted | expectations_failed | host_unreachable
  int exit_code = kExitOk;
  std::vector<StepResult> steps;
  nlohmann::json expectations = nlohmann::json::array();
  nlohmann::json reports = nlohmann::json::array();  ///< built report: tables + verdicts
  /// Per scenario host: its agent's hello, context, plugins, clock offset
  /// (Executor::connect_hosts); empty without hosts.
  nlohmann::json hosts = nlohmann::json::object();
  std::string host_error;  ///< why preflight failed (exit code 6)
};

/// One run of one scenario. run() once; interrupt() from any thread.
/// Local action runs (steps without `on:`) the group will start, repeats
/// counted: how many local agents a run needs.
size_t planned_local_runs(const Group& group);

class Runner {
 public:
  /// All references must outlive the runner. Spawned programs, and agents
  /// for what plugins print, write their output into writer.dir().
  /// `isolation`: where plugin actions run (one agent process per action
  /// run by default).
  Runner(const Scenario& scenario, const Registry& registry, RunReporter& report, std::string run_dir,
         Isolation isolation = Isolation::kAgent);
  ~Runner();
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  /// Runs every step and evaluates the expectations. Never throws for a step
  /// problem (it becomes that step's status); background steps and spawned
  /// processes are always stopped before it returns, even on an exception.
  /// `local_interfaces`: this host's interfaces as the run's context read
  /// them (collect_interfaces()), for `${hosts.local...}`; null: read them.
  RunOutcome run(const nlohmann::json& local_interfaces = nullptr);
  /// Ctrl-C: stops every running foreground step (servers are stopped as
  /// their groups unwind); steps not started yet are skipped; the run winds
  /// down within about a second. Thread-safe.
  void interrupt();
  bool interrupted() const { return interrupted_.load(); }

 private:
  struct Background;
  using BackgroundList = std::vector<std::unique_ptr<Background>>;
  class Launched;

  /// What ended an await().
  enum class WaitEnd { kReady, kReturned, kLimit, kInterrupted, kAborted };

  void run_group(const Group& group);
  void run_node(const Node& node, BackgroundList& backgrounds);
  void run_foreground_step(const Step& step);
  std::unique_ptr<Background> start_background(const Step& step);
  std::unique_ptr<Background> start_spawn(const Step& step, StepResult result, int64_t start_ns);
  void stop_backgrounds(BackgroundList& backgrounds);
  void stop_background(Background& bg);

  /// One execution of an action with deadline handling (one repeat run).
  StepResult execute_action(const Step& step, const nlohmann::json& params);

  // The step-execution primitive (step_exec.cpp), used by every step kind.
  /// Starts an action through the executor, reached by interrupt() until
  /// the handle is gone. `output_suffix` names the file for what the plugin
  /// prints: <run dir>/<step id><suffix>.output. Null with `why` set when
  /// its agent could not be started.
  std::unique_ptr<Launched> launch(const std::string& step_id, const char* output_suffix,
                                   ActionRequest request, std::string& why, const std::string& host = "",
                                   bool background = false);
  /// The one wait: until the action is ready (`for_ready`) or has returned,
  /// `limit_ns` passes (0: none), Ctrl-C's grace runs out, or `abort`
  /// (polled every slice) says so. A wait for a run already told to stop
  /// passes `interruptible` false: only its own limit ends it.
  WaitEnd await(ActionRun& run, bool for_ready, int64_t limit_ns, const std::function<bool()>& abort = {},
                bool interruptible = true);
  /// Status and reason of an action run that ended with `end`: gives up on
  /// (kills) one that did not return; fails a crash, a record that is not a
  /// JSON object, or a non-zero return; moves the record and samples into
  /// `r`. `timeout_text` ("timed out after 2s") words a missed deadline.
  void settle(StepResult& r, ActionRun& run, WaitEnd end, int64_t deadline_ns, const std::string& timeout_text);
  /// "its agent was killed" / "abandoned; its thread is left running".
  const char* gave_up_text() const;
  /// "port 10000/tcp is in use by python3 (pid 4242)" via proc_scanner.owner.
  void explain_addr_in_use(StepResult& result);
  /// A StepResult prefilled from the step, or the reason it must be skipped.
  StepResult begin_step(const Step& step, bool& skip);
  bool resolve_step_params(const Step& step, StepResult& result);
  void finish_step(StepResult result);
  /// A background step's ready object: small, always kept for `${}`.
  void publish_record(const std::string& id, const nlohmann::json& record);
  /// A finished step's record: parsed into records_ only as far as something
  /// reads it (read_parts_), else it stays text in the results alone.
  void publish_record(const std::string& id, const StepRecord& record);
  void watch(ActionRun* run, bool on, bool background = false);
  int64_t stop_grace_ns(int64_t wanted_ns) const;
  /// Streams a step's samples to events.jsonl. An abandoned plugin thread
  /// may call it after the run: it goes through a gate the destructor closes.
  std::function<void(const nlohmann::json&)> sample_forwarder(const std::string& step_id);

  struct SampleGate {
    std::mutex mu;
    RunReporter* writer = nullptr;
  };
  std::shared_ptr<SampleGate> sample_gate_ = std::make_shared<SampleGate>();

  const Scenario& scenario_;
  const Registry& registry_;
  RunReporter& writer_;  ///< every output (reporters.hpp)
  std::string run_dir_;
  Executor executor_;
  std::atomic<bool> interrupted_{false};
  std::atomic<int64_t> interrupted_at_ns_{0};
  std::atomic<bool> failed_{false};

  mutable std::mutex mu_;
  nlohmann::json records_ = nlohmann::json::object();
  /// The parts of step records `${}`, `expect:` or `report:` read (per
  /// step id); nullopt: every record whole.
  std::optional<std::map<std::string, RecordFilter>> read_parts_;
  /// The scenario's `report:` entries, parsed once.
  std::vector<ReportSpec> report_specs_;
  std::map<std::string, StepResult> results_;
  std::map<ActionRun*, bool> running_;  ///< started runs -> is a background step
};

}  // namespace sonda
