// Truth test on a shaped link: two network namespaces of the test's own,
// joined by a veth pair, the sender's side shaped by tbf at 100 Mbit/s. The
// stream must report the shaped rate, and its byte count must agree with the
// server's own count and with the veth's interface counters.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <thread>

#include "support/netns.hpp"
#include "test_support.hpp"

namespace sonda::tcp {
namespace {

using sonda::testing::check_command;

/// Namespaces "a" (client, 10.77.0.1) and "b" (server, 10.77.0.2) joined by
/// veth, the client's end shaped by tbf at 100 Mbit/s. No IPv6 and static
/// neighbours: only the test's TCP flow may move the link's counters.
class ShapedLink : public sonda::testing::VethPair {
 public:
  ShapedLink() : VethPair("tc") {
    for (const std::string& ns : {ns_a, ns_b}) {
      // No IPv6 (router solicitations, DAD) on the link.
      check_command("ip netns exec " + ns + " sysctl -qw net.ipv6.conf.all.disable_ipv6=1");
    }
    configure("10.77.0.1/24", "10.77.0.2/24");
    // Static neighbours: no ARP packets on the link either.
    check_command("ip -n " + ns_a + " neigh replace " + ip_b + " lladdr " + mac(ns_b, dev_b) + " dev " + dev_a +
                  " nud permanent");
    check_command("ip -n " + ns_b + " neigh replace " + ip_a + " lladdr " + mac(ns_a, dev_a) + " dev " + dev_b +
                  " nud permanent");
    // burst: tc-tbf(8) asks for at least rate/HZ (50 KB at 100 Mbit/s and
    // HZ=250). With 4 KB (32kbit) every late qdisc timer wasted tokens, and on
    // a busy VM the stream then measured 75-92 Mbit/s. 64 KB is 5 ms of
    // tokens: at most 0.2% more than the rate over the 3 s stream.
    check_command("tc -n " + ns_a + " qdisc add dev " + dev_a + " root tbf rate 100mbit burst 512kbit latency 50ms");
  }

  /// rx {bytes, packets} of the server's veth end.
  std::pair<uint64_t, uint64_t> server_rx() const {
    const json j = json::parse(check_command("ip -n " + ns_b + " -j -s link show dev " + dev_b));
    const json& rx = j.at(0).at("stats64").at("rx");
    return {rx.at("bytes").get<uint64_t>(), rx.at("packets").get<uint64_t>()};
  }

 private:
  static std::string mac(const std::string& ns, const std::string& dev) {
    return json::parse(check_command("ip -n " + ns + " -j link show dev " + dev)).at(0).at("address").get<std::string>();
  }
};

class NetnsShapingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) {
      FAIL() << "cannot run: " << "needs root to create network namespaces";
    }
    veth_ = std::make_unique<ShapedLink>();
  }
  void TearDown() override { veth_.reset(); }
  std::unique_ptr<ShapedLink> veth_;
};

TEST_F(NetnsShapingTest, StreamReportsShapedRateAndCountsAgree) {
  test::ServerThread server(test::plugin(), "server", json{{"listen", veth_->ip_b + ":0"}, {"mode", "sink"}}, veth_->ns_b);
  const auto [rx_bytes0, rx_packets0] = veth_->server_rx();
  json record;
  std::exception_ptr error;
  std::thread client([&] {
    try {
      sonda::testing::NetnsGuard in_client(veth_->ns_a);
      // The shaper must stay backlogged for its capacity to be the truth:
      // cubic keeps a standing queue (bbr's probing cycles, this host's
      // default, leave the link idle ~2 % of the time), and a 4 MiB send
      // buffer keeps feeding it until the receiver's last byte, so the
      // slow-start ramp is a small share of the first-byte-to-EOF window.
      record = test::run_action("stream", {{"target", server.ready()["listen"]},
                                              {"duration", 3'000'000'000},
                                              {"congestion", "cubic"},
                                              {"sndbuf", 4 << 20}});
    } catch (...) {
      error = std::current_exception();
    }
  });
  client.join();
  if (error) {
    std::rethrow_exception(error);
  }
  const json served = server.stop();
  const auto [rx_bytes1, rx_packets1] = veth_->server_rx();

  // Rate: tbf meters whole frames (skb->len incl. the 14-byte Ethernet
  // header). Each full segment carries 1448 payload bytes in a 1514-byte
  // frame (14 Ethernet + 20 IPv4 + 20 TCP + 12 timestamp option), so the
  // best possible goodput is 100 Mbit/s * 1448/1514 = 95.64 Mbit/s. The
  // stream's figure is receiver-measured (server report, first byte to EOF).
  const double expected_bps = 100e6 * 1448.0 / 1514.0;
  const double bps = record["bits_per_sec"].get<double>();
  std::printf("shaped stream: %s (expected %.2f Mbit/s)\n", record["summary"].get<std::string>().c_str(),
              expected_bps / 1e6);
  EXPECT_NEAR(bps, expected_bps, expected_bps * 0.03) << record["summary"];

  // Bytes: the stream's receiver count is the server's own count.
  const uint64_t payload = record["bytes"].get<uint64_t>();
  EXPECT_EQ(payload, served["bytes_in"].get<uint64_t>());

  // Interface counters: every frame received on the server's veth has one
  // 66-byte header (Ethernet 14 + IPv4 20 + TCP 20 + 12 option bytes of
  // timestamps; with GSO one header per super-frame, which is what the
  // counter sees), except the SYN, whose options take 20 bytes (8 more).
  // No ARP or IPv6 traffic was allowed on the link. So the TCP payload that
  // crossed the link is rx_bytes - 66 * rx_packets - 8, and it must be the
  // 32-byte sonda hello plus the stream. Retransmissions add nothing here:
  // tbf drops on the sender's side, before the wire, so a retransmitted
  // segment is the first copy the link carries.
  std::printf("server veth: %llu rx bytes in %llu frames -> %lld payload bytes; stream %llu + 32 hello\n",
              static_cast<unsigned long long>(rx_bytes1 - rx_bytes0), static_cast<unsigned long long>(rx_packets1 - rx_packets0),
              static_cast<long long>(static_cast<int64_t>(rx_bytes1 - rx_bytes0) - 66 * static_cast<int64_t>(rx_packets1 - rx_packets0) - 8),
              static_cast<unsigned long long>(record["bytes"].get<uint64_t>()));
  const uint64_t frames = rx_packets1 - rx_packets0;
  const int64_t link_payload = static_cast<int64_t>(rx_bytes1 - rx_bytes0) - 66 * static_cast<int64_t>(frames) - 8;
  EXPECT_EQ(link_payload, static_cast<int64_t>(payload + 32))
      << "rx bytes " << rx_bytes1 - rx_bytes0 << " in " << frames << " frames; " << record.dump();
}

}  // namespace
}  // namespace sonda::tcp
