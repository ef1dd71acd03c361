// Request payloads for rr/crr that make corruption detectable: every byte
// depends on the transaction number and its offset, so a flipped, dropped or
// replayed byte in the echo shows up as a mismatch at a known offset.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "wire.hpp"

namespace sonda::tcp {

/// Fills `buf` with the pattern of transaction `seq`.
inline void fill_payload(std::vector<char>& buf, uint64_t seq) {
  const uint32_t seed = static_cast<uint32_t>(seq * 2654435761ULL >> 7);
  for (size_t i = 0; i < buf.size(); ++i) {
    buf[i] = static_cast<char>((seed >> (8 * (i & 3))) + i * 167);
  }
  // Never start with the sonda hello magic's first byte, so a sonda echo
  // server never waits to see whether a hello is coming.
  if (!buf.empty() && buf[0] == wire::kHelloMagic[0]) {
    buf[0] = static_cast<char>(buf[0] + 1);
  }
}

/// First offset at which `got` differs from `expected`, if any.
inline std::optional<size_t> first_mismatch(const std::vector<char>& expected, const std::vector<char>& got) {
  for (size_t i = 0; i < expected.size() && i < got.size(); ++i) {
    if (expected[i] != got[i]) {
      return i;
    }
  }
  return std::nullopt;
}

/// "byte 17 (sent 0x3a, got 0x3b)" for a verification failure message.
inline std::string describe_mismatch(const std::vector<char>& expected, const std::vector<char>& got, size_t at) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "byte %zu (sent 0x%02x, got 0x%02x)", at,
                static_cast<unsigned>(static_cast<unsigned char>(expected[at])),
                static_cast<unsigned>(static_cast<unsigned char>(got[at])));
  return buf;
}

/// The hello an rr/crr connection needs: only when the response size differs
/// from the request (a plain echo server, sonda's or not, needs none).
inline std::optional<wire::Hello> rr_hello(int64_t payload_bytes, int64_t response_bytes) {
  if (response_bytes == 0 || response_bytes == payload_bytes) {
    return std::nullopt;
  }
  wire::Hello h;
  h.op = wire::Op::kRr;
  h.request_bytes = static_cast<uint32_t>(payload_bytes);
  h.response_bytes = static_cast<uint32_t>(response_bytes);
  return h;
}

}  // namespace sonda::tcp
