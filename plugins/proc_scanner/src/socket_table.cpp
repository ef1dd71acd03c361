#include "socket_table.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <net/if.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <strings.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <system_error>

#include "proc_read.hpp"
#include "sonda_common/netlink.hpp"

namespace sonda::proc_scanner {
namespace {

// Kernel TCP state numbers (include/net/tcp_states.h) and their names.
constexpr const char* kTcpStateNames[] = {
    "UNKNOWN",   "ESTABLISHED", "SYN_SENT", "SYN_RECV",   "FIN_WAIT1", "FIN_WAIT2",  "TIME_WAIT",
    "CLOSE",     "CLOSE_WAIT",  "LAST_ACK", "LISTEN",     "CLOSING",   "NEW_SYN_RECV"};
constexpr int kTcpStateCount = static_cast<int>(std::size(kTcpStateNames));
constexpr uint8_t kStateEstablished = 1;
constexpr uint8_t kStateClose = 7;
constexpr uint8_t kStateListen = 10;

// ss's spellings, accepted by the state filter so users can paste them.
struct StateAlias {
  const char* alias;
  uint8_t state;
};
constexpr StateAlias kStateAliases[] = {
    {"estab", 1},     {"syn-sent", 2},  {"syn-recv", 3},   {"fin-wait-1", 4},
    {"fin-wait-2", 5}, {"time-wait", 6}, {"unconn", 7},     {"close-wait", 8},
    {"last-ack", 9},  {"closing", 11},  {"fin_wait_1", 4}, {"fin_wait_2", 5}};

uint32_t parse_hex_u32(const char*& p) {
  uint32_t v = 0;
  for (;; ++p) {
    const char c = *p;
    if (c >= '0' && c <= '9') {
      v = (v << 4) | static_cast<uint32_t>(c - '0');
    } else if (c >= 'A' && c <= 'F') {
      v = (v << 4) | static_cast<uint32_t>(c - 'A' + 10);
    } else if (c >= 'a' && c <= 'f') {
      v = (v << 4) | static_cast<uint32_t>(c - 'a' + 10);
    } else {
      return v;
    }
  }
}

// /proc/net prints each 32-bit word of the address as the in-memory __be32
// read as a native integer; copying the native value back restores the bytes.
void parse_proc_address(const char*& p, int words, std::array<uint8_t, 16>& addr, uint16_t& port) {
  for (int i = 0; i < words; ++i) {
    const char* start = p;
    char word[9] = {};
    std::memcpy(word, start, 8);
    const char* w = word;
    const uint32_t v = parse_hex_u32(w);
    std::memcpy(addr.data() + 4 * i, &v, 4);
    p += 8;
  }
  if (*p == ':') {
    ++p;
  }
  port = static_cast<uint16_t>(parse_hex_u32(p));
}

// TCP_BOUND_INACTIVE (include/net/tcp_states.h, Linux 6.7): a pseudo-state
// that asks the dump for bound-only sockets. Older kernels ignore the bit.
constexpr uint32_t kTcpfBoundInactive = 1u << 13;
constexpr uint32_t kTcpfListen = 1u << 10;

// One compat TCP dump (both families) of the sockets in `states`.
void dump_tcp_compat(uint64_t netns, SocketList& out, uint32_t states) {
  // The legacy TCPDIAG_GETSOCK request is dumped with family AF_UNSPEC: one
  // walk of the TCP hash tables yields IPv4 and IPv6, where two
  // SOCK_DIAG_BY_FAMILY requests would walk them twice.
  auto msg = common::make_dump_request<inet_diag_req>(TCPDIAG_GETSOCK);
  msg.body.idiag_family = AF_INET;
  msg.body.idiag_states = states;
  SocketEntry entry;
  common::netlink_dump(NETLINK_SOCK_DIAG, &msg, sizeof msg, [&](const nlmsghdr* h) {
    if (h->nlmsg_type == TCPDIAG_GETSOCK && parse_inet_diag(h, IPPROTO_TCP, netns, entry)) {
      out.push_back(entry);
    }
  });
}

uint32_t dump_states(bool bound_inactive) {
  return bound_inactive ? ~0u : ~0u & ~kTcpfBoundInactive;
}

// The number after `key` on the line starting with `line` ("TCP:"), if any.
std::optional<uint64_t> sockstat_field(std::string_view text, std::string_view line,
                                       std::string_view key) {
  size_t at = 0;
  while (at < text.size()) {
    const size_t end = std::min(text.find('\n', at), text.size());
    const std::string_view row = text.substr(at, end - at);
    at = end + 1;
    if (row.substr(0, line.size()) != line) {
      continue;
    }
    const size_t k = row.find(key);
    if (k == std::string_view::npos) {
      return std::nullopt;
    }
    uint64_t v = 0;
    const char* first = row.data() + k + key.size();
    const auto [ptr, ec] = std::from_chars(first, row.data() + row.size(), v);
    if (ec != std::errc() || ptr == first) {
      return std::nullopt;
    }
    return v;
  }
  return std::nullopt;
}

}  // namespace

const char* source_name(SocketSource source) {
  return source == SocketSource::kSockDiag ? "sock_diag" : "procfs";
}

bool parse_inet_diag(const nlmsghdr* message, uint8_t protocol, uint64_t netns, SocketEntry& out) {
  if (message->nlmsg_len < NLMSG_LENGTH(sizeof(inet_diag_msg))) {
    return false;
  }
  const auto* m = static_cast<const inet_diag_msg*>(NLMSG_DATA(message));
  out.protocol = protocol;
  out.family = m->idiag_family;
  out.state = m->idiag_state;
  out.local_port = ntohs(m->id.idiag_sport);
  out.remote_port = ntohs(m->id.idiag_dport);
  std::memcpy(out.local_addr.data(), m->id.idiag_src, 16);
  std::memcpy(out.remote_addr.data(), m->id.idiag_dst, 16);
  out.recv_q = m->idiag_rqueue;
  out.send_q = m->idiag_wqueue;
  out.uid = m->idiag_uid;
  out.bound_ifindex = m->id.idiag_if;
  out.inode = m->idiag_inode;
  out.netns = netns;
  return true;
}

void dump_inet_sockets(uint8_t protocol, uint8_t family, uint64_t netns, SocketList& out,
                       bool bound_inactive) {
  auto msg = common::make_dump_request<inet_diag_req_v2>(SOCK_DIAG_BY_FAMILY);
  msg.body.sdiag_family = family;
  msg.body.sdiag_protocol = protocol;
  // Every state, TIME_WAIT and SYN_RECV included.
  msg.body.idiag_states = protocol == IPPROTO_TCP ? dump_states(bound_inactive) : ~0u;
  SocketEntry entry;
  common::netlink_dump(NETLINK_SOCK_DIAG, &msg, sizeof msg, [&](const nlmsghdr* h) {
    if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY && parse_inet_diag(h, protocol, netns, entry)) {
      out.push_back(entry);
    }
  });
}

