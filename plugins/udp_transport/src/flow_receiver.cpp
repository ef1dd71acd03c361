#include "flow_receiver.hpp"

#include "clock_sync.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace sonda::udp {
namespace {

// One-way delays outside [0, 60 s] on a shared clock mean a forged or corrupt
// timestamp; they are counted, not recorded.
constexpr int64_t kMaxPlausibleDelayNs = 60'000'000'000;

}  // namespace

// Per-interval counts stop growing past this many intervals (a day at 1 s).
constexpr size_t kMaxIntervals = 86400;

FlowReceiver::FlowReceiver(int64_t interval_ns)
    : window_bits_(kWindowSeqs / 64, 0), interval_ns_(interval_ns) {}

bool FlowReceiver::seen(uint64_t seq) const {
  const uint64_t i = seq % kWindowSeqs;
  return (window_bits_[i / 64] >> (i % 64)) & 1u;
}

void FlowReceiver::mark(uint64_t seq) {
  const uint64_t i = seq % kWindowSeqs;
  window_bits_[i / 64] |= uint64_t{1} << (i % 64);
}

void FlowReceiver::advance_to(uint64_t seq) {
  // Slots between the old highest and `seq` now stand for new sequence
  // numbers: clear them (all of them when the jump spans the whole window).
  const uint64_t from = any_ ? highest_ + 1 : 0;
  if (seq - from >= kWindowSeqs) {
    std::fill(window_bits_.begin(), window_bits_.end(), 0);
  } else {
    for (uint64_t s = from; s < seq; ++s) {
      const uint64_t i = s % kWindowSeqs;
      window_bits_[i / 64] &= ~(uint64_t{1} << (i % 64));
    }
  }
  const uint64_t i = seq % kWindowSeqs;
  window_bits_[i / 64] &= ~(uint64_t{1} << (i % 64));
  highest_ = seq;
  any_ = true;
}

SeqVerdict FlowReceiver::on_datagram(const WireHeader& h, uint64_t payload_bytes,
                                     int64_t arrival_ns) {
  const uint64_t seq = h.seq;
  const uint64_t base = any_ ? highest_ : 0;
  SeqVerdict verdict;
  if (!any_ || seq > highest_) {
    if (seq - base > kWildJumpSeqs) {
      ++wild_;
      return SeqVerdict::kWild;
    }
    advance_to(seq);
    verdict = SeqVerdict::kNew;
  } else if (highest_ - seq >= kWindowSeqs) {
    ++too_old_;
    return SeqVerdict::kTooOld;
  } else if (seen(seq)) {
    ++duplicates_;
    return SeqVerdict::kDuplicate;
  } else {
    ++out_of_order_;
    max_ooo_distance_ = std::max(max_ooo_distance_, highest_ - seq);
    verdict = SeqVerdict::kOutOfOrder;
  }
  mark(seq);
  ++received_;
  bytes_ += payload_bytes;
  if (received_ == 1) {
    first_arrival_ns_ = arrival_ns;
  }
  last_arrival_ns_ = std::max(last_arrival_ns_, arrival_ns);
  if (interval_ns_ > 0 && arrival_ns >= first_arrival_ns_) {
    const auto idx = static_cast<size_t>((arrival_ns - first_arrival_ns_) / interval_ns_);
    if (idx < kMaxIntervals) {
      if (idx >= intervals_.size()) {
        intervals_.resize(idx + 1);
      }
      intervals_[idx].packets += 1;
      intervals_[idx].bytes += payload_bytes;
    }
  }

  // RFC 3550 A.8: J += (|D(i-1,i)| - J) / 16, in arrival order. The transit
  // difference cancels any constant clock offset, so it holds across hosts.
  // The send time is untrusted: subtract with defined wrap-around, and take
  // the difference of transits in double so a forged value cannot overflow.
  const auto transit = static_cast<int64_t>(static_cast<uint64_t>(arrival_ns + wire_clock_skew_ns()) -
                                            static_cast<uint64_t>(h.send_ns));
  if (have_transit_) {
    const double d = std::fabs(static_cast<double>(transit) - static_cast<double>(prev_transit_ns_));
    jitter_ns_ += (d - jitter_ns_) / 16.0;
  }
  prev_transit_ns_ = transit;
  have_transit_ = true;
  if (transit >= 0 && transit <= kMaxPlausibleDelayNs) {
    one_way_delay_ns_.record(static_cast<uint64_t>(transit));
  } else {
    ++delay_anomalies_;
  }
  return verdict;
}

