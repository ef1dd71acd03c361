// An in-process stand-in for the sonda runner: a sonda_host whose callbacks
// collect what an action reports. Used by the driver binary and the tests to
// run actions without loading the .so.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sonda/abi.h>
#include <string>
#include <vector>

#include "actions.hpp"

namespace sonda::udp {

/// Thread-safe: an action may run on one thread while another waits for
/// ready() or raises the stop flag.
class LocalHost {
 public:
  LocalHost();
  LocalHost(const LocalHost&) = delete;
  LocalHost& operator=(const LocalHost&) = delete;

  const sonda_host* host() const { return &host_; }
  /// Runs `fn` with `params` the way the plugin dispatcher does: a StepError
  /// is caught and turned into {"error": {kind, message}} merged with its
  /// details. Returns the record.
  nlohmann::json run(ActionFn fn, const nlohmann::json& params);

  /// Raises the stop flag (as Ctrl-C or a group ending would).
  void stop() { __atomic_store_n(&stop_flag_, 1, __ATOMIC_RELAXED); }
  /// Waits up to `timeout_ms` for ready(); its JSON, or nullopt.
  std::optional<nlohmann::json> wait_ready(int timeout_ms);
  std::vector<nlohmann::json> samples() const;
  /// Log lines at warning level and above, for test diagnostics.
  std::vector<std::string> warnings() const;
  /// When set, every log line and sample is also printed on stderr.
  bool echo_to_stderr = false;

 private:
  static void on_log(void* ctx, int level, const char* msg);
  static void on_ready(void* ctx, const char* json);
  static void on_sample(void* ctx, const char* json);
  static void on_result(void* ctx, const char* json);
  static void on_error(void* ctx, const char* msg);

  sonda_host host_{};
  int stop_flag_ = 0;
  mutable std::mutex mutex_;
  std::condition_variable ready_cv_;
  std::optional<nlohmann::json> ready_;
  std::vector<nlohmann::json> samples_;
  std::vector<std::string> warnings_;
};

}  // namespace sonda::udp
