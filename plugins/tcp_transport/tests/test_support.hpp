// Helpers for tcp_transport's tests: running an action through a LocalHost,
// and a child process (the Python echo server) that is always killed.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <sonda/plugin.hpp>
#include <string>
#include <vector>

#include "actions.hpp"
#include "local_host.hpp"

namespace sonda::tcp::test {

/// Runs an action function with a fresh LocalHost; `samples` receives the
/// interval samples if not null.
json run_action(json (*fn)(const json&, Context&), const json& params, std::vector<json>* samples = nullptr);

/// Runs an action expecting it to fail; returns the StepError (fails the
/// test if the action succeeds).
StepError run_expect_error(json (*fn)(const json&, Context&), const json& params);

/// A child process started with fork/exec whose first stdout line is read
/// back (the Python server prints its port). Killed and reaped on
/// destruction, also when the test fails.
class ChildProcess {
 public:
  explicit ChildProcess(const std::vector<std::string>& argv);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  /// First line the child wrote to stdout (empty if it exited first).
  const std::string& first_line() const { return first_line_; }

 private:
  pid_t pid_ = -1;
  std::string first_line_;
};

/// Starts tests/echo_server.py (with extra args) and returns its port.
class PythonEchoServer {
 public:
  explicit PythonEchoServer(const std::vector<std::string>& extra_args = {});
  uint16_t port() const { return port_; }
  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  ChildProcess child_;
  uint16_t port_ = 0;
};

/// A port that was just bound and closed: nothing listens there.
uint16_t closed_port();

}  // namespace sonda::tcp::test
