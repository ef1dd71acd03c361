// One plugin action running on its own thread behind the sonda_host C
// callbacks: stop flag, deadline, ready(), samples, result, error. The
// runner owns tasks; a task that will not return can be abandoned and its
// thread detached, because everything it touches is shared-owned.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "plugin_loader.hpp"
#include "step_record.hpp"

namespace sonda {

/// CLOCK_MONOTONIC now in nanoseconds.
int64_t monotonic_now_ns();

/// What a finished (or abandoned) action produced.
struct ActionOutcome {
  bool finished = false;  ///< run() returned
  int rc = 0;             ///< run()'s status when finished
  StepRecord record;  ///< the plugin's text, kept unparsed (step_record.hpp)
  std::string error;  ///< set_error() text, or the host's reason
  /// Why the record is not a JSON object ("not JSON", "not a JSON object
  /// (an array)"); empty when it is one, or when there was none.
  std::string record_problem;
  /// When the process running the action died under it (an agent that
  /// crashed or exited): {signal, exit_code, stderr_tail, output}; else null.
  nlohmann::json crash;
  std::optional<nlohmann::json> ready_info;
  nlohmann::json samples = nlohmann::json::array();
};

/// Called from the plugin's thread for every sample, as it arrives.
using SampleCallback = std::function<void(const nlohmann::json& sample)>;

/// Optional hooks on the plugin's thread, for whoever forwards what the
/// action does (the agent writes each to its channel as it happens).
struct TaskHooks {
  std::function<void(const nlohmann::json& info)> on_ready;
  std::function<void(int level, const char* message)> on_log;
  /// When set, set_result()'s text goes here as it is (no copy, no
  /// validation) instead of into the outcome's record.
  std::function<void(std::string_view text)> on_record_text;
  /// When set, append_result()'s pieces go here as they come (they are
  /// only valid during the call); the hook owner makes them the record
  /// unless a later set_result() replaces them.
  std::function<void(std::string_view piece)> on_record_piece;
  /// After run() returned: its status and the error text.
  std::function<void(int rc, const std::string& error)> on_done;
};

/// A plugin action on its own thread. Thread-safe; destroying a task whose
/// thread is still running detaches it (the thread keeps its own state and
/// library references alive).
class ActionTask {
 public:
  /// `deadline_ns`: CLOCK_MONOTONIC, 0 = none.
  ActionTask(std::shared_ptr<const LoadedPlugin> plugin, std::string action, nlohmann::json params,
             int64_t deadline_ns, SampleCallback on_sample = {});
  ~ActionTask();
  ActionTask(const ActionTask&) = delete;
  ActionTask& operator=(const ActionTask&) = delete;

  /// Set before start().
  void set_hooks(TaskHooks hooks);
  /// Starts the thread. Call once.
  void start();
  /// Sets the plugin's stop flag (idempotent, any thread).
  void request_stop();
  /// Waits for ready() or for the action to return, until `until_ns`
  /// (monotonic). True when ready() was called.
  bool wait_ready(int64_t until_ns);
  /// Waits for run() to return until `until_ns` (0 = forever). True when it
  /// returned; then the thread is joined.
  bool wait_done(int64_t until_ns);
  /// A snapshot of what the action produced so far.
  ActionOutcome outcome() const;

  /// Runs the action synchronously on the calling thread's behalf (start +
  /// wait). `stop_flag` (may be null) is polled to stop it early.
  static ActionOutcome run_sync(std::shared_ptr<const LoadedPlugin> plugin, const std::string& action,
                                const nlohmann::json& params, int64_t deadline_ns,
                                const int* stop_flag);

  struct State;

 private:
  std::shared_ptr<State> state_;
  std::thread thread_;
};

}  // namespace sonda
