// Human names for the numeric fields RTNETLINK reports, spelled as iproute2
// spells them so a scan reads like `ip addr` and tests can compare with
// `ip -j` output directly.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sonda::iface {

/// IFF_* bits as names ("UP", "BROADCAST", "LOOPBACK", "RUNNING", "LOWER_UP"
/// ...), in iproute2's order; unknown bits become "0x<hex>".
std::vector<std::string> link_flag_names(uint32_t flags);

/// IF_OPER_* (RFC 2863) as iproute2 prints it: "UP", "DOWN", "UNKNOWN" ...
std::string operstate_name(uint8_t operstate);

/// ARPHRD_* as iproute2's link_type: "ether", "loopback", "none" ...;
/// unknown types become "[<number>]" exactly as `ip` prints them.
std::string link_type_name(uint16_t arphrd);

/// RT_SCOPE_* as iproute2 prints it: "global", "link", "host" ...
std::string scope_name(int scope);

/// IFA_F_* bits as names ("permanent", "nodad", "tentative" ...). Bit 0 is
/// "secondary" for IPv4 and "temporary" for IPv6, as in the kernel.
std::vector<std::string> address_flag_names(uint32_t flags, int family);

/// "inet" / "inet6" / "af<N>".
std::string family_name(int family);

}  // namespace sonda::iface
