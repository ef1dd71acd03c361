#include "scan_record.hpp"

#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "counters.hpp"
#include "names.hpp"

namespace sonda::iface {

namespace {

std::string cidr(const Address& a) { return a.address + "/" + std::to_string(a.prefix_len); }

bool is_up(const Interface& iface) { return (iface.flags & IFF_UP) != 0; }

/// The address later steps most likely want: a primary IPv4, a global IPv6
/// (link-local ones need a scope id to be usable).
const Address* preferred(const Interface& iface, int family) {
  const Address* first = nullptr;
  for (const Address& a : iface.addresses) {
    if (a.family != family) {
      continue;
    }
    if (first == nullptr) {
      first = &a;
    }
    const bool primary = family == AF_INET ? (a.flags & IFA_F_SECONDARY) == 0
                                           : a.scope == RT_SCOPE_UNIVERSE;
    if (primary) {
      return &a;
    }
  }
  return first;
}

}  // namespace

json address_to_json(const Address& a) {
  json out = {{"family", family_name(a.family)},
              {"address", a.address},
              {"prefix_len", a.prefix_len},
              {"cidr", cidr(a)},
              {"scope", scope_name(a.scope)},
              {"flags", address_flag_names(a.flags, a.family)},
              {"valid_lifetime_s", a.valid_lifetime_s},
              {"preferred_lifetime_s", a.preferred_lifetime_s}};
  if (!a.peer.empty()) {
    out["peer"] = a.peer;
  }
  if (!a.broadcast.empty()) {
    out["broadcast"] = a.broadcast;
  }
  if (!a.label.empty()) {
    out["label"] = a.label;
  }
  return out;
}

json interface_to_json(const Interface& iface) {
  json out = {{"ifindex", iface.ifindex},
              {"name", iface.name},
              {"flags", link_flag_names(iface.flags)},
              {"up", is_up(iface)},
              {"running", (iface.flags & IFF_RUNNING) != 0},
              {"mtu", iface.mtu},
              {"operstate", operstate_name(iface.operstate)},
              {"link_type", link_type_name(iface.link_type)},
              {"mac", iface.mac}};
  if (!iface.broadcast_mac.empty()) {
    out["broadcast_mac"] = iface.broadcast_mac;
  }
  if (!iface.kind.empty()) {
    out["kind"] = iface.kind;
  }
  if (!iface.qdisc.empty()) {
    out["qdisc"] = iface.qdisc;
  }
  if (iface.txqlen) {
    out["txqlen"] = *iface.txqlen;
  }
  if (!iface.alias.empty()) {
    out["alias"] = iface.alias;
  }
  if (iface.master_ifindex) {
    out["master_ifindex"] = *iface.master_ifindex;
  }
  if (iface.link_ifindex) {
    out["link_ifindex"] = *iface.link_ifindex;
  }
  if (iface.link_netnsid) {
    out["link_netnsid"] = *iface.link_netnsid;
  }
  json addresses = json::array();
  for (const Address& a : iface.addresses) {
    addresses.push_back(address_to_json(a));
  }
  out["addresses"] = std::move(addresses);
  out["counters"] = iface.has_counters ? counters_to_json(iface.counters) : json(nullptr);
  return out;
}

json by_name_entry(const Interface& iface) {
  json entry = {{"ifindex", iface.ifindex},
                {"mtu", iface.mtu},
                {"state", operstate_name(iface.operstate)},
                {"up", is_up(iface)},
                {"mac", iface.mac}};
  for (const auto& [family, key] : {std::pair{AF_INET, "ipv4"}, std::pair{AF_INET6, "ipv6"}}) {
    const Address* best = preferred(iface, family);
    entry[key] = best != nullptr ? best->address : "";
    entry[std::string(key) + "_cidr"] = best != nullptr ? cidr(*best) : "";
    json all = json::array();
    for (const Address& a : iface.addresses) {
      if (a.family == family) {
        all.push_back(a.address);
      }
    }
    entry[std::string(key) + "_all"] = std::move(all);
  }
  entry["rx_bytes"] = iface.counters.rx_bytes;
  entry["tx_bytes"] = iface.counters.tx_bytes;
  return entry;
}

std::string summary_line(const std::vector<Interface>& interfaces) {
  size_t up = 0;
  for (const Interface& iface : interfaces) {
    up += is_up(iface) ? 1 : 0;
  }
  std::string line = std::to_string(interfaces.size()) +
                     (interfaces.size() == 1 ? " interface, " : " interfaces, ") +
                     std::to_string(up) + " up";
  for (const Interface& iface : interfaces) {
    line += "; " + iface.name;
    if (!is_up(iface)) {
      line += " DOWN";
    }
    for (const Address& a : iface.addresses) {
      line += " " + cidr(a);
    }
  }
  return line;
}

json scan_record(const std::vector<Interface>& interfaces) {
  json list = json::array();
  json by_name = json::object();
  size_t up = 0;
  for (const Interface& iface : interfaces) {
    list.push_back(interface_to_json(iface));
    by_name[iface.name] = by_name_entry(iface);
    up += is_up(iface) ? 1 : 0;
  }
  return {{"count", interfaces.size()},
          {"up_count", up},
          {"summary", summary_line(interfaces)},
          {"interfaces", std::move(list)},
          {"by_name", std::move(by_name)}};
}

}  // namespace sonda::iface
