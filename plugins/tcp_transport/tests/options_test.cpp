// Parameter validation: out-of-range input fails before any socket opens,
// naming the parameter.
#include <gtest/gtest.h>

#include <sonda/plugin.hpp>

#include "options.hpp"
#include "wire.hpp"

namespace sonda::tcp {
namespace {

std::string error_of(void (*fn)(const json&), const json& p) {
  try {
    fn(p);
  } catch (const StepError& e) {
    EXPECT_EQ(e.kind(), "invalid_param");
    EXPECT_TRUE(e.details().at("error").contains("parameter")) << e.details().dump();
    return e.what();
  }
  return "";
}

void stream(const json& p) { kStreamParams.bind(p); }
void rr(const json& p) { kRrParams.bind(p); }
void server(const json& p) { kServerParams.bind(p); }

TEST(OptionsTest, StreamDefaultsAreTheDocumentedOnes) {
  const StreamOptions o = kStreamParams.bind({{"target", "127.0.0.1:1"}});
  EXPECT_EQ(o.duration_ns, 5'000'000'000);
  EXPECT_EQ(o.message_bytes, kDefaultMessageBytes);
  EXPECT_EQ(o.recv_bytes, kDefaultRecvBytes);
  // Unset: 64 KiB, or 256 KiB for a client that sends with sendfile.
  EXPECT_FALSE(kServerParams.bind(json::object()).recv_bytes.has_value());
  EXPECT_EQ(kServerParams.bind({{"recv_size", 65536}}).recv_bytes, kDefaultRecvBytes);
  EXPECT_EQ(o.tuning.send_buffer_bytes, kDefaultSocketBufferBytes);
  EXPECT_EQ(o.interval_ns, 1'000'000'000);
  EXPECT_EQ(o.timeout_ns, 5'000'000'000);
  EXPECT_FALSE(o.tuning.nodelay);
  EXPECT_FALSE(o.tuning.congestion.has_value());
  EXPECT_EQ(o.parallel, 1);
  EXPECT_FALSE(o.recv_trunc);
  EXPECT_TRUE(o.handshake);
}

TEST(OptionsTest, RejectsOutOfRangeNamingTheParameter) {
  EXPECT_EQ(error_of(&stream, {{"target", "h:1"}, {"parallel", 0}}), "parameter 'parallel': 0 is out of range; expected 1 to 128");
  EXPECT_EQ(error_of(&stream, {}), "parameter 'target': is required");
  EXPECT_EQ(error_of(&stream, {{"target", "h:1"}, {"reverse", true}, {"bidir", true}}),
            "parameter 'bidir': cannot be combined with reverse (bidir already runs both directions)");
  EXPECT_EQ(error_of(&stream, {{"target", "h:1"}, {"mss", 40}}), "parameter 'mss': 40 below the kernel minimum of 88 bytes");
  EXPECT_EQ(error_of(&rr, {{"target", "h:1"}, {"size", 0}}), "parameter 'size': 0 is out of range; expected 1 to 67108864");
  EXPECT_EQ(error_of(&rr, {{"target", "h:1"}, {"warmup", 2'000'000'000}, {"duration", 1'000'000'000}}),
            "parameter 'warmup': must be shorter than duration");
  EXPECT_EQ(error_of(&rr, {{"target", "h:1"}, {"verify", true}, {"response_size", 10}}),
            "parameter 'verify': needs an echo: response_size must equal size");
  EXPECT_EQ(error_of(&rr, {{"target", "h:1"}, {"rate", {{"bits_per_sec", 1000}}}}),
            "parameter 'rate': give transactions per second (e.g. 10kpps), not bits per second");
  EXPECT_EQ(error_of(&server, {{"mode", "discard"}}), "parameter 'mode': 'discard' is not one of sink|source|echo");
  EXPECT_EQ(error_of(&server, {{"congestion", "a-name-longer-than-15"}}),
            "parameter 'congestion': name longer than 15 characters (TCP_CA_NAME_MAX)");
  EXPECT_EQ(error_of(&stream, {{"target", "h:1"}, {"duration", "5s"}}),
            "parameter 'duration': expected an integer, got \"5s\"");
}

TEST(OptionsTest, RrKeepsKernelBuffersAndNodelayUnlessTold) {
  const RrOptions o = kRrParams.bind({{"target", "h:1"}, {"rate", {{"packets_per_sec", 500}}}});
  EXPECT_FALSE(o.tuning.send_buffer_bytes.has_value());  // no default: kernel autotuning
  EXPECT_TRUE(o.tuning.nodelay);
  EXPECT_DOUBLE_EQ(o.rate_per_sec(), 500);
  EXPECT_EQ(o.outstanding, 1);
  EXPECT_EQ(kCrrParams.bind({{"target", "h:1"}}).outstanding, 1);
}

TEST(WireTest, HelloAndReportRoundTrip) {
  wire::Hello h{wire::Op::kRr, 7, 64, 1024, wire::kFlagRecvTrunc};
  wire::Hello back;
  ASSERT_TRUE(wire::decode(wire::encode(h).data(), back));
  EXPECT_EQ(back.op, wire::Op::kRr);
  EXPECT_EQ(back.response_bytes, 1024U);
  EXPECT_EQ(back.flags, wire::kFlagRecvTrunc);
  wire::Report r{true, 3, 123456789, 1ULL << 40, 42};
  wire::Report rb;
  ASSERT_TRUE(wire::decode(wire::encode(r).data(), rb));
  EXPECT_TRUE(rb.final);
  EXPECT_EQ(rb.bytes, 1ULL << 40);
  auto bad = wire::encode(h);
  bad[0] = 'X';
  EXPECT_FALSE(wire::decode(bad.data(), back));
}

}  // namespace
}  // namespace sonda::tcp
