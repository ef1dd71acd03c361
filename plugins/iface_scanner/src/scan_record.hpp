// The `scan` record: interfaces as JSON, a name-keyed map for ${...}
// references in later steps, and a one-line summary for people.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "interface.hpp"

namespace sonda::iface {

using json = nlohmann::json;

/// One address: {family, address, prefix_len, cidr, scope, flags, ...};
/// peer/broadcast/label only when present.
json address_to_json(const Address& address);

/// One interface with every field of Interface; optional ones (master,
/// link/peer, kind, qdisc, txqlen, alias) only when the kernel sent them.
json interface_to_json(const Interface& iface);

/// The map-friendly view of one interface: {ifindex, mtu, state, up, mac,
/// ipv4, ipv4_cidr, ipv6, ipv6_cidr, ipv4_all, ipv6_all, rx_bytes,
/// tx_bytes}. `ipv4` is the first primary IPv4 address, `ipv6` the first
/// global-scope IPv6 address (else the first one); both "" when none.
json by_name_entry(const Interface& iface);

/// "3 interfaces, 2 up; lo 127.0.0.1/8 ::1/128; eth0 192.0.2.2/24; ifb0 DOWN".
std::string summary_line(const std::vector<Interface>& interfaces);

/// {count, up_count, summary, interfaces: [...], by_name: {...}}.
json scan_record(const std::vector<Interface>& interfaces);

}  // namespace sonda::iface
