// sort_sockets (keys + gather) against a plain std::sort with the scan's
// documented order written out here, on random tables that collide a lot.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <tuple>

#include "scan.hpp"

namespace sonda::proc_scanner {
namespace {

// The order the README promises, as a tuple comparison.
bool reference_less(const SocketEntry& a, const SocketEntry& b) {
  return std::tie(a.netns, a.protocol, a.family, a.local_port, a.local_addr, a.remote_addr,
                  a.remote_port, a.state, a.inode) <
         std::tie(b.netns, b.protocol, b.family, b.local_port, b.local_addr, b.remote_addr,
                  b.remote_port, b.state, b.inode);
}

SocketList random_table(std::mt19937& rng, size_t n, bool two_namespaces, bool odd_v4) {
  SocketList table;
  std::uniform_int_distribution<int> small(0, 3);
  for (size_t i = 0; i < n; ++i) {
    SocketEntry s;
    s.protocol = small(rng) < 2 ? IPPROTO_TCP : IPPROTO_UDP;
    s.family = small(rng) < 2 ? AF_INET : AF_INET6;
    s.state = static_cast<uint8_t>(1 + small(rng) * 3);
    s.local_port = static_cast<uint16_t>(1000 + small(rng));  // few ports: many ties
    s.remote_port = static_cast<uint16_t>(small(rng) == 0 ? 0 : 40000 + rng() % 8);
    const int words = s.family == AF_INET6 ? 4 : 1;
    for (int w = 0; w < words; ++w) {
      const uint32_t l = 0x7f000000u + static_cast<uint32_t>(small(rng));
      const uint32_t r = small(rng) == 0 ? 0 : 0x7f000000u + static_cast<uint32_t>(rng() % 3);
      for (int b = 0; b < 4; ++b) {
        s.local_addr[static_cast<size_t>(4 * w + b)] = static_cast<uint8_t>(l >> (24 - 8 * b));
        s.remote_addr[static_cast<size_t>(4 * w + b)] = static_cast<uint8_t>(r >> (24 - 8 * b));
      }
    }
    if (odd_v4 && s.family == AF_INET && small(rng) == 0) {
      s.local_addr[9] = 1;  // not what sock_diag gives: must take the plain sort
    }
    s.inode = rng() % 4 == 0 ? 0 : rng();
    s.netns = two_namespaces && small(rng) == 0 ? 4026531999u : 4026531840u;
    table.push_back(s);
  }
  return table;
}

void expect_reference_order(SocketList table) {
  SocketList expected = table;
  std::sort(expected.begin(), expected.end(), reference_less);
  sort_sockets(table);
  ASSERT_EQ(table.size(), expected.size());
  for (size_t i = 0; i < table.size(); ++i) {
    ASSERT_TRUE(!reference_less(table[i], expected[i]) && !reference_less(expected[i], table[i]))
        << "at " << i;
  }
}

TEST(SortSockets, KeyedSortGivesTheReferenceOrder) {
  std::mt19937 rng(11);
  for (const size_t n : {0u, 1u, 63u, 64u, 1000u, 20000u}) {
    expect_reference_order(random_table(rng, n, false, false));
  }
}

TEST(SortSockets, MixedNamespacesAndUnusualAddressesStillSort) {
  std::mt19937 rng(12);
  expect_reference_order(random_table(rng, 5000, true, false));
  expect_reference_order(random_table(rng, 5000, false, true));
}

}  // namespace
}  // namespace sonda::proc_scanner
