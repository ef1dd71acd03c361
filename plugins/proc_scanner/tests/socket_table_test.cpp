// The TCP dump's bind-table shortcut: the kernel's socket counts decide
// whether a bound-only socket can exist, and the dump without the bind-table
// walk misses nothing else. Real sockets, the real /proc/net/sockstat.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>

#include "proc_table.hpp"
#include "socket_table.hpp"
#include "test_support.hpp"

namespace sonda::proc_scanner {
namespace {

TEST(TcpSocketCounts, ParseIpv4AndIpv6Lines) {
  const auto counts = parse_tcp_socket_counts(
      "sockets: used 19008\nTCP: inuse 18051 orphan 0 tw 12 alloc 18060 mem 3\n"
      "UDP: inuse 950 mem 0\n",
      "TCP6: inuse 7\nUDP6: inuse 2\n");
  ASSERT_TRUE(counts.has_value());
  EXPECT_EQ(counts->allocated, 18060u);
  EXPECT_EQ(counts->hashed, 18058u);
  EXPECT_TRUE(bound_inactive_possible(counts));  // two sockets are not hashed here
}

TEST(TcpSocketCounts, NoIpv6FileCountsIpv4Only) {
  const auto counts =
      parse_tcp_socket_counts("TCP: inuse 5 orphan 0 tw 0 alloc 5 mem 0\n", "");
  ASSERT_TRUE(counts.has_value());
  EXPECT_EQ(counts->hashed, 5u);
  EXPECT_FALSE(bound_inactive_possible(counts));
}

TEST(TcpSocketCounts, MissingOrMalformedMeansUnknownAndTheWalkStays) {
  EXPECT_FALSE(parse_tcp_socket_counts("", "").has_value());
  EXPECT_FALSE(parse_tcp_socket_counts("TCP: inuse 5 orphan 0\n", "").has_value());
  EXPECT_FALSE(parse_tcp_socket_counts("TCP: inuse x alloc 5\n", "").has_value());
  EXPECT_FALSE(parse_tcp_socket_counts("UDP: inuse 5 alloc 5\n", "").has_value());
  EXPECT_TRUE(bound_inactive_possible(std::nullopt));
}

bool kernel_lists_bound_inactive() {
  utsname u{};
  int major = 0;
  int minor = 0;
  return ::uname(&u) == 0 && std::sscanf(u.release, "%d.%d", &major, &minor) == 2 &&
         (major > 6 || (major == 6 && minor >= 7));
}

TEST(TcpDump, ABoundOnlySocketIsCountedAndListedOnlyByTheBindTableWalk) {
  // A socket bound and nothing else: allocated, not hashed.
  const int bound = testing::bound_socket(AF_INET, SOCK_STREAM, "127.0.0.1", 0);
  const uint16_t port = testing::local_port(bound);
  const int listener = testing::bound_socket(AF_INET, SOCK_STREAM, "127.0.0.1", 0, 8);
  const uint16_t listen_port = testing::local_port(listener);

  const auto counts = read_tcp_socket_counts();
  ASSERT_TRUE(counts.has_value()) << "cannot read /proc/thread-self/net/sockstat";
  EXPECT_GE(counts->allocated, counts->hashed + 1);
  EXPECT_TRUE(bound_inactive_possible(counts))
      << "a bound-only socket is held, yet every allocated TCP socket counts as hashed";

  const uint64_t netns = current_netns();
  SocketList with_walk;
  SocketList without_walk;
  dump_tcp_both_families(netns, with_walk, true);
  dump_tcp_both_families(netns, without_walk, false);
  const auto find = [&](const SocketList& list, uint16_t p) {
    for (const SocketEntry& s : list) {
      if (s.local_port == p && s.remote_port == 0) {
        return &s;
      }
    }
    return static_cast<const SocketEntry*>(nullptr);
  };
  ASSERT_NE(find(with_walk, listen_port), nullptr);
  ASSERT_NE(find(without_walk, listen_port), nullptr) << "the listener must not need the walk";
  EXPECT_EQ(find(without_walk, port), nullptr) << "the bind-table bit did not change the dump";
  if (kernel_lists_bound_inactive()) {
    const SocketEntry* s = find(with_walk, port);
    ASSERT_NE(s, nullptr) << "kernel >= 6.7 should list the bound-only socket";
    EXPECT_EQ(s->state, 7) << "bound-only sockets are listed in state CLOSE";
  }
  ::close(listener);
  ::close(bound);
}

}  // namespace
}  // namespace sonda::proc_scanner