uint64_t FlowReceiver::expected(std::optional<uint64_t> sender_sent) const {
  if (sender_sent) {
    return *sender_sent;
  }
  return any_ ? highest_ + 1 : 0;
}

uint64_t FlowReceiver::lost(std::optional<uint64_t> sender_sent) const {
  const uint64_t exp = expected(sender_sent);
  return exp > received_ ? exp - received_ : 0;
}

nlohmann::json rate_json(uint64_t packets, uint64_t bytes, int64_t span_ns) {
  if (span_ns <= 0) {
    return {{"bits_per_sec", 0.0}, {"packets_per_sec", 0.0}};
  }
  const double secs = static_cast<double>(span_ns) / 1e9;
  return {{"bits_per_sec", static_cast<double>(bytes) * 8.0 / secs},
          {"packets_per_sec", static_cast<double>(packets) / secs}};
}

nlohmann::json FlowReceiver::to_json(std::optional<uint64_t> sender_sent, bool shared_clock,
                                     uint64_t wire_overhead_bytes) const {
  const uint64_t exp = expected(sender_sent);
  const uint64_t lost_count = lost(sender_sent);
  // Rates over first..last arrival: n datagrams span n-1 gaps, so count the
  // first datagram out to avoid inflating short runs.
  const int64_t span = last_arrival_ns_ - first_arrival_ns_;
  const uint64_t paced_packets = received_ > 0 ? received_ - 1 : 0;
  const uint64_t avg_bytes = received_ > 0 ? bytes_ / received_ : 0;
  nlohmann::json rate = rate_json(paced_packets, paced_packets * avg_bytes, span);
  nlohmann::json wire = rate_json(paced_packets, paced_packets * (avg_bytes + wire_overhead_bytes), span);
  nlohmann::json j = {
      {"received", received_},
      {"received_bytes", bytes_},
      {"expected", exp},
      {"expected_from", sender_sent ? "sender_count" : "highest_seq"},
      {"lost", lost_count},
      {"loss_ratio", exp > 0 ? static_cast<double>(lost_count) / static_cast<double>(exp) : 0.0},
      {"duplicates", duplicates_},
      {"out_of_order", {{"count", out_of_order_}, {"max_distance", max_ooo_distance_}}},
      {"malformed", {{"wild_seq", wild_}, {"too_old", too_old_}}},
      {"jitter_ns", jitter_ns_},
      {"receive_span_ns", span},
      {"bits_per_sec", rate["bits_per_sec"]},
      {"packets_per_sec", rate["packets_per_sec"]},
      {"wire_bits_per_sec", wire["bits_per_sec"]},
  };
  if (interval_ns_ > 0) {
    nlohmann::json iv = nlohmann::json::array();
    for (size_t i = 0; i < intervals_.size(); ++i) {
      nlohmann::json s = {{"offset_ns", static_cast<int64_t>(i) * interval_ns_},
                          {"interval_ns", interval_ns_},
                          {"packets", intervals_[i].packets},
                          {"bytes", intervals_[i].bytes}};
      s.update(rate_json(intervals_[i].packets, intervals_[i].bytes, interval_ns_));
      iv.push_back(std::move(s));
    }
    j["intervals"] = std::move(iv);
  }
  if (shared_clock) {
    j["one_way_delay"] = one_way_delay_ns_.summary("_ns");
    j["one_way_delay"]["anomalies"] = delay_anomalies_;
  }
  return j;
}

}  // namespace sonda::udp
