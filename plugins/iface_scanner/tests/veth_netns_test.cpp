// Scans and counter watches inside network namespaces the test makes: a veth
// pair with known MACs, addresses and MTU 1400 between two namespaces, and
// real UDP traffic across it. Only addresses inside these namespaces (and
// 127.0.0.1) are ever sent to.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <chrono>
#include <memory>
#include <thread>

#include "actions.hpp"
#include "netns.hpp"
#include "test_support.hpp"

namespace sonda::iface {
namespace {

using testing::ip_json;

constexpr const char* kMacA = "02:5d:00:00:00:0a";
constexpr const char* kMacB = "02:5d:00:00:00:0b";
constexpr const char* kIpv4A = "198.51.100.1";
constexpr const char* kIpv4B = "198.51.100.2";
constexpr const char* kIpv6A = "2001:db8:5d::1";
constexpr const char* kIpv6B = "2001:db8:5d::2";

class VethNamespaceTest : public ::testing::Test {
 protected:
  void SetUp() override { ns_ = std::make_unique<testing::VethPair>("if"); }

  void TearDown() override {
    if (!ns_) {
      return;  // SetUp failed, saying why
    }
    const std::string a = ns_->ns_a;
    ns_->remove();
    const std::string list = testing::check_command("ip netns list");
    EXPECT_EQ(list.find(a), std::string::npos) << "namespace left behind: " << list;
  }

