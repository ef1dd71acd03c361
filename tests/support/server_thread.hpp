// A background action (a server) running on its own thread for the length of
// a scope, as the runner runs a background step.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

#include "fake_host.hpp"

namespace sonda::testing {

/// Starts `action` of `plugin` on its own thread (inside network namespace
/// `netns` when not empty) and waits for its ready(). The destructor raises
/// the stop flag and joins, also when the test failed.
class ServerThread {
 public:
  /// Throws the action's StepError (e.g. kind "addr_in_use") when it ends
  /// without becoming ready, std::runtime_error when it is not ready within
  /// `ready_timeout_ms`.
  ServerThread(const sonda_plugin& plugin, std::string action, json params, std::string netns = "",
               int ready_timeout_ms = 10000);
  ~ServerThread();
  ServerThread(const ServerThread&) = delete;
  ServerThread& operator=(const ServerThread&) = delete;

  /// ready()'s JSON: {"listen": "...", "port": N, ...}.
  const json& ready() const { return ready_; }
  uint16_t port() const { return ready_.at("port").get<uint16_t>(); }
  FakeHost& host() { return host_; }
  /// Stops the action and returns its record; throws its StepError when it
  /// failed.
  json stop();

 private:
  FakeHost host_;
  Outcome outcome_;
  json ready_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace sonda::testing