void dump_tcp_both_families(uint64_t netns, SocketList& out, bool bound_inactive) {
  dump_tcp_compat(netns, out, dump_states(bound_inactive));
}

void read_proc_net(const std::string& path, uint8_t protocol, uint8_t family, uint64_t netns,
                   SocketList& out) {
  std::FILE* f = std::fopen(path.c_str(), "re");
  if (f == nullptr) {
    throw std::system_error(errno, std::generic_category(), "fopen(" + path + ")");
  }
  const int words = family == AF_INET6 ? 4 : 1;
  char line[512];
  bool header = true;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (header) {
      header = false;
      continue;
    }
    const char* p = std::strchr(line, ':');
    if (p == nullptr) {
      continue;
    }
    SocketEntry s;
    s.protocol = protocol;
    s.family = family;
    s.netns = netns;
    p += 2;
    parse_proc_address(p, words, s.local_addr, s.local_port);
    ++p;
    parse_proc_address(p, words, s.remote_addr, s.remote_port);
    ++p;
    s.state = static_cast<uint8_t>(parse_hex_u32(p));
    ++p;
    s.send_q = parse_hex_u32(p);
    ++p;
    s.recv_q = parse_hex_u32(p);
    unsigned long tr = 0;
    unsigned long when = 0;
    unsigned long retr = 0;
    unsigned long uid = 0;
    unsigned long timeout = 0;
    unsigned long long inode = 0;
    if (std::sscanf(p, " %lx:%lx %lx %lu %lu %llu", &tr, &when, &retr, &uid, &timeout, &inode) !=
        6) {
      continue;
    }
    s.uid = static_cast<uint32_t>(uid);
    s.inode = inode;
    out.push_back(s);
  }
  std::fclose(f);
}

