// The kernel's socket table: inet_diag dumps over NETLINK_SOCK_DIAG, with a
// /proc/net/{tcp,udp}[6] reader for kernels where sock_diag is unavailable.
#pragma once

#include <linux/netlink.h>

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sonda_common/huge_page_allocator.hpp"

namespace sonda::proc_scanner {

/// One socket as the kernel reports it. Addresses stay raw (network byte
/// order, IPv4 in the first 4 bytes) until rendering, so a dump of tens of
/// thousands of sockets costs no string formatting.
struct SocketEntry {
  uint8_t protocol = 0;  ///< IPPROTO_TCP or IPPROTO_UDP
  uint8_t family = 0;    ///< AF_INET or AF_INET6
  uint8_t state = 0;     ///< kernel TCP_* state number (UDP uses 1 and 7)
  uint16_t local_port = 0;
  uint16_t remote_port = 0;
  std::array<uint8_t, 16> local_addr{};
  std::array<uint8_t, 16> remote_addr{};
  uint32_t recv_q = 0;
  uint32_t send_q = 0;
  uint32_t uid = 0;
  uint32_t bound_ifindex = 0;
  uint64_t inode = 0;  ///< 0 for TIME_WAIT / request sockets, which no fd holds
  uint64_t netns = 0;  ///< inode of the network namespace it was dumped in
};

/// A socket table. Tens of thousands of entries are megabytes written once:
/// huge pages make that one fault instead of hundreds (huge_page_allocator.hpp).
using SocketList = std::vector<SocketEntry, common::HugePageAllocator<SocketEntry>>;

/// Where the socket table came from.
enum class SocketSource { kSockDiag, kProcfs };

/// "sock_diag" or "procfs".
const char* source_name(SocketSource source);

/// Decodes one SOCK_DIAG_BY_FAMILY reply (struct inet_diag_msg). Returns
/// false for a message too short to hold one. `protocol` is the one the dump
/// asked for (the reply does not carry it).
bool parse_inet_diag(const nlmsghdr* message, uint8_t protocol, uint64_t netns, SocketEntry& out);

/// Appends every socket of (protocol, family) in the calling thread's network
/// namespace: one NLM_F_DUMP per call, all states. Throws std::system_error
/// naming the netlink call when sock_diag is unavailable or refuses.
/// `bound_inactive` (TCP): also the sockets that are bound but neither
/// listening nor connected (kernels >= 6.7 list them in state CLOSE; the
/// kernel finds them by walking its whole bind table).
void dump_inet_sockets(uint8_t protocol, uint8_t family, uint64_t netns, SocketList& out,
                       bool bound_inactive = true);

/// Appends every TCP socket, IPv4 and IPv6, in one dump (the compat
/// TCPDIAG_GETSOCK request, which the kernel runs with AF_UNSPEC). Throws
/// std::system_error when the kernel refuses it. `bound_inactive` as above.
void dump_tcp_both_families(uint64_t netns, SocketList& out, bool bound_inactive = true);

/// The kernel's TCP socket counts, from /proc/net/sockstat and sockstat6:
/// every TCP socket allocated (all namespaces; IPv4 and IPv6 share the
/// counter) and those hashed in the reader's namespace (listening, or in
/// the connection table: IPv4 `inuse` + IPv6 `inuse`).
struct TcpSocketCounts {
  uint64_t allocated = 0;
  uint64_t hashed = 0;
};

/// Parses the two files' texts (sockstat6 may be empty: no IPv6). nullopt
/// when the TCP line is missing or malformed.
std::optional<TcpSocketCounts> parse_tcp_socket_counts(std::string_view sockstat,
                                                       std::string_view sockstat6);

/// The counts of the calling thread's namespace (/proc/thread-self/net);
/// nullopt when unreadable.
std::optional<TcpSocketCounts> read_tcp_socket_counts();

/// Whether a bound-but-inactive TCP socket can exist: some allocated TCP
/// socket is not hashed here (it may be bound only, unbound, or in another
/// namespace). When every allocated socket is hashed, the dump can skip the
/// kernel's bind-table walk (a full pass over every bound socket: 4-8 ms
/// of a 19 000-socket dump) knowing it would find nothing. Unknown counts
/// mean it can.
bool bound_inactive_possible(const std::optional<TcpSocketCounts>& counts);

/// Appends the sockets listed in a /proc/net/{tcp,tcp6,udp,udp6} file
/// (`path`). Throws std::system_error naming the file when unreadable.
void read_proc_net(const std::string& path, uint8_t protocol, uint8_t family, uint64_t netns,
                   SocketList& out);

/// Dumps TCP and UDP, IPv4 and IPv6, of the calling thread's namespace via
/// sock_diag, or via /proc/thread-self/net when sock_diag fails (in which
/// case `source` is set to kProcfs and `fallback_reason` says why).
/// `listeners_dumped`, when given, is called once every listening socket
/// is in `out` (UDP and the TCP listening table are dumped first, through
/// sock_diag), before the TCP connection table; at the end otherwise. Not
/// called when the dump throws.
void collect_inet_sockets(uint64_t netns, bool want_tcp, bool want_udp, bool force_procfs,
                          SocketList& out, SocketSource& source, std::string& fallback_reason,
                          const std::function<void()>& listeners_dumped = {});

/// A device sockets are bound to (SO_BINDTODEVICE, or an IPv6 link-local
/// scope; ss prints it as `address%name`), named in its own namespace.
struct BoundInterface {
  uint64_t netns = 0;
  uint32_t ifindex = 0;
  std::string name;  ///< "if<index>" when the device is gone (as ss prints it)
};

/// Names every distinct device that sockets[from..] are bound to, as the
/// calling thread's network namespace sees it, and appends the names to
/// `names` (once per (netns, ifindex)).
void name_bound_interfaces(const SocketList& sockets, size_t from,
                           std::vector<BoundInterface>& names);

/// The name recorded for (netns, ifindex), or nullptr.
const std::string* find_interface(const std::vector<BoundInterface>& names, uint64_t netns,
                                  uint32_t ifindex);

/// The state's name: LISTEN, ESTABLISHED, TIME_WAIT, ...; UDP sockets that
/// are not connected are "UNCONN" (as ss prints them).
const char* state_name(uint8_t protocol, uint8_t state);

/// Parses a state name as state_name() prints it (case-insensitive; also
/// ss's spellings "estab", "time-wait", ...). Returns -1 when unknown.
int parse_state_name(uint8_t protocol, const std::string& name);

/// Numeric address text ("127.0.0.1", "::1").
std::string format_address(uint8_t family, const std::array<uint8_t, 16>& addr);

/// "127.0.0.1:80" or "[::1]:80".
std::string format_endpoint(uint8_t family, const std::array<uint8_t, 16>& addr, uint16_t port);

/// True for the kernel's "bound but not connected" shapes: TCP LISTEN and
/// UDP sockets without a peer.
bool is_listening(const SocketEntry& s);

}  // namespace sonda::proc_scanner
