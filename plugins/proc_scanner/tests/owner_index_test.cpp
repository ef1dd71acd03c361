// The owner index's hash lookup against a plain scan of the same pairs, and
// the huge-page allocator the large scan arrays use.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <set>

#include "proc_table.hpp"
#include "socket_table.hpp"

namespace sonda::proc_scanner {
namespace {

// The ranges a linear scan of the sorted, deduplicated pairs gives.
std::pair<size_t, size_t> scan_for(const OwnerIndex& index, uint64_t inode) {
  size_t first = 0;
  while (first < index.inode_owners.size() && index.inode_owners[first].first < inode) {
    ++first;
  }
  size_t last = first;
  while (last < index.inode_owners.size() && index.inode_owners[last].first == inode) {
    ++last;
  }
  return {first, last};
}

TEST(OwnerIndex, LookupMatchesALinearScan) {
  OwnerIndex index;
  std::mt19937_64 rng(7);
  std::set<uint64_t> inodes;
  // Runs of nearly consecutive inodes (as the kernel hands them out), a few
  // far apart, shared sockets (a forked server) and a dup'd fd.
  for (uint64_t base : {1000ull, 5'000'000ull, 1ull << 40}) {
    for (uint64_t i = 0; i < 3000; ++i) {
      const uint64_t inode = base + i * (1 + rng() % 3);
      inodes.insert(inode);
      index.inode_owners.emplace_back(inode, static_cast<uint32_t>(rng() % 50));
      if (i % 7 == 0) {
        index.inode_owners.emplace_back(inode, 50);  // a second owner
      }
      if (i % 11 == 0) {
        index.inode_owners.emplace_back(inode, 50);  // the same owner twice: folded
      }
    }
  }
  index.inode_owners.emplace_back(0, 3);  // never a socket: not looked up
  index.index_inodes();
  ASSERT_TRUE(std::is_sorted(index.inode_owners.begin(), index.inode_owners.end()));
  ASSERT_EQ(std::adjacent_find(index.inode_owners.begin(), index.inode_owners.end()),
            index.inode_owners.end());
  for (const uint64_t inode : inodes) {
    const auto [first, last] = index.owners_of(inode);
    ASSERT_EQ(std::make_pair(first, last), scan_for(index, inode)) << inode;
    ASSERT_GE(last - first, 1u);
  }
  for (const uint64_t absent : {uint64_t{1}, uint64_t{999}, uint64_t{4'999'999}, uint64_t{0},
                                ~uint64_t{0}}) {
    const auto [first, last] = index.owners_of(absent);
    EXPECT_EQ(first, last) << absent;
  }
  index.drop_owners();
  EXPECT_EQ(index.owners_of(*inodes.begin()), std::make_pair(size_t{0}, size_t{0}));
}

TEST(OwnerIndex, EmptyIndexFindsNothing) {
  OwnerIndex index;
  EXPECT_EQ(index.owners_of(42), std::make_pair(size_t{0}, size_t{0}));
  index.index_inodes();
  EXPECT_EQ(index.owners_of(42), std::make_pair(size_t{0}, size_t{0}));
}

TEST(HugePageAllocator, LargeArraysAreAlignedAndHoldTheirValues) {
  SocketList sockets;
  sockets.reserve(40000);  // ~2.8 MiB: a mapping of its own
  EXPECT_EQ(reinterpret_cast<uintptr_t>(sockets.data()) % common::kHugePageBytes, 0u);
  for (uint32_t i = 0; i < 100000; ++i) {  // grows past the reservation, twice
    SocketEntry s;
    s.inode = i;
    sockets.push_back(s);
  }
  for (uint32_t i = 0; i < 100000; ++i) {
    ASSERT_EQ(sockets[i].inode, i);
  }
  SocketList small(10);  // below the threshold: operator new
  small[9].inode = 9;
  EXPECT_EQ(small[9].inode, 9u);
  sockets.swap(small);
  EXPECT_EQ(sockets.size(), 10u);
  EXPECT_EQ(small.size(), 100000u);
}

}  // namespace
}  // namespace sonda::proc_scanner
