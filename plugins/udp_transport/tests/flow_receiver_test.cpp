#include "flow_receiver.hpp"

#include <gtest/gtest.h>

namespace sonda::udp {
namespace {

SeqVerdict feed(FlowReceiver& f, uint64_t seq, int64_t send_ns, int64_t arrival_ns) {
  return f.on_datagram({0, seq, send_ns}, 100, arrival_ns);
}

TEST(FlowReceiver, TellsDuplicatesApartFromReordering) {
  FlowReceiver f;
  EXPECT_EQ(feed(f, 0, 0, 10), SeqVerdict::kNew);
  EXPECT_EQ(feed(f, 2, 0, 20), SeqVerdict::kNew);
  EXPECT_EQ(feed(f, 1, 0, 30), SeqVerdict::kOutOfOrder);
  EXPECT_EQ(feed(f, 1, 0, 40), SeqVerdict::kDuplicate);
  EXPECT_EQ(feed(f, 2, 0, 50), SeqVerdict::kDuplicate);
  EXPECT_EQ(feed(f, 7, 0, 60), SeqVerdict::kNew);
  EXPECT_EQ(feed(f, 3, 0, 70), SeqVerdict::kOutOfOrder);
  EXPECT_EQ(f.received(), 5u);
  EXPECT_EQ(f.duplicates(), 2u);
  EXPECT_EQ(f.out_of_order(), 2u);
  EXPECT_EQ(f.max_out_of_order_distance(), 4u);
  EXPECT_EQ(f.lost(std::nullopt), 3u);  // 4, 5, 6
  EXPECT_EQ(f.lost(10), 5u);            // the sender says 10 went out
}

TEST(FlowReceiver, WildSequenceNumbersInventNoLoss) {
  FlowReceiver f;
  feed(f, 0, 0, 1);
  feed(f, 1, 0, 2);
  EXPECT_EQ(feed(f, uint64_t{1} << 62, 0, 3), SeqVerdict::kWild);
  EXPECT_EQ(feed(f, 1 + FlowReceiver::kWildJumpSeqs + 1, 0, 4), SeqVerdict::kWild);
  EXPECT_EQ(feed(f, 2, 0, 5), SeqVerdict::kNew);
  EXPECT_EQ(f.wild(), 2u);
  EXPECT_EQ(f.lost(std::nullopt), 0u);
  EXPECT_EQ(f.received(), 3u);
}

TEST(FlowReceiver, FirstDatagramWithAWildSeqIsRejected) {
  FlowReceiver f;
  EXPECT_EQ(feed(f, ~uint64_t{0}, 0, 1), SeqVerdict::kWild);
  EXPECT_EQ(f.expected(std::nullopt), 0u);
}

TEST(FlowReceiver, DatagramsOlderThanTheWindowAreNotTrusted) {
  FlowReceiver f;
  feed(f, 0, 0, 1);
  feed(f, FlowReceiver::kWindowSeqs + 5, 0, 2);
  EXPECT_EQ(feed(f, 0, 0, 3), SeqVerdict::kTooOld);
  EXPECT_EQ(feed(f, 4, 0, 3), SeqVerdict::kTooOld);
  EXPECT_EQ(feed(f, 6, 0, 3), SeqVerdict::kOutOfOrder);
  EXPECT_EQ(f.too_old(), 2u);
  EXPECT_EQ(f.duplicates(), 0u);
}

TEST(FlowReceiver, DuplicateDetectionSurvivesWindowWrap) {
  FlowReceiver f;
  const uint64_t n = FlowReceiver::kWindowSeqs * 3 + 17;
  for (uint64_t s = 0; s < n; ++s) {
    ASSERT_EQ(feed(f, s, 0, static_cast<int64_t>(s)), SeqVerdict::kNew);
  }
  EXPECT_EQ(feed(f, n - 1, 0, 0), SeqVerdict::kDuplicate);
  EXPECT_EQ(feed(f, n - FlowReceiver::kWindowSeqs + 1, 0, 0), SeqVerdict::kDuplicate);
  EXPECT_EQ(f.lost(std::nullopt), 0u);
}

TEST(FlowReceiver, JitterFollowsRfc3550) {
  FlowReceiver f;
  // Sent every 1000 ns; transit alternates 100 / 300 ns, so |D| = 200 each
  // time after the first: J_n = J_{n-1} + (200 - J_{n-1}) / 16.
  double expected = 0;
  for (int i = 0; i < 50; ++i) {
    const int64_t send = i * 1000;
    feed(f, static_cast<uint64_t>(i), send, send + (i % 2 == 0 ? 100 : 300));
    if (i > 0) {
      expected += (200.0 - expected) / 16.0;
    }
  }
  EXPECT_NEAR(f.jitter_ns(), expected, 1e-9);
}

TEST(FlowReceiver, ReportsOneWayDelayOnlyOnASharedClock) {
  FlowReceiver f;
  feed(f, 0, 1000, 1500);
  feed(f, 1, 2000, 2700);
  const auto shared = f.to_json(2, true, 42);
  EXPECT_EQ(shared["one_way_delay"]["count"], 2);
  EXPECT_EQ(shared["one_way_delay"]["min_ns"], 500);
  EXPECT_FALSE(f.to_json(2, false, 42).contains("one_way_delay"));
  EXPECT_EQ(shared["lost"], 0);
  EXPECT_EQ(shared["expected_from"], "sender_count");
}

}  // namespace
}  // namespace sonda::udp
