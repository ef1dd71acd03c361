// The target send rate of a stream: the bound `rate` parameter (sonda::Rate)
// with the arithmetic the senders need.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <sonda/plugin.hpp>

namespace sonda::udp {

/// A rate as abi.h encodes it: {"bits_per_sec":N} | {"packets_per_sec":N} |
/// {"unlimited":true}. Bits count the UDP payload (as iperf3 does).
struct RateSpec {
  bool unlimited = true;
  double bits_per_sec = 0;
  double packets_per_sec = 0;

  /// Throws StepError kind "invalid_param" naming `rate` when a limited
  /// rate is not positive.
  static RateSpec from(const Rate& rate);
  /// Nanoseconds between datagrams of `payload_bytes` at this rate shared by
  /// `flows` flows; 0 when unlimited.
  double interval_ns(uint64_t payload_bytes, unsigned flows) const;
  /// Datagrams per second for one of `flows` flows; 0 when unlimited.
  double flow_packets_per_sec(uint64_t payload_bytes, unsigned flows) const;
  nlohmann::json to_json() const;
};

}  // namespace sonda::udp
