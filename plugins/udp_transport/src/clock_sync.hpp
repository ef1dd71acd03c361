// One-way delay needs the sender's send times and the receiver's arrival
// times on one clock. Processes on one kernel share CLOCK_MONOTONIC (same
// boot_id); across kernels the client measures the server's clock offset
// over the TCP control connection before the stream, NTP-style: several
// round trips, the one with the shortest round trip kept, its half round
// trip the uncertainty (the bound that assumes nothing about the path's
// symmetry). The sending side then writes its send times in the receiver's
// clock, so the receiver's delay histogram is right to within ± that.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "sonda_common/net.hpp"

namespace sonda::udp {

/// The receiving process's clock minus CLOCK_MONOTONIC here: normally 0.
/// SONDA_UDP_TEST_CLOCK_SKEW_NS (tests only) shifts this process's wire
/// clock and its clock identity, standing in for a second kernel.
int64_t wire_clock_skew_ns();
/// The clock datagram send times and arrivals are taken on.
int64_t wire_now_ns();
/// Who shares this process's wire clock: the kernel's boot_id (plus the
/// test skew when set).
std::string clock_identity();

/// What the client learned about the server's clock.
struct ClockSync {
  enum class Basis { kShared, kCorrected, kUnavailable };
  Basis basis = Basis::kUnavailable;
  /// Server's wire clock minus ours, and how far off that may be.
  int64_t offset_ns = 0;
  int64_t uncertainty_ns = 0;
  int64_t min_rtt_ns = 0;
  int samples = 0;
  /// Why it is unavailable.
  std::string note;
  /// True when the server could not even be reached on its control port.
  bool unreachable = false;

  /// For the record: {basis: "one clock"|"corrected"|"unavailable", ...}.
  nlohmann::json to_json() const;
};

/// Asks the sonda UDP server at `target` (its TCP control port) for its
/// clock, `rounds` times unless it shares ours. Never throws: a server that
/// does not answer gives kUnavailable with the reason.
ClockSync sync_clock(const common::SockAddr& target, int64_t connect_timeout_ns, int rounds = 8);

}  // namespace sonda::udp
