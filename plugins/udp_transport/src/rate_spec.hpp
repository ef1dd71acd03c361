// The target send rate of a stream, decoded from the host's normalised JSON.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>

namespace sonda::udp {

/// A rate as abi.h encodes it: {"bits_per_sec":N} | {"packets_per_sec":N} |
/// {"unlimited":true}. Bits count the UDP payload (as iperf3 does).
struct RateSpec {
  bool unlimited = true;
  double bits_per_sec = 0;
  double packets_per_sec = 0;

  /// Throws StepError kind "invalid_param" naming the parameter on bad input.
  static RateSpec from_json(const nlohmann::json& j);
  /// Nanoseconds between datagrams of `payload_bytes` at this rate shared by
  /// `flows` flows; 0 when unlimited.
  double interval_ns(uint64_t payload_bytes, unsigned flows) const;
  /// Datagrams per second for one of `flows` flows; 0 when unlimited.
  double flow_packets_per_sec(uint64_t payload_bytes, unsigned flows) const;
  nlohmann::json to_json() const;
};

}  // namespace sonda::udp
