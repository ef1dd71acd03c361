// A sonda_host in memory: runs a plugin's actions in this process through the
// real C ABI (sonda_plugin::run with a sonda_host), collecting what the
// runner would collect. Used by the plugin tests and the standalone drivers.
#pragma once

#include <sonda/plugin.hpp>

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace sonda::testing {

using json = nlohmann::json;

/// Loads the plugin .so at `path` (dlopen, kept loaded until exit, as the
/// runner does) and returns its descriptor. Throws std::runtime_error naming
/// the path and dlerror(), or an ABI mismatch naming both versions.
const sonda_plugin& load_plugin(const std::string& path);

/// load_plugin() of `<name>.so` in the directory of this executable: where the
/// build puts the plugins, and where `sonda` looks first.
const sonda_plugin& load_plugin_beside_executable(const std::string& name);

/// What one run() of an action ended with.
struct Outcome {
  int status = -1;    ///< sonda_plugin::run's return: 0 ok
  json record;        ///< set_result(); null when never called
  std::string error;  ///< set_error(), empty when none
  /// The record on success; otherwise throws the failure as a StepError
  /// rebuilt from the record (kind, message; the record as details).
  const json& record_or_throw() const;
};

/// The host side of one running action. Thread-safe: the action runs on one
/// thread while others wait for ready() or raise the stop flag.
class FakeHost {
 public:
  /// `echo_to_stderr`: print log lines, ready() and samples on stderr.
  explicit FakeHost(bool echo_to_stderr = false);
  FakeHost(const FakeHost&) = delete;
  FakeHost& operator=(const FakeHost&) = delete;

  /// The C struct, for building a sonda::Context around a direct call.
  const sonda_host* host() const { return &host_; }
  /// Runs `action` of `plugin` with normalised `params` through the ABI.
  Outcome run(const sonda_plugin& plugin, const std::string& action, const json& params);

  /// Raises the stop flag (Ctrl-C, group end).
  void stop() { __atomic_store_n(&stop_flag_, 1, __ATOMIC_RELAXED); }
  /// The action must return by now + `ns` (CLOCK_MONOTONIC); set before run().
  void set_deadline_in(int64_t ns) { host_.deadline_ns = Context::now_ns() + ns; }
  /// Waits up to `timeout_ms` for ready() or for run() to end; ready()'s JSON
  /// or nullopt.
  std::optional<json> wait_ready(int timeout_ms);
  /// Samples so far, in order.
  std::vector<json> samples() const;
  /// Log lines at warning level and above.
  std::vector<std::string> warnings() const;

 private:
  static void on_log(void* ctx, int level, const char* msg);
  static void on_ready(void* ctx, const char* text);
  static void on_sample(void* ctx, const char* text);
  static void on_result(void* ctx, const char* text);
  static void on_error(void* ctx, const char* msg);

  bool echo_;
  int stop_flag_ = 0;
  sonda_host host_{};
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool finished_ = false;
  std::optional<json> ready_;
  std::vector<json> samples_;
  std::vector<std::string> warnings_;
  json record_;
  std::string error_;
};

/// Runs `action` on a fresh FakeHost; its record, or throws its StepError.
/// `samples` receives the interval samples when not null.
json run_action(const sonda_plugin& plugin, const std::string& action, const json& params,
                std::vector<json>* samples = nullptr);

}  // namespace sonda::testing
