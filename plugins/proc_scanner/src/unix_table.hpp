// UNIX domain sockets through sock_diag (NETLINK_SOCK_DIAG, AF_UNIX): what
// `ss -xa` lists. Optional in a scan (`unix: true`): hosts have many of them
// and most questions about services are about TCP and UDP.
#pragma once

#include <linux/netlink.h>

#include <cstdint>
#include <string>
#include <vector>

namespace sonda::proc_scanner {

/// One UNIX socket as the kernel reports it.
struct UnixSocketEntry {
  uint8_t type = 0;   ///< SOCK_STREAM, SOCK_DGRAM or SOCK_SEQPACKET
  uint8_t state = 0;  ///< TCP_LISTEN (10), TCP_ESTABLISHED (1) or TCP_CLOSE (7)
  uint64_t inode = 0;
  uint64_t peer_inode = 0;  ///< the other end of a connected socket, 0 if none
  uint32_t recv_q = 0;      ///< listeners: pending connections; others: queued bytes
  uint32_t send_q = 0;      ///< listeners: backlog; others: queued bytes
  std::string path;         ///< bound name; abstract names start with '@'; "" unbound
  uint64_t netns = 0;       ///< inode of the network namespace it was dumped in
};

/// Decodes one SOCK_DIAG_BY_FAMILY reply for AF_UNIX (struct unix_diag_msg
/// with NAME, PEER and RQLEN attributes). False when too short.
bool parse_unix_diag(const nlmsghdr* message, uint64_t netns, UnixSocketEntry& out);

/// Appends every UNIX socket of the calling thread's network namespace, all
/// states. Throws std::system_error naming the netlink call when the kernel
/// refuses (no CONFIG_UNIX_DIAG).
void dump_unix_sockets(uint64_t netns, std::vector<UnixSocketEntry>& out);

/// "stream", "dgram", "seqpacket" (ss: u_str, u_dgr, u_seq).
const char* unix_type_name(uint8_t type);

/// LISTEN, ESTABLISHED or UNCONN, as for UDP.
const char* unix_state_name(uint8_t state);

/// Orders by (netns, path, type, inode): stable and diffable.
void sort_unix_sockets(std::vector<UnixSocketEntry>& sockets);

}  // namespace sonda::proc_scanner
