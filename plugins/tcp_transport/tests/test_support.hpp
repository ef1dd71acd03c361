// tcp_transport's own test helpers on top of tests/support: the plugin .so
// this build made, its actions run through the C ABI, the Python echo server.
#pragma once

#include <sonda/plugin.hpp>
#include <string>
#include <vector>

#include "support/fake_host.hpp"
#include "support/process.hpp"
#include "support/server_thread.hpp"

namespace sonda::tcp::test {

using sonda::testing::ServerThread;

/// tcp_transport.so from this build, loaded once.
const sonda_plugin& plugin();

/// Runs `action` through the plugin's ABI entry; `samples` receives the
/// interval samples if not null. Throws the action's StepError.
json run_action(const std::string& action, const json& params, std::vector<json>* samples = nullptr);

/// Runs an action expecting it to fail; returns the StepError (fails the
/// test if the action succeeds).
StepError run_expect_error(const std::string& action, const json& params);

/// Starts tests/echo_server.py (with extra args) and reads the port it prints.
class PythonEchoServer {
 public:
  explicit PythonEchoServer(const std::vector<std::string>& extra_args = {});
  uint16_t port() const { return port_; }
  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  sonda::testing::ChildProcess child_;
  uint16_t port_ = 0;
};

/// A port that was just bound and closed: nothing listens there.
uint16_t closed_port();

}  // namespace sonda::tcp::test
