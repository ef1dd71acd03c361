// Plain data for one network interface as RTNETLINK reports it. The netlink
// parser fills these; JSON conversion and counter deltas read them. No
// netlink types leak past this header, so tests and the bench can build them
// by hand.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sonda::iface {

/// 64-bit link counters (struct rtnl_link_stats64, IFLA_STATS64). Fields the
/// running kernel does not report stay 0.
struct LinkCounters {
  uint64_t rx_bytes = 0;
  uint64_t rx_packets = 0;
  uint64_t rx_errors = 0;
  uint64_t rx_dropped = 0;
  uint64_t rx_multicast = 0;
  uint64_t rx_over_errors = 0;
  uint64_t rx_crc_errors = 0;
  uint64_t rx_frame_errors = 0;
  uint64_t rx_fifo_errors = 0;
  uint64_t rx_missed_errors = 0;
  uint64_t rx_nohandler = 0;
  uint64_t tx_bytes = 0;
  uint64_t tx_packets = 0;
  uint64_t tx_errors = 0;
  uint64_t tx_dropped = 0;
  uint64_t tx_carrier_errors = 0;
  uint64_t tx_fifo_errors = 0;
  uint64_t collisions = 0;
};

/// One IPv4/IPv6 address (RTM_NEWADDR).
struct Address {
  int family = 0;             ///< AF_INET or AF_INET6
  std::string address;        ///< the interface's own address (IFA_LOCAL, else IFA_ADDRESS)
  std::string peer;           ///< point-to-point peer when it differs from `address`, else empty
  int prefix_len = 0;         ///< e.g. 24 for 192.0.2.1/24
  int scope = 0;              ///< RT_SCOPE_* (0 global, 253 link, 254 host)
  std::string broadcast;      ///< IFA_BROADCAST (IPv4 only), empty when absent
  std::string label;          ///< IFA_LABEL (IPv4 alias label), empty when absent
  uint32_t flags = 0;         ///< IFA_F_* (IFA_FLAGS when present: 32 bits)
  uint32_t valid_lifetime_s = 0xffffffffu;      ///< IFA_CACHEINFO; 0xffffffff = forever
  uint32_t preferred_lifetime_s = 0xffffffffu;  ///< IFA_CACHEINFO; 0xffffffff = forever
};

/// One interface (RTM_NEWLINK) plus its addresses.
struct Interface {
  int ifindex = 0;
  std::string name;
  uint32_t flags = 0;          ///< IFF_* from ifinfomsg, including IFF_LOWER_UP/DORMANT
  int mtu = 0;
  uint8_t operstate = 0;       ///< IF_OPER_* (RFC 2863)
  uint16_t link_type = 0;      ///< ARPHRD_*
  std::string kind;            ///< IFLA_INFO_KIND ("veth", "bridge"...), empty for physical/lo
  std::string mac;             ///< IFLA_ADDRESS as aa:bb:..., empty when absent
  std::string broadcast_mac;   ///< IFLA_BROADCAST, empty when absent
  std::string qdisc;           ///< IFLA_QDISC, empty when absent
  std::string alias;           ///< IFLA_IFALIAS, empty when absent
  std::optional<uint32_t> txqlen;
  std::optional<int> master_ifindex;  ///< IFLA_MASTER: bridge/bond this one is enslaved to
  std::optional<int> link_ifindex;    ///< IFLA_LINK: veth peer / lower device
  std::optional<int> link_netnsid;    ///< IFLA_LINK_NETNSID: link_ifindex lives in that netns
  bool has_counters = false;   ///< IFLA_STATS64 (or IFLA_STATS) was present
  LinkCounters counters;
  std::vector<Address> addresses;
};

}  // namespace sonda::iface
