// Parsing of hand-built RTNETLINK messages, the name tables, delta arithmetic
// and the record shape: the parts of the core that need no live kernel.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_arp.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include <cstring>
#include <vector>

#include "actions.hpp"
#include "counters.hpp"
#include "names.hpp"
#include "rtnl.hpp"
#include "scan_record.hpp"
#include "test_support.hpp"

namespace sonda::iface {
namespace {

/// Builds one netlink message: header, fixed struct, then attributes.
class MessageBuilder {
 public:
  template <typename Fixed>
  MessageBuilder(uint16_t type, const Fixed& fixed) {
    bytes_.resize(NLMSG_SPACE(sizeof(Fixed)));
    std::memcpy(bytes_.data() + NLMSG_HDRLEN, &fixed, sizeof fixed);
    header()->nlmsg_type = type;
  }
  MessageBuilder& attr(uint16_t type, const void* data, size_t len) {
    const size_t at = bytes_.size();
    bytes_.resize(at + RTA_SPACE(len));
    auto* a = reinterpret_cast<rtattr*>(bytes_.data() + at);
    a->rta_type = type;
    a->rta_len = static_cast<unsigned short>(RTA_LENGTH(len));
    std::memcpy(RTA_DATA(a), data, len);
    return *this;
  }
  template <typename T>
  MessageBuilder& attr(uint16_t type, const T& value) {
    return attr(type, &value, sizeof value);
  }
  MessageBuilder& attr(uint16_t type, const char* text) {
    return attr(type, text, std::strlen(text) + 1);
  }
  const nlmsghdr* get() {
    header()->nlmsg_len = static_cast<uint32_t>(bytes_.size());
    return header();
  }

