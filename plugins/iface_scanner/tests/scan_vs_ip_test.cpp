// `scan` against `ip -j addr` / `ip -j -s link` on this machine: the same
// interfaces, indexes, names, flags, MTU, operstate, MAC, qdisc, addresses,
// and counters bracketed by two `ip` readings.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "actions.hpp"
#include "test_support.hpp"

namespace sonda::iface {
namespace {

using testing::ip_json;

/// What must not change between two `ip` readings for a comparison to be
/// fair: other engineers' tests create and delete interfaces concurrently.
json stable_view(const json& ip_addr) {
  json view = json::object();
  for (const json& link : ip_addr) {
    json addrs = json::array();
    for (const json& a : link.value("addr_info", json::array())) {
      addrs.push_back({a.at("family"), a.at("local"), a.at("prefixlen")});
    }
    view[std::to_string(link.at("ifindex").get<int>())] = {
        link.at("ifname"), link.at("mtu"), link.at("flags"), link.at("operstate"), addrs};
  }
  return view;
}

/// ip's flags minus the two it synthesises (NO-CARRIER = UP without RUNNING,
/// M-DOWN = the peer is down); ours minus RUNNING, which ip never prints.
std::set<std::string> comparable_flags(const json& flags) {
  std::set<std::string> out;
  for (const json& f : flags) {
    const auto name = f.get<std::string>();
    if (name != "NO-CARRIER" && name != "M-DOWN" && name != "RUNNING") {
      out.insert(name);
    }
  }
  return out;
}

/// (family, local, prefix_len, scope, broadcast, label) of every address.
std::set<std::string> ip_address_keys(const json& link) {
  std::set<std::string> keys;
  for (const json& a : link.value("addr_info", json::array())) {
    keys.insert(a.at("family").get<std::string>() + " " + a.at("local").get<std::string>() + "/" +
                std::to_string(a.at("prefixlen").get<int>()) + " " +
                a.value("scope", std::string()) + " brd " + a.value("broadcast", std::string()) +
                " label " + a.value("label", std::string()));
  }
  return keys;
}

std::set<std::string> scan_address_keys(const json& iface) {
  std::set<std::string> keys;
  for (const json& a : iface.at("addresses")) {
    keys.insert(a.at("family").get<std::string>() + " " + a.at("cidr").get<std::string>() + " " +
                a.at("scope").get<std::string>() + " brd " + a.value("broadcast", std::string()) +
                " label " + a.value("label", std::string()));
  }
  return keys;
}

/// ip -s -j link's stats64 field -> our counter name.
const std::map<std::string, std::string> kIpCounterNames = {
    {"rx.bytes", "rx_bytes"},       {"rx.packets", "rx_packets"},
    {"rx.errors", "rx_errors"},     {"rx.dropped", "rx_dropped"},
    {"rx.multicast", "rx_multicast"}, {"rx.over_errors", "rx_over_errors"},
    {"tx.bytes", "tx_bytes"},       {"tx.packets", "tx_packets"},
    {"tx.errors", "tx_errors"},     {"tx.dropped", "tx_dropped"},
    {"tx.carrier_errors", "tx_carrier_errors"}, {"tx.collisions", "collisions"}};

uint64_t ip_counter(const json& link, const std::string& dotted) {
  const auto dot = dotted.find('.');
  return link.at("stats64").at(dotted.substr(0, dot)).at(dotted.substr(dot + 1)).get<uint64_t>();
}

json by_index(const json& ip_list) {
  json out = json::object();
  for (const json& link : ip_list) {
    out[std::to_string(link.at("ifindex").get<int>())] = link;
  }
  return out;
}

TEST(ScanVsIp, MatchesIpAddrAndIpLinkOnThisMachine) {
  testing::FakeHost host;
  Context ctx(host.host());
  json links_before;
  json addrs;
  json scan;
  json links_after;
  bool stable = false;
  for (int attempt = 0; attempt < 5 && !stable; ++attempt) {
    links_before = ip_json("-s link show");
    addrs = ip_json("addr show");
    scan = scan_action({{"include_down", true}}, ctx);
    links_after = ip_json("-s link show");
    stable = stable_view(addrs) == stable_view(ip_json("addr show")) &&
             by_index(links_before).size() == by_index(links_after).size();
  }
  ASSERT_TRUE(stable) << "interfaces kept changing under the test";

  const json before = by_index(links_before);
  const json after = by_index(links_after);
  std::map<int, std::string> names;
  for (const json& link : addrs) {
    names[link.at("ifindex").get<int>()] = link.at("ifname").get<std::string>();
  }
  ASSERT_EQ(scan.at("count").get<size_t>(), addrs.size());
  ASSERT_EQ(scan.at("interfaces").size(), addrs.size());

  // ip prints in the kernel's dump order (ifindex hash buckets), scan sorts
  // by ifindex: match them up by ifindex.
  const json ours_by_index = by_index(scan.at("interfaces"));
  for (size_t i = 1; i < scan.at("interfaces").size(); ++i) {
    EXPECT_LT(scan.at("interfaces")[i - 1].at("ifindex"), scan.at("interfaces")[i].at("ifindex"));
  }
  for (const json& ip : addrs) {
    const std::string name = ip.at("ifname");
    SCOPED_TRACE(name);
    const std::string index = std::to_string(ip.at("ifindex").get<int>());
    ASSERT_TRUE(ours_by_index.contains(index)) << "scan lacks ifindex " << index;
    const json& ours = ours_by_index.at(index);
    EXPECT_EQ(ours.at("name"), name);
    EXPECT_EQ(ours.at("mtu"), ip.at("mtu"));
    EXPECT_EQ(ours.at("operstate"), ip.at("operstate"));
    EXPECT_EQ(ours.at("link_type"), ip.at("link_type"));
    EXPECT_EQ(comparable_flags(ours.at("flags")), comparable_flags(ip.at("flags")));
    const bool no_carrier = ip.at("flags").dump().find("\"NO-CARRIER\"") != std::string::npos;
    EXPECT_EQ(no_carrier, ours.at("up").get<bool>() && !ours.at("running").get<bool>());
    if (ip.at("link_type") == "ether" || ip.at("link_type") == "loopback") {
      EXPECT_EQ(ours.at("mac"), ip.at("address"));
    }
    if (ip.contains("qdisc")) {
      EXPECT_EQ(ours.at("qdisc"), ip.at("qdisc"));
    }
    if (ip.contains("txqlen")) {
      EXPECT_EQ(ours.at("txqlen"), ip.at("txqlen"));
    }
    if (ip.contains("master")) {
      ASSERT_TRUE(ours.contains("master_ifindex"));
      EXPECT_EQ(names[ours.at("master_ifindex").get<int>()], ip.at("master"));
    }
    if (ip.contains("link_netnsid")) {
      EXPECT_EQ(ours.at("link_netnsid"), ip.at("link_netnsid"));
    } else if (ip.contains("link")) {
      ASSERT_TRUE(ours.contains("link_ifindex"));
      EXPECT_EQ(names[ours.at("link_ifindex").get<int>()], ip.at("link"));
    }
    EXPECT_EQ(scan_address_keys(ours), ip_address_keys(ip));

    // Counters are live: ours must lie between the readings around the scan.
    ASSERT_TRUE(before.contains(index) && after.contains(index));
    for (const auto& [ip_name, our_name] : kIpCounterNames) {
      const uint64_t value = ours.at("counters").at(our_name).get<uint64_t>();
      EXPECT_LE(ip_counter(before[index], ip_name), value) << our_name;
      EXPECT_GE(ip_counter(after[index], ip_name), value) << our_name;
    }
  }
}

TEST(ScanVsIp, FiltersByNameAndUpState) {
  testing::FakeHost host;
  Context ctx(host.host());
  const json lo = scan_action({{"interface", {"lo"}}, {"include_down", true}}, ctx);
  ASSERT_EQ(lo.at("count"), 1);
  EXPECT_EQ(lo.at("interfaces")[0].at("name"), "lo");
  std::string lo_ipv4;
  const json ip_lo = ip_json("addr show dev lo");
  for (const json& a : ip_lo.at(0).at("addr_info")) {
    if (a.at("family") == "inet" && lo_ipv4.empty()) {
      lo_ipv4 = a.at("local").get<std::string>();
    }
  }
  EXPECT_EQ(lo.at("by_name").at("lo").at("ipv4"), lo_ipv4);

  std::set<std::string> ip_up;
  for (const json& link : ip_json("link show up")) {
    if (!link.contains("ifname")) {
      continue;  // `ip -j link show up` prints {} for each filtered-out link
    }
    ip_up.insert(link.at("ifname").get<std::string>());
  }
  std::set<std::string> ours_up;
  const json up_only = scan_action({{"include_down", false}}, ctx);
  for (const json& iface : up_only.at("interfaces")) {
    ours_up.insert(iface.at("name").get<std::string>());
  }
  EXPECT_EQ(ours_up, ip_up);
}

}  // namespace
}  // namespace sonda::iface
