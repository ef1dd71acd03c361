// Test helpers: running `ip`, a throwaway pair of network namespaces joined by
// a veth pair, and a fake host for calling actions directly.
#pragma once

#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sonda/plugin.hpp>
#include <sonda_common/net.hpp>
#include <string>
#include <vector>

namespace sonda::iface::testing {

using json = nlohmann::json;

/// Runs `command` through /bin/sh and returns its stdout. Throws
/// std::runtime_error with the command, exit status and stderr on failure.
std::string run_command(const std::string& command);

/// `ip -j <args>` parsed.
json ip_json(const std::string& args);

/// A UDP socket bound to `ip`:`port` (0: any port) in the calling thread's
/// network namespace. Throws StepError naming the call on failure.
common::Fd bound_udp_socket(const std::string& ip, uint16_t port);

/// Sends `count` datagrams of `payload_bytes` from `fd` to `to`.
void send_datagrams(int fd, const common::SockAddr& to, int count, size_t payload_bytes);

/// Reads datagrams from `fd` until `count` arrived or `timeout_ms` of
/// silence; returns how many arrived.
int receive_datagrams(int fd, int count, int timeout_ms);

/// Two namespaces "sonda-t<pid>a"/"...b" joined by veth "sv<pid>a" (in a) and
/// "sv<pid>b" (in b). Created by the constructor; destroyed (namespaces and
/// with them the veth pair) by remove(), which the destructor calls, so a
/// failing test leaves nothing behind.
class VethNamespaces {
 public:
  VethNamespaces();
  ~VethNamespaces();
  VethNamespaces(const VethNamespaces&) = delete;
  VethNamespaces& operator=(const VethNamespaces&) = delete;

  /// Deletes both namespaces; safe to call twice.
  void remove();
  /// `ip -n <ns> <args>` in namespace a or b.
  std::string ip_a(const std::string& args) const;
  std::string ip_b(const std::string& args) const;

  std::string netns_a;
  std::string netns_b;
  std::string veth_a;
  std::string veth_b;

 private:
  bool created_ = false;
};

/// A sonda_host whose callbacks record into this object: ready info,
/// samples, and a stop flag the test raises. Thread-safe like the real host.
class FakeHost {
 public:
  FakeHost();
  /// The C struct to build a sonda::Context from.
  const sonda_host* host() const { return &host_; }
  /// Asks the running action to stop.
  void stop() { __atomic_store_n(&stop_flag_, 1, __ATOMIC_RELAXED); }
  /// Blocks until ready() was called or `timeout_ms` passed; returns the info
  /// (null on timeout).
  json wait_ready(int timeout_ms);
  std::vector<json> samples() const;

 private:
  static void on_log(void* ctx, int level, const char* msg);
  static void on_ready(void* ctx, const char* info);
  static void on_sample(void* ctx, const char* sample);
  static void on_set_result(void* ctx, const char* record);
  static void on_set_error(void* ctx, const char* message);

  int stop_flag_ = 0;
  sonda_host host_{};
  mutable std::mutex mutex_;
  json ready_;
  std::vector<json> samples_;
};

}  // namespace sonda::iface::testing
