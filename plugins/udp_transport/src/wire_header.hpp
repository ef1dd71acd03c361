// The header every sonda UDP datagram starts with, and its bounds-checked parser.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sonda::udp {

/// "SNDU" in network byte order: marks a datagram as sonda's.
inline constexpr uint32_t kMagic = 0x534E4455u;
/// Bytes taken by the header; the smallest datagram a stream can send.
inline constexpr size_t kHeaderBytes = 24;

/// One datagram's identity. Wire layout, all big-endian:
///   magic u32 | flow_id u32 | seq u64 | send_ns i64 (sender's CLOCK_MONOTONIC)
struct WireHeader {
  uint32_t flow_id = 0;
  uint64_t seq = 0;
  int64_t send_ns = 0;
};

/// Why a datagram was or was not accepted by parse_header().
enum class ParseStatus { kOk, kTooShort, kForeignMagic };

/// Writes `h` into the first kHeaderBytes of `out` (caller guarantees room).
void write_header(const WireHeader& h, uint8_t* out);

/// Parses the header from `data`. Never reads past `len`; on anything but kOk
/// `*out` is left untouched.
ParseStatus parse_header(const uint8_t* data, size_t len, WireHeader* out);

}  // namespace sonda::udp