  /// MTU 1400, fixed MACs, IPv4 (+IPv6 when asked) on both ends, up. No
  /// link-local address, router solicitation or DAD, so the links stay
  /// silent unless the test sends something.
  void configure(bool with_ipv6) {
    struct Side {
      std::string ns, dev, mac, ipv4, ipv6;
    };
    for (const Side& s : {Side{ns_->ns_a, ns_->dev_a, kMacA, kIpv4A, kIpv6A},
                          Side{ns_->ns_b, ns_->dev_b, kMacB, kIpv4B, kIpv6B}}) {
      const std::string conf = "net.ipv6.conf." + s.dev + ".";
      testing::check_command("ip netns exec " + s.ns + " sysctl -qw " + conf + "addr_gen_mode=1 " +
                           conf + "router_solicitations=0 " + conf + "accept_dad=0");
      testing::check_command("ip -n " + s.ns + " link set " + s.dev + " address " + s.mac +
                           " mtu 1400");
      testing::check_command("ip -n " + s.ns + " addr add " + s.ipv4 + "/24 brd + dev " + s.dev);
      if (with_ipv6) {
        testing::check_command("ip -n " + s.ns + " addr add " + s.ipv6 + "/64 dev " + s.dev +
                             " nodad");
      }
      testing::check_command("ip -n " + s.ns + " link set " + s.dev + " up");
    }
    // Carrier changes reach operstate through the kernel's linkwatch work,
    // which may lag a little behind `link set up`.
    for (int i = 0; i < 100 && operstate_a() != "UP"; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_EQ(operstate_a(), "UP");
  }

  std::string operstate_a() const {
    return json::parse(testing::check_command("ip -n " + ns_->ns_a + " -j link show " + ns_->dev_a))[0].at("operstate");
  }

  json link_stats(const std::string& ns, const std::string& dev) const {
    return ip_json("-n " + ns + " -s link show " + dev)[0].at("stats64");
  }

  /// Waits until the veth counters stop moving, so the ip readings around
  /// the watch see only the test's own traffic.
  void wait_until_quiet() const {
    json last = link_stats(ns_->ns_a, ns_->dev_a);
    for (int i = 0; i < 20; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      json now = link_stats(ns_->ns_a, ns_->dev_a);
      if (now == last) {
        return;
      }
      last = std::move(now);
    }
    FAIL() << "veth counters never settled";
  }

  std::unique_ptr<testing::VethPair> ns_;
};

const json& find_interface(const json& record, const std::string& name) {
  for (const json& iface : record.at("interfaces")) {
    if (iface.at("name") == name) {
      return iface;
    }
  }
  throw std::runtime_error("no interface " + name + " in " + record.at("summary").dump());
}

TEST_F(VethNamespaceTest, ScanInsideNamespaceReportsExactlyTheConfiguration) {
  configure(/*with_ipv6=*/true);
  testing::FakeHost host;
  Context ctx(host.host());
  const json a = scan_action({{"include_down", true}, {"netns", ns_->ns_a}}, ctx);
  const json b = scan_action({{"include_down", true}, {"netns", ns_->ns_b}}, ctx);

  EXPECT_EQ(a.at("netns"), ns_->ns_a);
  ASSERT_EQ(a.at("count"), 2) << a.at("summary");
  EXPECT_EQ(a.at("summary"), "2 interfaces, 1 up; lo DOWN; " + ns_->dev_a + " " + kIpv4A +
                                 "/24 " + kIpv6A + "/64");
  const json& lo = find_interface(a, "lo");
  EXPECT_EQ(lo.at("ifindex"), 1);
  EXPECT_EQ(lo.at("operstate"), "DOWN");
  EXPECT_EQ(lo.at("link_type"), "loopback");

  const json& veth = find_interface(a, ns_->dev_a);
  const json& peer = find_interface(b, ns_->dev_b);
  EXPECT_EQ(veth.at("mtu"), 1400);
  EXPECT_EQ(veth.at("mac"), kMacA);
  EXPECT_EQ(veth.at("flags"), json({"BROADCAST", "MULTICAST", "UP", "RUNNING", "LOWER_UP"}));
  EXPECT_EQ(veth.at("operstate"), "UP");
  EXPECT_EQ(veth.at("link_type"), "ether");
  EXPECT_EQ(veth.at("kind"), "veth");
  EXPECT_EQ(veth.at("qdisc"), "noqueue");
  EXPECT_EQ(veth.at("link_ifindex"), peer.at("ifindex"));
  EXPECT_EQ(peer.at("link_ifindex"), veth.at("ifindex"));
  EXPECT_EQ(peer.at("mac"), kMacB);
  const json ip_view = ip_json("-n " + ns_->ns_a + " link show " + ns_->dev_a)[0];
  EXPECT_EQ(veth.at("link_netnsid"), ip_view.at("link_netnsid"));
  EXPECT_EQ(veth.at("txqlen"), ip_view.at("txqlen"));

  const json& addrs = veth.at("addresses");
  ASSERT_EQ(addrs.size(), 2u) << addrs;
  EXPECT_EQ(addrs[0].at("family"), "inet");
  EXPECT_EQ(addrs[0].at("cidr"), std::string(kIpv4A) + "/24");
  EXPECT_EQ(addrs[0].at("broadcast"), "198.51.100.255");
  EXPECT_EQ(addrs[0].at("label"), ns_->dev_a);
  EXPECT_EQ(addrs[0].at("scope"), "global");
  EXPECT_EQ(addrs[1].at("family"), "inet6");
  EXPECT_EQ(addrs[1].at("cidr"), std::string(kIpv6A) + "/64");
  EXPECT_EQ(addrs[1].at("scope"), "global");
  EXPECT_EQ(addrs[1].at("flags"), json({"nodad", "permanent"}));

  const json& by_name = a.at("by_name").at(ns_->dev_a);
  EXPECT_EQ(by_name.at("ipv4"), kIpv4A);
  EXPECT_EQ(by_name.at("ipv6"), kIpv6A);
  EXPECT_EQ(by_name.at("mtu"), 1400);
  EXPECT_EQ(by_name.at("up"), true);

  // The namespace switch stayed on the worker thread: this thread still sees
  // the root namespace, which has no interface of that name.
  const json root = scan_action({{"include_down", true}}, ctx);
  EXPECT_FALSE(root.at("by_name").contains(ns_->dev_a));
}

TEST_F(VethNamespaceTest, WatchDeltasEqualTheVethCounterChangeIpReports) {
  configure(/*with_ipv6=*/false);
  common::Fd receiver;
  common::Fd sender;
  run_in_netns(ns_->ns_b, [&] { receiver = testing::bound_udp_socket(kIpv4B, 0); });
  run_in_netns(ns_->ns_a, [&] { sender = testing::bound_udp_socket(kIpv4A, 0); });
  common::SockAddr to;
  to.len = sizeof to.storage;
  ASSERT_EQ(::getsockname(receiver.get(), to.get(), &to.len), 0);
  wait_until_quiet();

  const json a_before = link_stats(ns_->ns_a, ns_->dev_a);
  const json b_before = link_stats(ns_->ns_b, ns_->dev_b);
  testing::ServerThread watch(testing::plugin(), "watch",
                              {{"interface", {ns_->dev_a}}, {"interval", 50'000'000}, {"netns", ns_->ns_a}});
  ASSERT_EQ(watch.ready().value("interfaces", json()), json({ns_->dev_a}));

  constexpr int kBatches = 10;
  constexpr int kPerBatch = 20;
  constexpr size_t kPayloadBytes = 1000;
  int received = 0;
  for (int batch = 0; batch < kBatches; ++batch) {
    testing::send_datagrams(sender.get(), to, kPerBatch, kPayloadBytes);
    received += testing::receive_datagrams(receiver.get(), kPerBatch, 1000);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(150));  // at least two samples
  const json record = watch.stop();
  const json a_after = link_stats(ns_->ns_a, ns_->dev_a);
  const json b_after = link_stats(ns_->ns_b, ns_->dev_b);

  EXPECT_EQ(received, kBatches * kPerBatch);
  const json& delta = record.at("interfaces").at(ns_->dev_a);
  for (const char* dir : {"rx", "tx"}) {
    for (const char* what : {"bytes", "packets", "errors", "dropped"}) {
      const std::string field = std::string(dir) + "_" + what;
      EXPECT_EQ(delta.at(field).get<uint64_t>(),
                a_after.at(dir).at(what).get<uint64_t>() - a_before.at(dir).at(what).get<uint64_t>())
          << field;
    }
  }
  // What A sent, B received: the same datagrams (+ the ARP reply back).
  EXPECT_EQ(delta.at("tx_packets").get<uint64_t>(),
            b_after.at("rx").at("packets").get<uint64_t>() -
                b_before.at("rx").at("packets").get<uint64_t>());
  EXPECT_GE(delta.at("tx_packets").get<uint64_t>(), uint64_t{kBatches * kPerBatch});
  // Ethernet 14 + IPv4 20 + UDP 8 bytes of headers per datagram.
  EXPECT_GE(delta.at("tx_bytes").get<uint64_t>(), kBatches * kPerBatch * (kPayloadBytes + 42));

  const double elapsed_s = record.at("elapsed_ns").get<double>() / 1e9;
  ASSERT_GT(elapsed_s, 0.15);
  EXPECT_NEAR(delta.at("tx_bits_per_sec").get<double>(),
              delta.at("tx_bytes").get<double>() * 8 / elapsed_s, 1e-6);

  const auto samples = watch.host().samples();
  ASSERT_GE(samples.size(), 2u);
  uint64_t sampled_tx_packets = 0;
  int64_t last_t_ns = 0;
  for (const json& s : samples) {
    EXPECT_GT(s.at("t_ns").get<int64_t>(), last_t_ns);
    last_t_ns = s.at("t_ns");
    sampled_tx_packets += s.at("interfaces").at(ns_->dev_a).at("tx_packets").get<uint64_t>();
  }
  // Samples partition the watch up to the last one; the record covers it all.
  EXPECT_LE(sampled_tx_packets, delta.at("tx_packets").get<uint64_t>());
  EXPECT_EQ(record.at("samples"), samples.size());
}

TEST(WatchLoopback, SeesItsOwnTrafficAndStopsPromptly) {
  common::Fd receiver = testing::bound_udp_socket("127.0.0.1", 0);
  common::SockAddr to;
  to.len = sizeof to.storage;
  ASSERT_EQ(::getsockname(receiver.get(), to.get(), &to.len), 0);
  common::Fd sender = testing::bound_udp_socket("127.0.0.1", 0);

  testing::ServerThread watch(testing::plugin(), "watch", {{"interface", {"lo"}}, {"interval", 10'000'000'000}});
  testing::send_datagrams(sender.get(), to, 50, 100);
  EXPECT_EQ(testing::receive_datagrams(receiver.get(), 50, 1000), 50);

  const auto stop_at = std::chrono::steady_clock::now();
  const json record = watch.stop();
  // The loop naps in 10 ms slices: a 10 s interval must not delay the stop.
  EXPECT_LT(std::chrono::steady_clock::now() - stop_at, std::chrono::seconds(2));
  EXPECT_TRUE(watch.host().samples().empty());
  // Other processes may use lo too: at least our 50 went through.
  EXPECT_GE(record.at("interfaces").at("lo").at("rx_packets").get<uint64_t>(), 50u);
  EXPECT_GE(record.at("interfaces").at("lo").at("tx_packets").get<uint64_t>(), 50u);
  EXPECT_NE(record.at("summary").get<std::string>().find("lo rx "), std::string::npos);
}

}  // namespace
}  // namespace sonda::iface
