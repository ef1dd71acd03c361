// Receiver-side accounting of one flow: loss, duplicates, reordering, jitter
// and one-way delay, from the sequence numbers and timestamps in the header.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "sonda_common/histogram.hpp"
#include "wire_header.hpp"

namespace sonda::udp {

/// What FlowReceiver::on_datagram() made of one datagram.
enum class SeqVerdict { kNew, kOutOfOrder, kDuplicate, kWild, kTooOld };

/// Per-flow receiver statistics. Not thread-safe: one receiver thread owns it.
///
/// Sequence numbers start at 0 on the sender. A window of the last
/// kWindowSeqs sequence numbers is remembered as a bitmap, so a duplicate is
/// told apart from a late (out-of-order) datagram exactly; a datagram older
/// than the window cannot be classified and is counted as `too_old`, not
/// trusted. A sequence number more than kWildJumpSeqs ahead of the highest
/// seen is `wild` (forged or corrupt) and ignored, so one bad datagram cannot
/// invent millions of losses.
class FlowReceiver {
 public:
  static constexpr uint64_t kWindowSeqs = uint64_t{1} << 17;
  static constexpr uint64_t kWildJumpSeqs = uint64_t{1} << 20;

  /// `interval_ns`: width of the per-interval counts kept for samples, 0 = none.
  explicit FlowReceiver(int64_t interval_ns = 0);

  /// Accounts one datagram of `payload_bytes` whose header is `h`, received
  /// at `arrival_ns` (CLOCK_MONOTONIC).
  SeqVerdict on_datagram(const WireHeader& h, uint64_t payload_bytes, int64_t arrival_ns);

  /// Unique datagrams accepted (neither duplicate, wild nor too old).
  uint64_t received() const { return received_; }
  uint64_t duplicates() const { return duplicates_; }
  uint64_t out_of_order() const { return out_of_order_; }
  uint64_t max_out_of_order_distance() const { return max_ooo_distance_; }
  uint64_t wild() const { return wild_; }
  uint64_t too_old() const { return too_old_; }
  /// RFC 3550 A.8 interarrival jitter, nanoseconds.
  double jitter_ns() const { return jitter_ns_; }
  /// CLOCK_MONOTONIC of the latest accepted datagram, 0 before the first.
  int64_t last_arrival_ns() const { return last_arrival_ns_; }
  /// Sequence numbers the receiver expected: the sender's count when known,
  /// else highest seen + 1.
  uint64_t expected(std::optional<uint64_t> sender_sent) const;
  /// expected() - received(), never negative.
  uint64_t lost(std::optional<uint64_t> sender_sent) const;

  /// The flow's figures. `sender_sent`: datagrams the sender says it sent, if
  /// known. `shared_clock`: sender and receiver read the same CLOCK_MONOTONIC
  /// (same host), so one-way delay is meaningful and reported.
  /// `wire_overhead_bytes`: L2+L3+L4 bytes per datagram added for wire rates.
  nlohmann::json to_json(std::optional<uint64_t> sender_sent, bool shared_clock,
                         uint64_t wire_overhead_bytes) const;

 private:
  bool seen(uint64_t seq) const;
  void mark(uint64_t seq);
  void advance_to(uint64_t seq);

  std::vector<uint64_t> window_bits_;
  bool any_ = false;
  uint64_t highest_ = 0;
  uint64_t received_ = 0;
  uint64_t bytes_ = 0;
  uint64_t duplicates_ = 0;
  uint64_t out_of_order_ = 0;
  uint64_t max_ooo_distance_ = 0;
  uint64_t wild_ = 0;
  uint64_t too_old_ = 0;
  int64_t first_arrival_ns_ = 0;
  int64_t last_arrival_ns_ = 0;
  // RFC 3550 A.8 state: previous accepted datagram's transit time.
  bool have_transit_ = false;
  int64_t prev_transit_ns_ = 0;
  double jitter_ns_ = 0;
  common::LatencyHistogram one_way_delay_ns_;
  // Unique datagrams and bytes per interval since the first arrival.
  struct IntervalCount {
    uint64_t packets = 0;
    uint64_t bytes = 0;
  };
  int64_t interval_ns_ = 0;
  std::vector<IntervalCount> intervals_;
  uint64_t delay_anomalies_ = 0;
};

/// {bits_per_sec, packets_per_sec} of `packets`/`bytes` over `span_ns`.
nlohmann::json rate_json(uint64_t packets, uint64_t bytes, int64_t span_ns);

}  // namespace sonda::udp
