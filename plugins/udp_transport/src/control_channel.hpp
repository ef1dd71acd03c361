// The stream's control exchange with sonda's UDP server: one JSON object per
// line over TCP, on the same port number as the UDP socket.
//
// Why TCP and not control datagrams on the data port: control datagrams would
// be counted (and dropped) by whatever measures or shapes the data port, e.g.
// an nftables rule on `udp dport P`, and a report larger than one datagram
// would need its own loss handling.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "sonda_common/net.hpp"

namespace sonda::udp {

/// One TCP control connection. Move-only; closes on destruction.
class ControlChannel {
 public:
  explicit ControlChannel(common::Fd fd) : fd_(std::move(fd)) {}

  /// Connects to `addr` (TCP) within `timeout_ns`; throws StepError naming
  /// the endpoint (kind connection_refused, timeout, ...).
  static ControlChannel connect_to(const common::SockAddr& addr, int64_t timeout_ns);

  /// Sends `msg` as one line. Throws StepError on failure.
  void send(const nlohmann::json& msg);
  /// Reads one line as JSON, waiting until `deadline_ns` (CLOCK_MONOTONIC) or
  /// `should_stop()`. Throws StepError kind "timeout" / "protocol".
  template <typename StopFn>
  nlohmann::json receive(int64_t deadline_ns, StopFn should_stop) {
    for (;;) {
      if (auto line = take_line()) {
        return parse(*line);
      }
      if (should_stop()) {
        throw_stopped();
      }
      read_some(deadline_ns);
    }
  }
  int fd() const { return fd_.get(); }

 private:
  std::optional<std::string> take_line();
  void read_some(int64_t deadline_ns);
  static nlohmann::json parse(const std::string& line);
  [[noreturn]] static void throw_stopped();

  common::Fd fd_;
  std::string buffer_;
};

}  // namespace sonda::udp
