// Shared fixtures for udp_transport tests: a server running in a thread
// (optionally inside a network namespace), shell commands, network
// namespaces joined by veth, and a child process with a pipe.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "local_host.hpp"

namespace sonda::udp::test {

/// Result of a shell command: exit status and combined stdout+stderr.
struct CmdResult {
  int status = -1;
  std::string output;
};
CmdResult run_cmd(const std::string& cmd);

/// Moves the calling thread into network namespace `name` (/run/netns/name).
/// Throws std::runtime_error on failure.
void enter_netns(const std::string& name);

/// udp_transport.server running on its own thread until stop() or
/// destruction, inside `netns` when not empty.
class ServerThread {
 public:
  explicit ServerThread(nlohmann::json params, std::string netns = "");
  ~ServerThread();
  /// Ready info ({"listen","port",...}); throws if the server failed to start.
  const nlohmann::json& ready() const { return ready_; }
  uint16_t port() const { return ready_.at("port").get<uint16_t>(); }
  /// Stops the server and returns its record.
  nlohmann::json stop();

 private:
  LocalHost host_;
  nlohmann::json ready_;
  nlohmann::json record_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

/// Runs an action on a fresh thread inside `netns` (empty = current) and
/// returns its record.
nlohmann::json run_in_netns(const std::string& netns, ActionFn fn, const nlohmann::json& params);

/// Two namespaces "<tag>a<pid>" and "<tag>b<pid>" joined by a veth pair,
/// with 10.<a>.<b>.1/24 on side a and .2 on side b. Everything is removed
/// on destruction, also when the test failed.
class VethPair {
 public:
  explicit VethPair(const std::string& tag);
  ~VethPair();
  VethPair(const VethPair&) = delete;
  VethPair& operator=(const VethPair&) = delete;
  std::string ns_a, ns_b, dev_a, dev_b, ip_a, ip_b;
  /// Empty when set-up worked, else the failing command and its output.
  std::string error;
};

/// A child process with stdout read line by line; killed on destruction.
/// Its stdin is a pipe kept open, so a crashed test also ends it.
class ChildProcess {
 public:
  explicit ChildProcess(const std::vector<std::string>& argv);
  ~ChildProcess();
  /// One line of stdout (without '\n'), waiting up to `timeout_ms`.
  std::string read_line(int timeout_ms);

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int in_fd_ = -1;
  std::string buffer_;
};

nlohmann::json bits_per_sec(double v);
nlohmann::json packets_per_sec(double v);
inline const nlohmann::json kUnlimited = {{"unlimited", true}};

}  // namespace sonda::udp::test