std::optional<TcpSocketCounts> parse_tcp_socket_counts(std::string_view sockstat,
                                                       std::string_view sockstat6) {
  const auto inuse = sockstat_field(sockstat, "TCP: ", " inuse ");
  const auto alloc = sockstat_field(sockstat, "TCP: ", " alloc ");
  if (!inuse || !alloc) {
    return std::nullopt;
  }
  TcpSocketCounts counts;
  counts.allocated = *alloc;
  counts.hashed = *inuse + sockstat_field(sockstat6, "TCP6: ", " inuse ").value_or(0);
  return counts;
}

std::optional<TcpSocketCounts> read_tcp_socket_counts() {
  // thread-self: the namespace of this thread, which may have setns()'d.
  char v4[1024];
  char v6[1024];
  const ssize_t n4 = read_small_file_at(AT_FDCWD, "/proc/thread-self/net/sockstat", v4, sizeof v4);
  const ssize_t n6 = read_small_file_at(AT_FDCWD, "/proc/thread-self/net/sockstat6", v6, sizeof v6);
  return parse_tcp_socket_counts(std::string_view(v4, n4 > 0 ? static_cast<size_t>(n4) : 0),
                                 std::string_view(v6, n6 > 0 ? static_cast<size_t>(n6) : 0));
}

bool bound_inactive_possible(const std::optional<TcpSocketCounts>& counts) {
  return !counts || counts->allocated > counts->hashed;
}

void collect_inet_sockets(uint64_t netns, bool want_tcp, bool want_udp, bool force_procfs,
                          SocketList& out, SocketSource& source, std::string& fallback_reason,
                          const std::function<void()>& listeners_dumped) {
  struct Table {
    uint8_t protocol;
    uint8_t family;
    const char* proc_file;
  };
  static constexpr Table kTables[] = {{IPPROTO_TCP, AF_INET, "tcp"},
                                      {IPPROTO_TCP, AF_INET6, "tcp6"},
                                      {IPPROTO_UDP, AF_INET, "udp"},
                                      {IPPROTO_UDP, AF_INET6, "udp6"}};
  bool told = false;
  const auto tell = [&] {
    if (listeners_dumped && !told) {
      told = true;
      listeners_dumped();
    }
  };
  const size_t first = out.size();
  if (!force_procfs) {
    try {
      // UDP and the TCP listeners first: every listening socket is then in
      // `out` while the connection table (most of a large dump) is walked.
      for (const Table& t : kTables) {
        if (t.protocol == IPPROTO_UDP && want_udp) {
          dump_inet_sockets(t.protocol, t.family, netns, out);
        }
      }
      if (want_tcp) {
        // Read before the dump: a socket bound after this is as late as one
        // bound after the dump, which no snapshot holds either.
        const bool bound_inactive = bound_inactive_possible(read_tcp_socket_counts());
        const size_t before_tcp = out.size();
        try {
          if (listeners_dumped) {
            dump_tcp_compat(netns, out, kTcpfListen);  // the listening table only
            tell();
            dump_tcp_compat(netns, out, dump_states(bound_inactive) & ~kTcpfListen);
          } else {
            dump_tcp_both_families(netns, out, bound_inactive);
          }
        } catch (const std::system_error&) {
          out.resize(before_tcp);  // kernel without the compat request: per family
          for (const Table& t : kTables) {
            if (t.protocol == IPPROTO_TCP) {
              dump_inet_sockets(t.protocol, t.family, netns, out, bound_inactive);
            }
          }
        }
      }
      source = SocketSource::kSockDiag;
      tell();
      return;
    } catch (const std::system_error& e) {
      fallback_reason = std::string("sock_diag unavailable (") + e.what() + "), read /proc/net";
      out.resize(first);
    }
  } else {
    fallback_reason = "procfs requested";
  }
  source = SocketSource::kProcfs;
  for (const Table& t : kTables) {
    if ((t.protocol == IPPROTO_TCP && want_tcp) || (t.protocol == IPPROTO_UDP && want_udp)) {
      // thread-self: the namespace of this thread, which may have setns()'d.
      const std::string path = std::string("/proc/thread-self/net/") + t.proc_file;
      try {
        read_proc_net(path, t.protocol, t.family, netns, out);
      } catch (const std::system_error&) {
        if (t.family != AF_INET6) {
          throw;  // IPv6 may be disabled; IPv4 tables always exist
        }
      }
    }
  }
  tell();
}

