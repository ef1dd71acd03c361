// The sending half of a stream: paced (or unlimited) datagrams on one
// connected socket, batched with sendmmsg and optionally UDP GSO.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "rate_spec.hpp"

namespace sonda::udp {

/// What one flow's sender is asked to do.
struct SendPlan {
  uint32_t flow_id = 0;
  uint64_t payload_bytes = 64;
  /// Nanoseconds between datagram slots; 0 = unlimited (as fast as possible).
  double interval_ns = 0;
  /// Stop after this long (0 = no limit) ...
  int64_t duration_ns = 0;
  /// ... or after this many datagrams (0 = no limit).
  uint64_t count = 0;
  /// Batch several datagrams per sendmsg with UDP_SEGMENT.
  bool gso = false;
  /// A slot later than this is abandoned rather than sent in a catch-up burst.
  int64_t max_lag_ns = 1'000'000;
  /// Added to the send times written into datagrams: the receiver's clock
  /// minus ours, so that they are in the receiver's clock (clock_sync.hpp).
  int64_t clock_offset_ns = 0;
};

/// What one flow's sender did.
struct SendResult {
  uint32_t flow_id = 0;
  uint64_t sent = 0;
  uint64_t sent_bytes = 0;
  int64_t start_ns = 0;
  /// End of the send window: loop exit, or the last slot's end in count mode.
  int64_t end_ns = 0;
  /// Paced slots given up because the sender fell more than max_lag behind.
  uint64_t skipped_slots = 0;
  uint64_t send_errors = 0;
  std::string first_error;
  bool gso_used = false;
  double target_packets_per_sec = 0;

  /// {sent, sent_bytes, duration_ns, bits_per_sec, packets_per_sec, ...}.
  nlohmann::json to_json() const;
  static SendResult from_json(const nlohmann::json& j);
};

/// Sends per `plan` on `fd`, which must be connected to the receiver. Returns
/// when done or when `should_stop()` turns true. Sequence numbers start at 0
/// and count datagrams actually handed to the kernel, so a skipped slot is
/// not a loss. Send errors (e.g. ECONNREFUSED from an ICMP) are counted and
/// the stream goes on.
SendResult run_sender(int fd, const SendPlan& plan, const std::function<bool()>& should_stop);

/// Sums flows into one record with the target and whether it was held: the
/// achieved packet rate is within 1 % of the target (always true when
/// unlimited); otherwise shortfall_pct says by how much it fell short.
nlohmann::json sender_totals(const std::vector<SendResult>& flows, const RateSpec& rate,
                             uint64_t payload_bytes);

}  // namespace sonda::udp
