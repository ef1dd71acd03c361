#include "names.hpp"

#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_arp.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <array>
#include <cstdio>
#include <utility>

namespace sonda::iface {

namespace {

std::string hex_rest(uint32_t bits) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%x", bits);
  return text;
}

}  // namespace

std::vector<std::string> link_flag_names(uint32_t flags) {
  // iproute2's print order (ipaddress.c print_link_flags), with RUNNING kept:
  // `ip` hides it and prints NO-CARRIER instead, we report the raw bit.
  static constexpr std::array<std::pair<uint32_t, const char*>, 19> kFlags{{
      {IFF_LOOPBACK, "LOOPBACK"},   {IFF_BROADCAST, "BROADCAST"}, {IFF_POINTOPOINT, "POINTOPOINT"},
      {IFF_MULTICAST, "MULTICAST"}, {IFF_NOARP, "NOARP"},         {IFF_ALLMULTI, "ALLMULTI"},
      {IFF_PROMISC, "PROMISC"},     {IFF_MASTER, "MASTER"},       {IFF_SLAVE, "SLAVE"},
      {IFF_DEBUG, "DEBUG"},         {IFF_DYNAMIC, "DYNAMIC"},     {IFF_AUTOMEDIA, "AUTOMEDIA"},
      {IFF_PORTSEL, "PORTSEL"},     {IFF_NOTRAILERS, "NOTRAILERS"}, {IFF_UP, "UP"},
      {IFF_RUNNING, "RUNNING"},     {IFF_LOWER_UP, "LOWER_UP"},   {IFF_DORMANT, "DORMANT"},
      {IFF_ECHO, "ECHO"},
  }};
  std::vector<std::string> names;
  for (const auto& [bit, name] : kFlags) {
    if ((flags & bit) != 0) {
      names.emplace_back(name);
      flags &= ~bit;
    }
  }
  if (flags != 0) {
    names.push_back(hex_rest(flags));
  }
  return names;
}

std::string operstate_name(uint8_t operstate) {
  static constexpr std::array<const char*, 7> kStates{
      "UNKNOWN", "NOTPRESENT", "DOWN", "LOWERLAYERDOWN", "TESTING", "DORMANT", "UP"};
  if (operstate < kStates.size()) {
    return kStates[operstate];
  }
  return std::to_string(operstate);
}

std::string link_type_name(uint16_t arphrd) {
  // The types one meets on Linux hosts and in containers; names from
  // iproute2's lib/ll_types.c.
  static constexpr std::array<std::pair<uint16_t, const char*>, 22> kTypes{{
      {ARPHRD_NETROM, "netrom"},       {ARPHRD_ETHER, "ether"},
      {ARPHRD_IEEE802, "ieee802"},     {ARPHRD_INFINIBAND, "infiniband"},
      {ARPHRD_SLIP, "slip"},           {ARPHRD_PPP, "ppp"},
      {ARPHRD_TUNNEL, "ipip"},         {ARPHRD_TUNNEL6, "tunnel6"},
      {ARPHRD_SIT, "sit"},             {ARPHRD_IPGRE, "gre"},
      {ARPHRD_IP6GRE, "gre6"},         {ARPHRD_LOOPBACK, "loopback"},
      {ARPHRD_IEEE80211, "ieee802.11"}, {ARPHRD_IEEE80211_RADIOTAP, "ieee802.11/radiotap"},
      {ARPHRD_IEEE802154, "ieee802.15.4"}, {ARPHRD_CAN, "can"},
      {ARPHRD_IPDDP, "ipddp"},         {ARPHRD_VOID, "void"},
      {ARPHRD_NONE, "none"},           {ARPHRD_RAWIP, "rawip"},
      {ARPHRD_PHONET, "phonet"},       {ARPHRD_6LOWPAN, "6lowpan"},
  }};
  for (const auto& [type, name] : kTypes) {
    if (type == arphrd) {
      return name;
    }
  }
  return "[" + std::to_string(arphrd) + "]";
}

std::string scope_name(int scope) {
  switch (scope) {
    case RT_SCOPE_UNIVERSE: return "global";
    case RT_SCOPE_SITE: return "site";
    case RT_SCOPE_LINK: return "link";
    case RT_SCOPE_HOST: return "host";
    case RT_SCOPE_NOWHERE: return "nowhere";
    default: return std::to_string(scope);
  }
}

std::vector<std::string> address_flag_names(uint32_t flags, int family) {
  static constexpr std::array<std::pair<uint32_t, const char*>, 11> kFlags{{
      {IFA_F_NODAD, "nodad"},
      {IFA_F_OPTIMISTIC, "optimistic"},
      {IFA_F_DADFAILED, "dadfailed"},
      {IFA_F_HOMEADDRESS, "home"},
      {IFA_F_DEPRECATED, "deprecated"},
      {IFA_F_TENTATIVE, "tentative"},
      {IFA_F_PERMANENT, "permanent"},
      {IFA_F_MANAGETEMPADDR, "mngtmpaddr"},
      {IFA_F_NOPREFIXROUTE, "noprefixroute"},
      {IFA_F_MCAUTOJOIN, "autojoin"},
      {IFA_F_STABLE_PRIVACY, "stable-privacy"},
  }};
  std::vector<std::string> names;
  if ((flags & IFA_F_SECONDARY) != 0) {
    names.emplace_back(family == AF_INET6 ? "temporary" : "secondary");
    flags &= ~static_cast<uint32_t>(IFA_F_SECONDARY);
  }
  for (const auto& [bit, name] : kFlags) {
    if ((flags & bit) != 0) {
      names.emplace_back(name);
      flags &= ~bit;
    }
  }
  if (flags != 0) {
    names.push_back(hex_rest(flags));
  }
  return names;
}

std::string family_name(int family) {
  switch (family) {
    case AF_INET: return "inet";
    case AF_INET6: return "inet6";
    default: return "af" + std::to_string(family);
  }
}

}  // namespace sonda::iface
