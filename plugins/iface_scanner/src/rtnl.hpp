// RTNETLINK: the kernel's interface and address tables, read with two dumps
// (RTM_GETLINK, RTM_GETADDR) and parsed into the plain structs of
// interface.hpp.
//
// Why RTNETLINK and not getifaddrs + /sys: one dump request returns every
// interface with flags, operstate, MTU, qdisc, txqlen, master/peer and 64-bit
// counters together (a consistent view per message); sysfs needs a dozen file
// reads per interface and only shows the netns that /sys was mounted in,
// while a netlink socket belongs to the netns of the thread that opened it.
#pragma once

#include <linux/netlink.h>

#include <optional>
#include <string>
#include <vector>

#include "interface.hpp"

namespace sonda::iface {

/// Parses one RTM_NEWLINK message. Returns nullopt for any other type or a
/// truncated message; unknown attributes are skipped.
std::optional<Interface> parse_link_message(const nlmsghdr* message);

/// An address plus the ifindex it belongs to.
struct AddressRow {
  int ifindex = 0;
  Address address;
};

/// Parses one RTM_NEWADDR message (AF_INET / AF_INET6). Returns nullopt for
/// any other type or family, or a truncated message.
std::optional<AddressRow> parse_addr_message(const nlmsghdr* message);

/// Dumps links then addresses in the calling thread's network namespace and
/// returns every interface, sorted by ifindex, with its addresses attached.
/// Addresses of an interface that vanished between the two dumps are
/// dropped. Throws sonda::StepError naming the failed netlink call.
std::vector<Interface> dump_interfaces();

/// Dumps links only (no addresses): what a counter snapshot needs, one
/// syscall round trip cheaper. Same errors as dump_interfaces().
std::vector<Interface> dump_links();

/// Throws sonda::StepError kind "not_found" (parameter "interface") for the
/// first name in `names` that no interface in `all` has, listing those that
/// exist; users mistype interface names more than anything else.
void require_interfaces(const std::vector<Interface>& all, const std::vector<std::string>& names);

}  // namespace sonda::iface
