// The sonda session protocol, spoken on the data connection itself.
//
// Why: a throughput figure is only honest when measured by the receiver, and
// for a forward stream the receiver is the server. Like iperf3's control
// channel, but without a second connection: a sonda client opens each data
// connection with a 32-byte Hello; a sonda server that recognises the magic
// runs the requested session instead of its configured mode and, for a
// forward stream, writes Report records back on the otherwise idle reverse
// direction (every report_interval_ns and a final one at EOF). A server
// that is not sonda simply sees 32 extra bytes (clients can turn the hello
// off with handshake: false) and never answers, so the client falls back
// to TCP_INFO tcpi_bytes_acked and says so in its record.
//
// All integers are big-endian.
#pragma once

#include <endian.h>

#include <array>
#include <cstdint>
#include <cstring>

namespace sonda::tcp::wire {

inline constexpr std::array<char, 8> kHelloMagic = {'S', 'O', 'N', 'D', 'A', 'T', 'C', '1'};
inline constexpr std::array<char, 8> kReportMagic = {'S', 'O', 'N', 'D', 'A', 'R', 'P', '1'};
inline constexpr size_t kHelloBytes = 32;
inline constexpr size_t kReportBytes = 40;

/// What the client asks the server to do on this connection.
enum class Op : uint32_t {
  kSink = 1,    ///< client sends; server counts and reports
  kSource = 2,  ///< server sends until the client closes
  kRr = 3,      ///< server reads request_bytes, answers response_bytes
};

/// First 32 bytes a sonda client sends.
struct Hello {
  Op op = Op::kSink;
  uint32_t report_interval_ms = 0;  ///< kSink: 0 = final report only
  uint32_t request_bytes = 0;       ///< kRr
  uint32_t response_bytes = 0;      ///< kRr
  uint64_t flags = 0;               ///< kFlagRecvTrunc | kFlagRecvMmap | kFlagSendfile
};

/// Hello flag: the receiving server should read with MSG_TRUNC.
inline constexpr uint64_t kFlagRecvTrunc = 1;
/// Hello flag: the receiving server should map the payload
/// (TCP_ZEROCOPY_RECEIVE) where the kernel can, and copy the rest.
inline constexpr uint64_t kFlagRecvMmap = 2;
/// Hello flag: the stream's sender uses sendfile() (its `sendfile`). kSource:
/// the server should send that way; kSink: the client does, and a server
/// without a set recv_size reads kSendfileRecvBytes at a time.
inline constexpr uint64_t kFlagSendfile = 4;

/// A receiver's cumulative count, sent by the server for kSink sessions.
struct Report {
  bool final = false;
  uint32_t seq = 0;
  uint64_t elapsed_ns = 0;  ///< since the first payload byte (receiver clock)
  uint64_t bytes = 0;       ///< payload bytes received so far (hello excluded)
  uint64_t cpu_ns = 0;      ///< receiver thread CPU time so far
};

inline void put32(char* p, uint32_t v) {
  v = htobe32(v);
  std::memcpy(p, &v, 4);
}
inline void put64(char* p, uint64_t v) {
  v = htobe64(v);
  std::memcpy(p, &v, 8);
}
inline uint32_t get32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return be32toh(v);
}
inline uint64_t get64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return be64toh(v);
}

/// Serialises a Hello into exactly kHelloBytes.
inline std::array<char, kHelloBytes> encode(const Hello& h) {
  std::array<char, kHelloBytes> b{};
  std::memcpy(b.data(), kHelloMagic.data(), 8);
  put32(b.data() + 8, static_cast<uint32_t>(h.op));
  put32(b.data() + 12, h.report_interval_ms);
  put32(b.data() + 16, h.request_bytes);
  put32(b.data() + 20, h.response_bytes);
  put64(b.data() + 24, h.flags);
  return b;
}

/// True when `b` (kHelloBytes) is a well-formed Hello; fills `out`.
inline bool decode(const char* b, Hello& out) {
  if (std::memcmp(b, kHelloMagic.data(), 8) != 0) {
    return false;
  }
  const uint32_t op = get32(b + 8);
  if (op < 1 || op > 3) {
    return false;
  }
  out.op = static_cast<Op>(op);
  out.report_interval_ms = get32(b + 12);
  out.request_bytes = get32(b + 16);
  out.response_bytes = get32(b + 20);
  out.flags = get64(b + 24);
  return true;
}

/// Serialises a Report into exactly kReportBytes.
inline std::array<char, kReportBytes> encode(const Report& r) {
  std::array<char, kReportBytes> b{};
  std::memcpy(b.data(), kReportMagic.data(), 8);
  put32(b.data() + 8, r.final ? 1U : 0U);
  put32(b.data() + 12, r.seq);
  put64(b.data() + 16, r.elapsed_ns);
  put64(b.data() + 24, r.bytes);
  put64(b.data() + 32, r.cpu_ns);
  return b;
}

/// True when `b` (kReportBytes) is a well-formed Report; fills `out`.
inline bool decode(const char* b, Report& out) {
  if (std::memcmp(b, kReportMagic.data(), 8) != 0) {
    return false;
  }
  out.final = get32(b + 8) != 0;
  out.seq = get32(b + 12);
  out.elapsed_ns = get64(b + 16);
  out.bytes = get64(b + 24);
  out.cpu_ns = get64(b + 32);
  return true;
}

}  // namespace sonda::tcp::wire
