// Truth tests on a real link: two network namespaces joined by veth, made
// and removed by the test. An nftables rule drops a random 5 % and counts
// what it dropped; a tbf qdisc shapes the link to 50 Mbit.
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "support/netns.hpp"
#include "test_support.hpp"

namespace sonda::udp {
namespace {

using nlohmann::json;
using sonda::testing::run_command;

class UdpNetnsTruth : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) {
      FAIL() << "cannot run: " << "needs root for network namespaces";
    }
    try {
      link_ = std::make_unique<sonda::testing::VethPair>("su");
      link_->configure("10.78.0.1/24", "10.78.0.2/24");
    } catch (const std::exception& e) {
      FAIL() << "cannot run: " << "cannot build namespaces: " << e.what();
    }
  }
  // Namespaces (and with them the veth, qdisc and nft table) go even when an
  // assertion failed.
  void TearDown() override { link_.reset(); }

  json stream_to(uint16_t port, json params) {
    params["target"] = link_->ip_b + ":" + std::to_string(port);
    return test::run_in_netns(link_->ns_a, "stream", params);
  }

  std::unique_ptr<sonda::testing::VethPair> link_;
};

TEST_F(UdpNetnsTruth, LossEqualsTheNftablesDropCounterExactly) {
  test::ServerThread server(json{{"listen", link_->ip_b + ":0"}}, link_->ns_b);
  const std::string table = "sondatest" + std::to_string(::getpid());
  const std::string nft = "ip netns exec " + link_->ns_b + " nft ";
  ASSERT_EQ(run_command(nft + "add table inet " + table).exit_code, 0);
  ASSERT_EQ(run_command(nft + "'add chain inet " + table + " input { type filter hook input priority 0; }'").exit_code, 0);
  const auto rule = run_command(nft + "add rule inet " + table + " input udp dport " + std::to_string(server.port()) +
                            " numgen random mod 100 '<' 5 counter drop");
  ASSERT_EQ(rule.exit_code, 0) << rule.err;

  // GSO is off towards a non-loopback target (gso=auto), so the rule sees
  // each datagram as its own packet.
  const json rec = stream_to(server.port(), {{"size", 200}, {"rate", test::packets_per_sec(20000)},
                                             {"count", 20000}, {"duration", 0}});
  const auto listing = run_command(nft + "list chain inet " + table + " input");
  // <regex> is avoided: g++ 12 flags it (maybe-uninitialized) under ASan + -Werror.
  const std::string marker = "counter packets ";
  const auto at = listing.out.find(marker);
  ASSERT_NE(at, std::string::npos) << listing.out;
  const uint64_t dropped = std::stoull(listing.out.substr(at + marker.size()));

  ASSERT_TRUE(rec["receiver"].is_object()) << rec.dump();
  const uint64_t sent = rec["sender"]["sent"];
  EXPECT_EQ(sent, 20000u);
  EXPECT_FALSE(rec["sender"]["gso"].get<bool>());
  EXPECT_EQ(rec["receiver"]["lost"].get<uint64_t>(), dropped);
  EXPECT_EQ(rec["receiver"]["received"].get<uint64_t>() + rec["receiver"]["lost"].get<uint64_t>(), sent);
  EXPECT_GT(dropped, 500u);   // 5 % of 20000 is 1000; the rule must have bitten
  EXPECT_LT(dropped, 1600u);
  EXPECT_EQ(rec["receiver"]["duplicates"], 0);
}

TEST_F(UdpNetnsTruth, TbfShapedLinkLosesNothingBelowAndCapsAbove) {
  const auto tbf = run_command("tc -n " + link_->ns_a + " qdisc add dev " + link_->dev_a +
                           " root tbf rate 50mbit burst 32kb latency 50ms");
  ASSERT_EQ(tbf.exit_code, 0) << tbf.err;
  test::ServerThread server(json{{"listen", link_->ip_b + ":0"}}, link_->ns_b);

  // 40 Mbit of 1400 B payload is 41.2 Mbit on the wire (Ethernet 14 + IPv4
  // 20 + UDP 8 per datagram, which is what tbf counts): under 50, no loss.
  const json below = stream_to(server.port(), {{"size", 1400}, {"rate", test::bits_per_sec(40e6)},
                                               {"duration", 1'500'000'000}});
  ASSERT_TRUE(below["receiver"].is_object()) << below.dump();
  EXPECT_EQ(below["receiver"]["lost"], 0) << below["summary"];
  EXPECT_EQ(below["receiver"]["received"], below["sender"]["sent"]);

  const json above = stream_to(server.port(), {{"size", 1400}, {"rate", test::bits_per_sec(80e6)},
                                               {"duration", 2'000'000'000}});
  ASSERT_TRUE(above["receiver"].is_object()) << above.dump();
  const double wire_bps = above["receiver"]["wire_bits_per_sec"];
  EXPECT_NEAR(wire_bps, 50e6, 0.03 * 50e6) << above["summary"];
  EXPECT_GT(above["receiver"]["lost"].get<uint64_t>(), 0u);
  EXPECT_EQ(above["receiver"]["received"].get<uint64_t>() + above["receiver"]["lost"].get<uint64_t>(),
            above["sender"]["sent"].get<uint64_t>());
}

}  // namespace
}  // namespace sonda::udp
