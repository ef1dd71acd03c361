#include "rtnl.hpp"

#include <arpa/inet.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <sonda/plugin.hpp>
#include <sonda_common/netlink.hpp>
#include <system_error>
#include <unordered_map>

namespace sonda::iface {

namespace {

using common::attr_value;
using common::for_each_attr;
using common::for_each_nested;

std::string attr_string(const rtattr* attr) {
  const auto* data = static_cast<const char*>(RTA_DATA(attr));
  return std::string(data, strnlen(data, RTA_PAYLOAD(attr)));
}

std::string hardware_address(const rtattr* attr) {
  const auto* bytes = static_cast<const unsigned char*>(RTA_DATA(attr));
  std::string text;
  for (size_t i = 0; i < RTA_PAYLOAD(attr); ++i) {
    char part[4];
    std::snprintf(part, sizeof part, i == 0 ? "%02x" : ":%02x", bytes[i]);
    text += part;
  }
  return text;
}

std::string ip_text(int family, const rtattr* attr) {
  const size_t need = family == AF_INET6 ? 16 : 4;
  if (RTA_PAYLOAD(attr) < need) {
    return {};
  }
  char text[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(family, RTA_DATA(attr), text, sizeof text) == nullptr) {
    return {};
  }
  return text;
}

LinkCounters counters_from(const rtnl_link_stats64& s) {
  LinkCounters c;
  c.rx_bytes = s.rx_bytes;
  c.rx_packets = s.rx_packets;
  c.rx_errors = s.rx_errors;
  c.rx_dropped = s.rx_dropped;
  c.rx_multicast = s.multicast;
  c.rx_over_errors = s.rx_over_errors;
  c.rx_crc_errors = s.rx_crc_errors;
  c.rx_frame_errors = s.rx_frame_errors;
  c.rx_fifo_errors = s.rx_fifo_errors;
  c.rx_missed_errors = s.rx_missed_errors;
  c.rx_nohandler = s.rx_nohandler;
  c.tx_bytes = s.tx_bytes;
  c.tx_packets = s.tx_packets;
  c.tx_errors = s.tx_errors;
  c.tx_dropped = s.tx_dropped;
  c.tx_carrier_errors = s.tx_carrier_errors;
  c.tx_fifo_errors = s.tx_fifo_errors;
  c.collisions = s.collisions;
  return c;
}

/// The 32-bit IFLA_STATS, for kernels or drivers without IFLA_STATS64.
LinkCounters counters_from(const rtnl_link_stats& s) {
  rtnl_link_stats64 wide{};
  wide.rx_bytes = s.rx_bytes;
  wide.rx_packets = s.rx_packets;
  wide.rx_errors = s.rx_errors;
  wide.rx_dropped = s.rx_dropped;
  wide.multicast = s.multicast;
  wide.rx_over_errors = s.rx_over_errors;
  wide.rx_crc_errors = s.rx_crc_errors;
  wide.rx_frame_errors = s.rx_frame_errors;
  wide.rx_fifo_errors = s.rx_fifo_errors;
  wide.rx_missed_errors = s.rx_missed_errors;
  wide.tx_bytes = s.tx_bytes;
  wide.tx_packets = s.tx_packets;
  wide.tx_errors = s.tx_errors;
  wide.tx_dropped = s.tx_dropped;
  wide.tx_carrier_errors = s.tx_carrier_errors;
  wide.tx_fifo_errors = s.tx_fifo_errors;
  wide.collisions = s.collisions;
  return counters_from(wide);
}

/// Copies as much of a stats struct as the kernel sent: older kernels send
/// a shorter rtnl_link_stats64 (no rx_nohandler), the rest stays zero.
template <typename Stats>
Stats stats_prefix(const rtattr* attr) {
  Stats stats{};
  std::memcpy(&stats, RTA_DATA(attr), std::min<size_t>(RTA_PAYLOAD(attr), sizeof stats));
  return stats;
}

template <typename Request>
void dump(const Request& request, const char* what,
          const std::function<void(const nlmsghdr*)>& on_message) {
  try {
    common::netlink_dump(NETLINK_ROUTE, &request, sizeof request, on_message);
  } catch (const std::system_error& e) {
    throw StepError(std::string("RTNETLINK ") + what + " dump failed: " + e.what(), "error",
                    {{"error", {{"errno", e.code().value()}}}});
  }
}

}  // namespace

std::optional<Interface> parse_link_message(const nlmsghdr* message) {
  if (message->nlmsg_type != RTM_NEWLINK || message->nlmsg_len < NLMSG_LENGTH(sizeof(ifinfomsg))) {
    return std::nullopt;
  }
  const auto* info = static_cast<const ifinfomsg*>(NLMSG_DATA(message));
  Interface iface;
  iface.ifindex = info->ifi_index;
  iface.flags = info->ifi_flags;
  iface.link_type = info->ifi_type;
  bool have_stats64 = false;
  for_each_attr(message, sizeof(ifinfomsg), [&](const rtattr* attr) {
    switch (attr->rta_type) {
      case IFLA_IFNAME: iface.name = attr_string(attr); break;
      case IFLA_MTU: iface.mtu = static_cast<int>(attr_value<uint32_t>(attr).value_or(0)); break;
      case IFLA_OPERSTATE: iface.operstate = attr_value<uint8_t>(attr).value_or(0); break;
      case IFLA_ADDRESS: iface.mac = hardware_address(attr); break;
      case IFLA_BROADCAST: iface.broadcast_mac = hardware_address(attr); break;
      case IFLA_QDISC: iface.qdisc = attr_string(attr); break;
      case IFLA_IFALIAS: iface.alias = attr_string(attr); break;
      case IFLA_TXQLEN: iface.txqlen = attr_value<uint32_t>(attr); break;
      case IFLA_MASTER: iface.master_ifindex = attr_value<int32_t>(attr); break;
      case IFLA_LINK: iface.link_ifindex = attr_value<int32_t>(attr); break;
      case IFLA_LINK_NETNSID: iface.link_netnsid = attr_value<int32_t>(attr); break;
      case IFLA_LINKINFO:
        for_each_nested(attr, [&](const rtattr* nested) {
          if (nested->rta_type == IFLA_INFO_KIND) {
            iface.kind = attr_string(nested);
          }
        });
        break;
      case IFLA_STATS64:
        iface.counters = counters_from(stats_prefix<rtnl_link_stats64>(attr));
        iface.has_counters = true;
        have_stats64 = true;
        break;
      case IFLA_STATS:
        if (!have_stats64) {
          iface.counters = counters_from(stats_prefix<rtnl_link_stats>(attr));
          iface.has_counters = true;
        }
        break;
      default: break;
    }
  });
  // IFLA_LINK == own index means "no lower device" (e.g. lo, physical NICs).
  if (iface.link_ifindex && *iface.link_ifindex == iface.ifindex && !iface.link_netnsid) {
    iface.link_ifindex.reset();
  }
  return iface;
}

std::optional<AddressRow> parse_addr_message(const nlmsghdr* message) {
  if (message->nlmsg_type != RTM_NEWADDR || message->nlmsg_len < NLMSG_LENGTH(sizeof(ifaddrmsg))) {
    return std::nullopt;
  }
  const auto* info = static_cast<const ifaddrmsg*>(NLMSG_DATA(message));
  if (info->ifa_family != AF_INET && info->ifa_family != AF_INET6) {
    return std::nullopt;
  }
  AddressRow row;
  row.ifindex = static_cast<int>(info->ifa_index);
  Address& a = row.address;
  a.family = info->ifa_family;
  a.prefix_len = info->ifa_prefixlen;
  a.scope = info->ifa_scope;
  a.flags = info->ifa_flags;
  std::string local;
  std::string address;
  for_each_attr(message, sizeof(ifaddrmsg), [&](const rtattr* attr) {
    switch (attr->rta_type) {
      case IFA_LOCAL: local = ip_text(a.family, attr); break;
      case IFA_ADDRESS: address = ip_text(a.family, attr); break;
      case IFA_BROADCAST: a.broadcast = ip_text(a.family, attr); break;
      case IFA_LABEL: a.label = attr_string(attr); break;
      case IFA_FLAGS: a.flags = attr_value<uint32_t>(attr).value_or(a.flags); break;
      case IFA_CACHEINFO:
        if (auto cache = attr_value<ifa_cacheinfo>(attr)) {
          a.valid_lifetime_s = cache->ifa_valid;
          a.preferred_lifetime_s = cache->ifa_prefered;
        }
        break;
      default: break;
    }
  });
  // IPv4: IFA_LOCAL is the interface's address, IFA_ADDRESS the peer on
  // point-to-point links (equal otherwise). IPv6 sends only IFA_ADDRESS
  // unless a peer is configured.
  if (!local.empty()) {
    a.address = local;
    if (!address.empty() && address != local) {
      a.peer = address;
    }
  } else {
    a.address = address;
  }
  return row;
}

std::vector<Interface> dump_links() {
  auto request = common::make_dump_request<ifinfomsg>(RTM_GETLINK, 1);
  request.body.ifi_family = AF_UNSPEC;

  std::vector<Interface> interfaces;
  dump(request, "RTM_GETLINK", [&](const nlmsghdr* message) {
    if (auto iface = parse_link_message(message)) {
      interfaces.push_back(std::move(*iface));
    }
  });
  std::sort(interfaces.begin(), interfaces.end(),
            [](const Interface& a, const Interface& b) { return a.ifindex < b.ifindex; });
  return interfaces;
}

std::vector<Interface> dump_interfaces() {
  std::vector<Interface> interfaces = dump_links();
  std::unordered_map<int, size_t> position;
  for (size_t i = 0; i < interfaces.size(); ++i) {
    position[interfaces[i].ifindex] = i;
  }

  auto request = common::make_dump_request<ifaddrmsg>(RTM_GETADDR, 2);
  request.body.ifa_family = AF_UNSPEC;

  dump(request, "RTM_GETADDR", [&](const nlmsghdr* message) {
    auto row = parse_addr_message(message);
    if (!row) {
      return;
    }
    auto it = position.find(row->ifindex);
    if (it != position.end()) {
      interfaces[it->second].addresses.push_back(std::move(row->address));
    }
  });
  return interfaces;
}

void require_interfaces(const std::vector<Interface>& all, const std::vector<std::string>& names) {
  for (const std::string& wanted : names) {
    if (std::none_of(all.begin(), all.end(), [&](const Interface& i) { return i.name == wanted; })) {
      std::string available;
      for (const Interface& i : all) {
        available += (available.empty() ? "" : ", ") + i.name;
      }
      throw StepError("no interface named '" + wanted + "' (have: " + available + ")",
                      "not_found", {{"error", {{"parameter", "interface"}}}});
    }
  }
}

}  // namespace sonda::iface