void name_bound_interfaces(const SocketList& sockets, size_t from,
                           std::vector<BoundInterface>& names) {
  for (size_t i = from; i < sockets.size(); ++i) {
    const SocketEntry& s = sockets[i];
    if (s.bound_ifindex == 0 || find_interface(names, s.netns, s.bound_ifindex) != nullptr) {
      continue;  // a handful of devices at most: a linear look is enough
    }
    char name[IF_NAMESIZE] = {};
    BoundInterface bound;
    bound.netns = s.netns;
    bound.ifindex = s.bound_ifindex;
    bound.name = ::if_indextoname(s.bound_ifindex, name) != nullptr
                     ? std::string(name)
                     : "if" + std::to_string(s.bound_ifindex);
    names.push_back(std::move(bound));
  }
}

const std::string* find_interface(const std::vector<BoundInterface>& names, uint64_t netns,
                                  uint32_t ifindex) {
  for (const BoundInterface& b : names) {
    if (b.ifindex == ifindex && b.netns == netns) {
      return &b.name;
    }
  }
  return nullptr;
}

const char* state_name(uint8_t protocol, uint8_t state) {
  if (protocol == IPPROTO_UDP) {
    return state == kStateEstablished ? "ESTABLISHED" : "UNCONN";
  }
  return state < kTcpStateCount ? kTcpStateNames[state] : "UNKNOWN";
}

int parse_state_name(uint8_t protocol, const std::string& name) {
  if (protocol == IPPROTO_UDP && strcasecmp(name.c_str(), "unconn") == 0) {
    return kStateClose;
  }
  for (int i = 1; i < kTcpStateCount; ++i) {
    if (strcasecmp(name.c_str(), kTcpStateNames[i]) == 0) {
      return i;
    }
  }
  for (const StateAlias& a : kStateAliases) {
    if (strcasecmp(name.c_str(), a.alias) == 0) {
      return a.state;
    }
  }
  return -1;
}

std::string format_address(uint8_t family, const std::array<uint8_t, 16>& addr) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(family == AF_INET6 ? AF_INET6 : AF_INET, addr.data(), buf, sizeof buf);
  return buf;
}

std::string format_endpoint(uint8_t family, const std::array<uint8_t, 16>& addr, uint16_t port) {
  if (family == AF_INET6) {
    return "[" + format_address(family, addr) + "]:" + std::to_string(port);
  }
  return format_address(family, addr) + ":" + std::to_string(port);
}

bool is_listening(const SocketEntry& s) {
  if (s.protocol == IPPROTO_TCP) {
    return s.state == kStateListen;
  }
  return s.state == kStateClose && s.remote_port == 0;
}

}  // namespace sonda::proc_scanner
