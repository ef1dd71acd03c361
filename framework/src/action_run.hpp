// Where a step's plugin code runs. By default every action runs in its own
// `sonda agent` process (agent_client.hpp): a plugin that crashes, exits or
// hangs takes its agent down, never the runner. `--in-process` runs it on a
// thread of the runner instead (debugging; a crash there ends the run).
// The runner sees both through ActionRun and drives them with one loop
// (Runner::await).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include <atomic>
#include <map>
#include <mutex>

#include "plugin_loader.hpp"
#include "scenario.hpp"
#include "step_task.hpp"

namespace sonda {

class AgentConnection;

/// How plugin actions are isolated from the runner.
enum class Isolation { kAgent, kInProcess };
const char* to_string(Isolation isolation);

/// One plugin action, started. Thread-safe.
class ActionRun {
 public:
  virtual ~ActionRun() = default;
  /// Asks the action to wrap up (its stop flag). Idempotent.
  virtual void request_stop() = 0;
  /// Waits until ready() was called (true), the action ended, or `until_ns`.
  virtual bool wait_ready(int64_t until_ns) = 0;
  /// Waits until the action returned or its process died (true), or `until_ns`.
  virtual bool wait_done(int64_t until_ns) = 0;
  /// Gives up on an action that will not return: its agent is killed (the
  /// outcome keeps what arrived); in-process, its thread is left detached.
  virtual void abandon() = 0;
  /// What arrived so far.
  virtual ActionOutcome outcome() const = 0;
};

/// What to run.
struct ActionRequest {
  std::shared_ptr<const LoadedPlugin> plugin;
  std::string action;
  nlohmann::json params = nlohmann::json::object();
  int64_t deadline_ns = 0;  ///< CLOCK_MONOTONIC, 0 = none
  SampleCallback on_sample;
  /// Agents: the file that keeps whatever the plugin prints (its stdout and
  /// stderr). Removed again when empty.
  std::string output_path;
  /// Host agents, built-in `spawn` runs (plugin null): the program's stdout
  /// and stderr as they arrive ("stdout" or "stderr", bytes).
  std::function<void(std::string_view stream, std::string_view bytes)> on_output;
  /// Local agents: where to write a record of kRecordFileBytes or more
  /// itself (results.hpp record_file_name()), checked, instead of handing
  /// it over; "" to hand every record over (repeats, hosts, in-process).
  std::string record_path;
};

/// Starts action runs. Immutable, thread-safe.
class Executor {
 public:
  /// `agent_binary`: the `sonda` executable to start as `sonda agent`.
  /// `planned_runs`: how many local action runs the scenario has (repeats
  /// counted); agents are started ahead only for those, so a one-step run
  /// starts one agent, not two. Runs beyond it (the runner's own port-owner
  /// lookups) start their agent when they start.
  explicit Executor(Isolation isolation, size_t planned_runs = SIZE_MAX,
                    std::string agent_binary = self_executable());
  ~Executor();
  Isolation isolation() const { return isolation_; }
  /// Starts the action, here or on `host` (a name connect_hosts() knew).
  /// Agent: throws std::runtime_error when the agent cannot be started or
  /// the host's agent is gone (the reason names the program, the call, or
  /// how the host's agent ended).
  std::unique_ptr<ActionRun> start(ActionRequest request, const std::string& host = "") const;
  /// Preflight: starts each host's agent (`via` + sonda + "agent", its
  /// stderr to <run_dir>/host-<name>.output), waits for its hello, samples
  /// its clock and reads its context and plugins. Returns
  /// {name: {via, agent, context, plugins, clock, preflight_ns}}. Throws
  /// std::runtime_error naming the host, its command and its stderr when one
  /// cannot be reached by `until_ns`.
  nlohmann::json connect_hosts(const std::map<std::string, Host>& hosts, const std::string& run_dir,
                               int64_t until_ns);
  /// Waits until every agent this process started has exited and been
  /// reaped, until `until_ns`; kills those left then. No-op in-process.
  void drain(int64_t until_ns) const;
  /// /proc/self/exe, resolved.
  static std::string self_executable();

 private:
  /// Starts the spare agent the next start() takes (agent isolation).
  void replenish() const;

  Isolation isolation_;
  std::string agent_binary_;
  /// One agent started ahead, so a step does not wait for an exec (~5 ms
  /// on a small VM). Taken by start(), replaced when that run ends.
  mutable std::mutex mu_;
  mutable std::shared_ptr<AgentConnection> spare_;
  /// Local agents started ahead so far, and how many the scenario plans.
  mutable size_t started_ahead_ = 0;
  size_t planned_runs_;
  /// One agent per host, shared by every step on it (set by connect_hosts).
  std::map<std::string, std::shared_ptr<AgentConnection>> hosts_;
  mutable std::atomic<uint64_t> next_run_id_{0};
};

}  // namespace sonda
