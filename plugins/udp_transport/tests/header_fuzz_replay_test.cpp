// Runs the fuzz entry point over the checked-in corpus and over random and
// mutated inputs, so CI (g++, no libFuzzer) exercises the same code.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <vector>

#include "fuzz_entry.hpp"
#include "wire_header.hpp"

namespace sonda::udp {
namespace {

TEST(UdpHeaderFuzzReplay, CorpusPassesTheInvariants) {
  const std::filesystem::path dir = std::filesystem::path(UDP_TESTS_DIR) / "fuzz_corpus";
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(fuzz_receive_datagrams(bytes.data(), bytes.size()), 0) << entry.path();
    ++files;
  }
  EXPECT_GT(files, 0u);
}

TEST(UdpHeaderFuzzReplay, RandomAndMutatedInputsPassTheInvariants) {
  std::mt19937_64 rng(12345);
  for (int round = 0; round < 3000; ++round) {
    std::vector<uint8_t> input;
    const int datagrams = static_cast<int>(rng() % 40);
    for (int d = 0; d < datagrams; ++d) {
      std::vector<uint8_t> dg(kHeaderBytes + rng() % 16, 0);
      // Mostly valid headers with near, far, repeated and wild sequence
      // numbers, then random bit flips.
      const uint64_t seq = rng() % 4 == 0 ? rng() : rng() % 64;
      write_header({static_cast<uint32_t>(rng() % 3), seq, static_cast<int64_t>(rng())}, dg.data());
      for (uint8_t& b : dg) {
        if (rng() % 50 == 0) {
          b ^= static_cast<uint8_t>(1u << (rng() % 8));
        }
      }
      if (rng() % 5 == 0) {
        dg.resize(rng() % dg.size());
      }
      input.push_back(static_cast<uint8_t>(dg.size()));
      input.insert(input.end(), dg.begin(), dg.end());
    }
    ASSERT_EQ(fuzz_receive_datagrams(input.data(), input.size()), 0);
  }
}

}  // namespace
}  // namespace sonda::udp