 private:
  nlmsghdr* header() { return reinterpret_cast<nlmsghdr*>(bytes_.data()); }
  std::vector<char> bytes_;
};

TEST(ParseLink, ReadsEveryAttributeOfAVethLink) {
  ifinfomsg info{};
  info.ifi_index = 7;
  info.ifi_type = ARPHRD_ETHER;
  info.ifi_flags = IFF_UP | IFF_BROADCAST | IFF_RUNNING | IFF_MULTICAST | IFF_LOWER_UP;
  const unsigned char mac[6] = {0x02, 0x00, 0x5e, 0x10, 0x00, 0x01};
  rtnl_link_stats64 stats{};
  stats.rx_bytes = 5'000'000'000ULL;  // past 32 bits: must survive
  stats.tx_packets = 42;
  stats.rx_nohandler = 3;
  MessageBuilder m(RTM_NEWLINK, info);
  m.attr(IFLA_IFNAME, "veth0").attr(IFLA_MTU, uint32_t{1400}).attr(IFLA_OPERSTATE, uint8_t{6});
  m.attr(IFLA_ADDRESS, mac, sizeof mac).attr(IFLA_QDISC, "noqueue").attr(IFLA_TXQLEN, uint32_t{1000});
  m.attr(IFLA_LINK, int32_t{9}).attr(IFLA_LINK_NETNSID, int32_t{0}).attr(IFLA_MASTER, int32_t{4});
  m.attr(IFLA_STATS64, stats);

  const auto iface = parse_link_message(m.get());
  ASSERT_TRUE(iface.has_value());
  EXPECT_EQ(iface->ifindex, 7);
  EXPECT_EQ(iface->name, "veth0");
  EXPECT_EQ(iface->mtu, 1400);
  EXPECT_EQ(operstate_name(iface->operstate), "UP");
  EXPECT_EQ(iface->mac, "02:00:5e:10:00:01");
  EXPECT_EQ(iface->qdisc, "noqueue");
  EXPECT_EQ(iface->txqlen, 1000u);
  EXPECT_EQ(iface->link_ifindex, 9);
  EXPECT_EQ(iface->link_netnsid, 0);
  EXPECT_EQ(iface->master_ifindex, 4);
  ASSERT_TRUE(iface->has_counters);
  EXPECT_EQ(iface->counters.rx_bytes, 5'000'000'000ULL);
  EXPECT_EQ(iface->counters.tx_packets, 42u);
  EXPECT_EQ(iface->counters.rx_nohandler, 3u);
  EXPECT_EQ(link_flag_names(iface->flags),
            (std::vector<std::string>{"BROADCAST", "MULTICAST", "UP", "RUNNING", "LOWER_UP"}));
}

TEST(ParseLink, DropsLinkThatPointsAtItself) {
  ifinfomsg info{};
  info.ifi_index = 2;
  MessageBuilder m(RTM_NEWLINK, info);
  m.attr(IFLA_IFNAME, "eth0").attr(IFLA_LINK, int32_t{2});
  const auto iface = parse_link_message(m.get());
  ASSERT_TRUE(iface.has_value());
  EXPECT_FALSE(iface->link_ifindex.has_value());
  EXPECT_FALSE(iface->has_counters);
}

TEST(ParseLink, RejectsOtherTypesAndTruncatedMessages) {
  ifinfomsg info{};
  MessageBuilder other(RTM_NEWROUTE, info);
  EXPECT_FALSE(parse_link_message(other.get()).has_value());
  nlmsghdr tiny{};
  tiny.nlmsg_type = RTM_NEWLINK;
  tiny.nlmsg_len = NLMSG_HDRLEN;
  EXPECT_FALSE(parse_link_message(&tiny).has_value());
}

TEST(ParseAddr, SplitsLocalAndPeerOnPointToPointIpv4) {
  ifaddrmsg info{};
  info.ifa_family = AF_INET;
  info.ifa_prefixlen = 32;
  info.ifa_index = 5;
  info.ifa_scope = RT_SCOPE_UNIVERSE;
  in_addr local{};
  in_addr peer{};
  inet_pton(AF_INET, "198.51.100.1", &local);
  inet_pton(AF_INET, "198.51.100.2", &peer);
  MessageBuilder m(RTM_NEWADDR, info);
  m.attr(IFA_LOCAL, local).attr(IFA_ADDRESS, peer).attr(IFA_LABEL, "tun0:1");
  m.attr(IFA_FLAGS, uint32_t{IFA_F_PERMANENT | IFA_F_NOPREFIXROUTE});

  const auto row = parse_addr_message(m.get());
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->ifindex, 5);
  EXPECT_EQ(row->address.address, "198.51.100.1");
  EXPECT_EQ(row->address.peer, "198.51.100.2");
  EXPECT_EQ(row->address.label, "tun0:1");
  const json j = address_to_json(row->address);
  EXPECT_EQ(j.at("cidr"), "198.51.100.1/32");
  EXPECT_EQ(j.at("scope"), "global");
  EXPECT_EQ(j.at("flags"), json({"permanent", "noprefixroute"}));
}

TEST(ParseAddr, ReadsIpv6WithLifetimes) {
  ifaddrmsg info{};
  info.ifa_family = AF_INET6;
  info.ifa_prefixlen = 64;
  info.ifa_index = 3;
  info.ifa_scope = RT_SCOPE_LINK;
  info.ifa_flags = IFA_F_SECONDARY;  // "temporary" for IPv6
  in6_addr a{};
  inet_pton(AF_INET6, "fe80::1", &a);
  ifa_cacheinfo cache{};
  cache.ifa_valid = 3600;
  cache.ifa_prefered = 1800;
  MessageBuilder m(RTM_NEWADDR, info);
  m.attr(IFA_ADDRESS, a).attr(IFA_CACHEINFO, cache);
  const auto row = parse_addr_message(m.get());
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->address.address, "fe80::1");
  EXPECT_TRUE(row->address.peer.empty());
  EXPECT_EQ(row->address.valid_lifetime_s, 3600u);
  EXPECT_EQ(row->address.preferred_lifetime_s, 1800u);
  EXPECT_EQ(scope_name(row->address.scope), "link");
  EXPECT_EQ(address_flag_names(row->address.flags, AF_INET6), std::vector<std::string>{"temporary"});
}

TEST(ParseAddr, IgnoresNonIpFamilies) {
  ifaddrmsg info{};
  info.ifa_family = AF_PACKET;
  MessageBuilder m(RTM_NEWADDR, info);
  EXPECT_FALSE(parse_addr_message(m.get()).has_value());
}

TEST(Names, MatchIproute2Spelling) {
  EXPECT_EQ(link_type_name(ARPHRD_LOOPBACK), "loopback");
  EXPECT_EQ(link_type_name(ARPHRD_NONE), "none");
  EXPECT_EQ(link_type_name(4242), "[4242]");
  EXPECT_EQ(operstate_name(IF_OPER_LOWERLAYERDOWN), "LOWERLAYERDOWN");
  EXPECT_EQ(scope_name(RT_SCOPE_HOST), "host");
  EXPECT_EQ(link_flag_names(IFF_UP | 0x80000000u), (std::vector<std::string>{"UP", "0x80000000"}));
}

TEST(CounterDelta, SubtractsAndFlagsResets) {
  LinkCounters before;
  LinkCounters after;
  before.rx_bytes = 100;
  after.rx_bytes = 1100;
  before.tx_packets = 50;
  after.tx_packets = 7;  // went backwards: driver reset
  bool reset = false;
  const LinkCounters d = counter_delta(before, after, &reset);
  EXPECT_EQ(d.rx_bytes, 1000u);
  EXPECT_EQ(d.tx_packets, 7u);
  EXPECT_TRUE(reset);
}

TEST(SnapshotDelta, ComputesRatesOverExactElapsedTimeAndReportsVanished) {
  CounterSnapshot before;
  before.taken_ns = 1'000'000'000;
  before.entries.push_back({1, "lo", {}});
  before.entries.push_back({5, "gone0", {}});
  CounterSnapshot after;
  after.taken_ns = 1'500'000'000;  // 0.5 s later
  LinkCounters c;
  c.rx_bytes = 125'000;  // 1 Mbit in 0.5 s = 2 Mbit/s
  c.rx_packets = 100;
  c.tx_bytes = 250'000;
  after.entries.push_back({1, "lo-renamed", c});

  const json d = snapshot_delta(before, after);
  EXPECT_EQ(d.at("elapsed_ns"), 500'000'000);
  const json& lo = d.at("interfaces").at("lo-renamed");
  EXPECT_EQ(lo.at("rx_bytes"), 125'000u);
  EXPECT_DOUBLE_EQ(lo.at("rx_bits_per_sec").get<double>(), 2e6);
  EXPECT_DOUBLE_EQ(lo.at("tx_bits_per_sec").get<double>(), 4e6);
  EXPECT_DOUBLE_EQ(lo.at("rx_packets_per_sec").get<double>(), 200.0);
  EXPECT_EQ(d.at("vanished"), json({"gone0"}));
  EXPECT_EQ(d.at("totals").at("tx_bytes"), 250'000u);
}

Address make_address(int family, const char* text, int prefix_len, int scope) {
  Address a;
  a.family = family;
  a.address = text;
  a.prefix_len = prefix_len;
  a.scope = scope;
  return a;
}

TEST(ScanRecord, SummaryAndByNamePreferGlobalAndPrimaryAddresses) {
  Interface lo;
  lo.ifindex = 1;
  lo.name = "lo";
  lo.flags = IFF_UP | IFF_LOOPBACK;
  lo.mtu = 65536;
  lo.addresses.push_back(make_address(AF_INET, "127.0.0.1", 8, RT_SCOPE_HOST));
  lo.addresses.push_back(make_address(AF_INET6, "fe80::1", 64, RT_SCOPE_LINK));
  lo.addresses.push_back(make_address(AF_INET6, "::1", 128, RT_SCOPE_UNIVERSE));
  Interface down;
  down.ifindex = 2;
  down.name = "dummy0";

  const json record = scan_record({lo, down});
  EXPECT_EQ(record.at("summary"), "2 interfaces, 1 up; lo 127.0.0.1/8 fe80::1/64 ::1/128; dummy0 DOWN");
  EXPECT_EQ(record.at("by_name").at("lo").at("ipv4"), "127.0.0.1");
  EXPECT_EQ(record.at("by_name").at("lo").at("ipv6"), "::1");
  EXPECT_EQ(record.at("by_name").at("lo").at("ipv6_all"), json({"fe80::1", "::1"}));
  EXPECT_EQ(record.at("by_name").at("dummy0").at("ipv4"), "");
  EXPECT_EQ(record.at("up_count"), 1);
}

TEST(ScanAction, UnknownInterfaceIsNotFoundAndNamesTheOnesThatExist) {
  testing::FakeHost host;
  Context ctx(host.host());
  try {
    scan_action({{"interface", {"no-such-if0"}}, {"include_down", true}}, ctx);
    FAIL() << "expected StepError";
  } catch (const StepError& e) {
    EXPECT_EQ(e.kind(), "not_found");
    EXPECT_NE(std::string(e.what()).find("no interface named 'no-such-if0' (have: lo"),
              std::string::npos)
        << e.what();
  }
}

TEST(ScanAction, MissingNamespaceIsNotFoundAndNamesThePath) {
  testing::FakeHost host;
  Context ctx(host.host());
  try {
    scan_action({{"netns", "sonda-no-such-ns"}}, ctx);
    FAIL() << "expected StepError";
  } catch (const StepError& e) {
    EXPECT_EQ(e.kind(), "not_found");
    EXPECT_EQ(std::string(e.what()),
              "network namespace 'sonda-no-such-ns': open(/run/netns/sonda-no-such-ns): "
              "No such file or directory");
  }
}

TEST(WatchAction, UnknownInterfaceFailsBeforeReady) {
  testing::FakeHost host;
  Context ctx(host.host());
  try {
    watch_action({{"interface", {"lo", "no-such-if0"}}, {"interval", 10'000'000}}, ctx);
    FAIL() << "expected StepError";
  } catch (const StepError& e) {
    EXPECT_EQ(e.kind(), "not_found");
    EXPECT_EQ(e.details().at("error").at("parameter"), "interface");
  }
  EXPECT_FALSE(host.wait_ready(0).has_value());
}

}  // namespace
}  // namespace sonda::iface
