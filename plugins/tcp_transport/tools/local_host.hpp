// A minimal in-process stand-in for the sonda runner, so the tests and the
// bench driver can run tcp_transport actions directly (the same functions the
// plugin exports) and see their samples, ready() info and stop flag.
#pragma once

#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <sonda/plugin.hpp>
#include <string>
#include <thread>
#include <vector>

namespace sonda::tcp {

/// Implements sonda_host callbacks in memory. Thread-safe.
class LocalHost {
 public:
  /// `verbose`: print plugin log lines on stderr.
  explicit LocalHost(bool verbose = false);
  LocalHost(const LocalHost&) = delete;
  LocalHost& operator=(const LocalHost&) = delete;

  const sonda_host* host() const { return &host_; }
  /// Sets the stop flag the action polls.
  void request_stop();
  /// Waits for ready(); nullopt after `timeout_ms`.
  std::optional<json> wait_ready(int timeout_ms);
  /// Samples recorded so far, in order.
  std::vector<json> samples() const;
  /// Records ready() info as if the action had called it.
  void notify_ready(const json& info);

 private:
  static void on_log(void* ctx, int level, const char* msg);
  static void on_ready(void* ctx, const char* json_text);
  static void on_sample(void* ctx, const char* json_text);
  static void on_set_result(void* ctx, const char* json_text);
  static void on_set_error(void* ctx, const char* msg);

  bool verbose_;
  int stop_flag_ = 0;
  sonda_host host_{};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::optional<json> ready_;
  std::vector<json> samples_;
};

/// Runs the `server` action on its own thread until stop(). Optionally
/// enters a network namespace (/var/run/netns/<name>) on that thread first.
class BackgroundServer {
 public:
  /// Starts the server and waits for ready(); throws the server's error (for
  /// example StepError kind "addr_in_use") if it fails to start.
  explicit BackgroundServer(json params, std::string netns = "");
  ~BackgroundServer();
  BackgroundServer(const BackgroundServer&) = delete;
  BackgroundServer& operator=(const BackgroundServer&) = delete;

  /// The ready() info: {"listen": "...", "port": N, ...}.
  const json& ready_info() const { return ready_; }
  uint16_t port() const { return ready_["port"].get<uint16_t>(); }
  /// Stops the server and returns its record (rethrows its error).
  json stop();

 private:
  LocalHost host_;
  std::thread thread_;
  json ready_;
  json record_;
  std::exception_ptr error_;
  bool stopped_ = false;
};

/// Enters the network namespace /var/run/netns/<name> on the calling thread.
/// Throws std::runtime_error naming the call.
void enter_netns(const std::string& name);

}  // namespace sonda::tcp
