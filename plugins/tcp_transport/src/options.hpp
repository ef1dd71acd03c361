// Typed, validated options of the tcp_transport actions.
//
// The host normalises parameters (durations -> ns, sizes -> bytes, rates ->
// objects) and fills declared defaults; the parsers here still apply the same
// defaults so the bench driver and tests can pass partial JSON. Every range is
// checked once here ("validate, then trust"); the action code trusts the
// structs.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace sonda::tcp {

using json = nlohmann::json;

/// Write/read size used by stream and the server unless told otherwise.
/// 1 MiB measured cheapest per byte on loopback (bytes per CPU-second of
/// sender + receiver: 64 KiB 1.3, 256 KiB 1.6, 1 MiB 2.1 GB; README
/// "Defaults").
inline constexpr int64_t kDefaultMessageBytes = 1024 * 1024;
/// Socket buffers requested by default: 0 keeps kernel autotuning, which
/// measured 1.5-2.5x faster on loopback than a fixed 4 MiB (SO_*BUF locks the
/// buffer and the receive window; tcp_rmem may autotune to 32 MiB) with far
/// fewer retransmissions. Set sndbuf/rcvbuf to fix them.
inline constexpr int64_t kDefaultSocketBufferBytes = 0;

/// Socket tuning shared by every action.
struct SocketTuning {
  int64_t send_buffer_bytes = kDefaultSocketBufferBytes;  ///< 0 = kernel autotuning
  int64_t recv_buffer_bytes = kDefaultSocketBufferBytes;  ///< 0 = kernel autotuning
  bool nodelay = false;                                   ///< TCP_NODELAY
  std::string congestion;                                 ///< "" = system default
  int64_t mss_bytes = 0;                                  ///< TCP_MAXSEG, 0 = default
};

/// `server` action.
struct ServerOptions {
  std::string listen = "127.0.0.1:0";
  std::string mode = "echo";  ///< sink | source | echo
  int64_t message_bytes = kDefaultMessageBytes;
  bool recv_trunc = false;  ///< sink: MSG_TRUNC, skip the copy to user space
  int backlog = 1024;
  SocketTuning tuning;
};

/// `stream` action.
struct StreamOptions {
  std::string target;
  int64_t duration_ns = 5'000'000'000;
  int64_t bytes = 0;  ///< total to send (split across streams); 0 = use duration
  int parallel = 1;
  bool reverse = false;
  bool bidir = false;
  int64_t message_bytes = kDefaultMessageBytes;
  int64_t interval_ns = 1'000'000'000;
  bool recv_trunc = false;
  bool handshake = true;  ///< send the 32-byte sonda hello (see wire.hpp)
  int64_t timeout_ns = 5'000'000'000;
  SocketTuning tuning;
};

/// `rr` and `crr` actions.
struct RrOptions {
  std::string target;
  int64_t duration_ns = 5'000'000'000;
  int64_t payload_bytes = 64;
  int64_t response_bytes = 0;  ///< 0 = same as payload (echo)
  int connections = 1;
  int outstanding = 1;
  double rate_per_sec = 0;  ///< transactions/s over all connections; 0 = as fast as possible
  int64_t warmup_ns = 0;
  int64_t interval_ns = 1'000'000'000;
  bool verify = false;
  int64_t timeout_ns = 5'000'000'000;
  SocketTuning tuning;
};

/// Parsers: apply defaults, check ranges, throw sonda::StepError(kind
/// "invalid_param") naming the parameter and the allowed range.
ServerOptions parse_server_options(const json& params);
StreamOptions parse_stream_options(const json& params);
RrOptions parse_rr_options(const json& params, bool is_crr);

}  // namespace sonda::tcp
