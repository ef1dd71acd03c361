// Options of the tcp_transport actions and their parameter tables: one table
// per action is both the schema the host validates (describe, README) and
// the binder that fills the struct (sonda/params.hpp). The rules across
// parameters live in the tables' checks (options.cpp); the action code
// trusts the structs ("validate, then trust").
#pragma once

#include <cstdint>
#include <optional>
#include <sonda/plugin.hpp>
#include <string>

namespace sonda::tcp {

using json = nlohmann::json;

/// Write/read size used by stream and the server unless told otherwise
/// ("1MiB" in the tables). 1 MiB measured cheapest per byte on loopback
/// (bytes per CPU-second of sender + receiver: 64 KiB 1.3, 256 KiB 1.6,
/// 1 MiB 2.1 GB; README "Defaults").
inline constexpr int64_t kDefaultMessageBytes = 1024 * 1024;
/// Read size of a receiving stream ("64KiB" in the tables), apart from the
/// write size: on loopback a reader that takes 64 KiB per recv() moved
/// 1.26x the bytes of one taking 1 MiB (median of 8 alternated pairs, 1 MiB
/// writes both), with 1.15-1.28x the bytes per CPU-second. A short read
/// gives the socket back sooner and more often, so more of the receive-side
/// TCP work (segments queued to the socket's backlog while the reader holds
/// it, TcpExtTCPBacklogCoalesce 4x) runs on the reader's core instead of in
/// the sender's softirq, and the sender is the bottleneck (README Defaults).
inline constexpr int64_t kDefaultRecvBytes = 64 * 1024;
/// A sonda server's read size for a client that sends with sendfile() when
/// its `recv_size` is not set: with the sender's copy gone, 256 KiB reads
/// moved 1.16-1.18x the bytes of 64 KiB ones (42.6 against 36.6 Gbit/s, 10
/// alternated pairs), while a copying sender's stream stays fastest at 64
/// KiB (1.22x 256 KiB). The hello says how the client sends (wire.hpp).
inline constexpr int64_t kSendfileRecvBytes = 256 * 1024;
/// Socket buffers requested by default ("0" in the tables): 0 keeps kernel
/// autotuning, which measured 1.5-2.5x faster on loopback than a fixed
/// 4 MiB (SO_*BUF locks the buffer and the receive window; tcp_rmem may
/// autotune to 32 MiB) with far fewer retransmissions. Set sndbuf/rcvbuf to
/// fix them.
inline constexpr int64_t kDefaultSocketBufferBytes = 0;

/// Socket tuning shared by every action.
struct SocketTuning {
  /// 0 or absent = kernel autotuning (rr/crr declare no default: absent).
  std::optional<int64_t> send_buffer_bytes;
  std::optional<int64_t> recv_buffer_bytes;
  bool nodelay = false;                   ///< TCP_NODELAY
  std::optional<std::string> congestion;  ///< absent = system default
  int64_t mss_bytes = 0;                  ///< TCP_MAXSEG, 0 = default
};

/// `server` action.
struct ServerOptions {
  std::string listen;
  std::string mode;  ///< sink | source | echo
  int64_t message_bytes = 0;
  /// sink: bytes per recv(); absent = kDefaultRecvBytes, or
  /// kSendfileRecvBytes for a sonda client that sends with sendfile().
  std::optional<int64_t> recv_bytes;
  bool recv_trunc = false;  ///< sink: MSG_TRUNC, skip the copy to user space
  bool recv_mmap = false;   ///< sink: TCP_ZEROCOPY_RECEIVE, map what the kernel can
  std::optional<bool> sendfile;  ///< source: sendfile(), no send-side copy; unset: uses_sendfile()
  int backlog = 0;
  SocketTuning tuning;
};

/// `stream` action.
struct StreamOptions {
  std::string target;
  int64_t duration_ns = 0;
  int64_t bytes = 0;  ///< total to send (split across streams); 0 = use duration
  int parallel = 0;
  bool reverse = false;
  bool bidir = false;
  int64_t message_bytes = 0;
  int64_t recv_bytes = 0;  ///< bytes per recv() where this client receives
  int64_t interval_ns = 0;
  bool recv_trunc = false;
  bool recv_mmap = false;  ///< the receiver maps the payload (TCP_ZEROCOPY_RECEIVE) where it can
  bool zerocopy = false;   ///< the client's sends use MSG_ZEROCOPY (SO_ZEROCOPY)
  /// The sender (client, or a sonda server in reverse) uses sendfile()
  /// (iperf3 -Z); unset: uses_sendfile() (socket_io.hpp).
  std::optional<bool> sendfile;
  bool handshake = false;  ///< send the 32-byte sonda hello (see wire.hpp)
  int64_t timeout_ns = 0;
  SocketTuning tuning;
};

/// `rr` and `crr` actions.
struct RrOptions {
  std::string target;
  int64_t duration_ns = 0;
  int64_t payload_bytes = 0;
  int64_t response_bytes = 0;  ///< 0 = same as payload (echo)
  int connections = 0;
  int outstanding = 1;  ///< crr has no such parameter: one at a time
  Rate rate;            ///< transactions/s (packets_per_sec) over all connections; unlimited = as fast as possible
  int64_t warmup_ns = 0;
  int64_t interval_ns = 0;
  bool verify = false;
  int64_t timeout_ns = 0;
  SocketTuning tuning;

  /// Transactions per second asked for; 0 = as fast as possible.
  double rate_per_sec() const { return rate.packets_per_sec(); }
};

/// The rules across parameters (and the kernel's limits the spec cannot
/// say); each fails with sonda::invalid_param naming the parameter.
void check_server_options(const ServerOptions& o);
void check_stream_options(const StreamOptions& o);
void check_rr_options(const RrOptions& o);

namespace params_detail {

inline constexpr double kDay = 86400e9;

/// sndbuf, rcvbuf, nodelay, congestion, mss: in every table, with the
/// action's defaults.
template <class Options>
consteval auto tuning_params(const char* buffer_default, const char* nodelay_default) {
  return sonda::param_group(
      sonda::param<&Options::tuning, &SocketTuning::send_buffer_bytes>(
          {.name = "sndbuf", .type = SONDA_PARAM_SIZE, .default_value = buffer_default, .min = 0,
           .max = 1073741824, .unit = "bytes",
           .doc = "SO_SNDBUF request (0: kernel autotuning; a server sets it on the listener)"}),
      sonda::param<&Options::tuning, &SocketTuning::recv_buffer_bytes>(
          {.name = "rcvbuf", .type = SONDA_PARAM_SIZE, .default_value = buffer_default, .min = 0,
           .max = 1073741824, .unit = "bytes",
           .doc = "SO_RCVBUF request (0: kernel autotuning; a server sets it on the listener)"}),
      sonda::param<&Options::tuning, &SocketTuning::nodelay>(
          {.name = "nodelay", .type = SONDA_PARAM_BOOL, .default_value = nodelay_default,
           .doc = "TCP_NODELAY: send small segments at once"}),
      sonda::param<&Options::tuning, &SocketTuning::congestion>(
          {.name = "congestion", .type = SONDA_PARAM_STRING,
           .doc = "congestion control algorithm (TCP_CONGESTION), e.g. cubic, bbr; default: the system's"}),
      sonda::param<&Options::tuning, &SocketTuning::mss_bytes>(
          {.name = "mss", .type = SONDA_PARAM_SIZE, .default_value = "0", .min = 0, .max = 65495,
           .unit = "bytes", .doc = "TCP_MAXSEG (0: path default)"}));
}

/// What rr and crr share (crr has no `outstanding`).
inline constexpr auto kRrCommon = sonda::param_group(
    sonda::param<&RrOptions::target>(
        {.name = "target", .type = SONDA_PARAM_ENDPOINT, .required = 1, .doc = "server host:port (any echo server)"}),
    sonda::param<&RrOptions::duration_ns>({.name = "duration", .type = SONDA_PARAM_DURATION, .default_value = "5s",
                                           .min = 1e6, .max = kDay, .unit = "ns",
                                           .doc = "how long to run, warm-up included"}),
    sonda::param<&RrOptions::payload_bytes>({.name = "size", .type = SONDA_PARAM_SIZE, .default_value = "64B",
                                             .min = 1, .max = 67108864, .unit = "bytes", .doc = "request size"}),
    sonda::param<&RrOptions::response_bytes>(
        {.name = "response_size", .type = SONDA_PARAM_SIZE, .default_value = "0", .min = 0, .max = 67108864,
         .unit = "bytes", .doc = "response size (0: same as size, an echo; other sizes need a sonda server)"}),
    sonda::param<&RrOptions::connections>({.name = "parallel", .type = SONDA_PARAM_INT, .default_value = "1",
                                           .min = 1, .max = 1024,
                                           .doc = "concurrent connections (crr: concurrent connect loops)"}),
    sonda::param<&RrOptions::rate>(
        {.name = "rate", .type = SONDA_PARAM_RATE, .default_value = "unlimited",
         .doc = "transactions/s over all connections, e.g. 10kpps; paced latency counts from the scheduled send "
                "(unlimited: as fast as possible)"}),
    sonda::param<&RrOptions::warmup_ns>({.name = "warmup", .type = SONDA_PARAM_DURATION, .default_value = "0s",
                                         .min = 0, .max = kDay, .unit = "ns",
                                         .doc = "first part of the run excluded from the figures (reported)"}),
    sonda::param<&RrOptions::interval_ns>({.name = "interval", .type = SONDA_PARAM_DURATION, .default_value = "1s",
                                           .min = 1e7, .max = kDay, .unit = "ns",
                                           .doc = "interval between samples"}),
    sonda::param<&RrOptions::verify>({.name = "verify", .type = SONDA_PARAM_BOOL, .default_value = "false",
                                      .doc = "check every response is exactly its request (needs an echo)"}),
    sonda::param<&RrOptions::timeout_ns>({.name = "timeout", .type = SONDA_PARAM_DURATION, .default_value = "5s",
                                          .min = 1e6, .max = kDay, .unit = "ns",
                                          .doc = "connect timeout and longest wait for a response"}));

}  // namespace params_detail

/// `server` parameters.
inline constexpr auto kServerParams = sonda::params<ServerOptions, &check_server_options>(
    sonda::param<&ServerOptions::listen>(
        {.name = "listen", .type = SONDA_PARAM_ENDPOINT, .default_value = "127.0.0.1:0",
         .doc = "address to listen on, host:port or [v6]:port; port 0 picks a free one (reported)"}),
    sonda::param<&ServerOptions::mode>({.name = "mode", .type = SONDA_PARAM_STRING, .default_value = "echo",
                                        .choices = "sink|source|echo",
                                        .doc = "what to do with a client that does not speak the sonda hello"}),
    sonda::param<&ServerOptions::message_bytes>({.name = "size", .type = SONDA_PARAM_SIZE, .default_value = "1MiB",
                                                 .min = 1, .max = 67108864, .unit = "bytes",
                                                 .doc = "bytes per send() when sending (source)"}),
    sonda::param<&ServerOptions::recv_bytes>({.name = "recv_size", .type = SONDA_PARAM_SIZE,
                                              .min = 1, .max = 67108864, .unit = "bytes",
                                              .doc = "bytes per recv() when receiving (sink); unset: 64 KiB, or 256 KiB "
                                                     "from a sonda client that sends with sendfile (each measured "
                                                     "fastest, README Defaults)"}),
    sonda::param<&ServerOptions::recv_trunc>(
        {.name = "recv_trunc", .type = SONDA_PARAM_BOOL, .default_value = "false",
         .doc = "sink: recv with MSG_TRUNC (no copy to user space; reported as such)"}),
    sonda::param<&ServerOptions::recv_mmap>(
        {.name = "recv_mmap", .type = SONDA_PARAM_BOOL, .default_value = "false",
         .doc = "sink: map the payload into memory (TCP_ZEROCOPY_RECEIVE) where the kernel can, copy the rest; "
                "the record counts mapped and copied bytes"}),
    sonda::param<&ServerOptions::sendfile>(
        {.name = "sendfile", .type = SONDA_PARAM_BOOL,
         .doc = "source: send with sendfile() from a file (no send-side copy), as iperf3 -Z; unset: when size is "
                "64 KiB or more; a sonda client says per stream (its sendfile)"}),
    sonda::param<&ServerOptions::backlog>({.name = "backlog", .type = SONDA_PARAM_INT, .default_value = "1024",
                                           .min = 1, .max = 65535, .doc = "listen() backlog"}),
    params_detail::tuning_params<ServerOptions>("0", "true"));

/// `stream` parameters.
inline constexpr auto kStreamParams = sonda::params<StreamOptions, &check_stream_options>(
    sonda::param<&StreamOptions::target>(
        {.name = "target", .type = SONDA_PARAM_ENDPOINT, .required = 1, .doc = "server host:port"}),
    sonda::param<&StreamOptions::duration_ns>({.name = "duration", .type = SONDA_PARAM_DURATION,
                                               .default_value = "5s", .min = 1e6, .max = params_detail::kDay,
                                               .unit = "ns", .doc = "how long to send (ignored when bytes is set)"}),
    sonda::param<&StreamOptions::bytes>(
        {.name = "bytes", .type = SONDA_PARAM_SIZE, .default_value = "0", .min = 0, .max = 4.6e18, .unit = "bytes",
         .doc = "total bytes per direction, split across streams (0: use duration)"}),
    sonda::param<&StreamOptions::parallel>({.name = "parallel", .type = SONDA_PARAM_INT, .default_value = "1",
                                            .min = 1, .max = 128, .doc = "connections per direction"}),
    sonda::param<&StreamOptions::reverse>({.name = "reverse", .type = SONDA_PARAM_BOOL, .default_value = "false",
                                           .doc = "server sends, client receives"}),
    sonda::param<&StreamOptions::bidir>({.name = "bidir", .type = SONDA_PARAM_BOOL, .default_value = "false",
                                         .doc = "both directions at once (parallel connections each way)"}),
    sonda::param<&StreamOptions::message_bytes>({.name = "size", .type = SONDA_PARAM_SIZE, .default_value = "1MiB",
                                                 .min = 1, .max = 67108864, .unit = "bytes",
                                                 .doc = "bytes per send() call"}),
    sonda::param<&StreamOptions::recv_bytes>({.name = "recv_size", .type = SONDA_PARAM_SIZE, .default_value = "64KiB",
                                              .min = 1, .max = 67108864, .unit = "bytes",
                                              .doc = "bytes per recv() call where this client receives (reverse, "
                                                     "bidir); a sonda server has its own recv_size"}),
    sonda::param<&StreamOptions::interval_ns>({.name = "interval", .type = SONDA_PARAM_DURATION,
                                               .default_value = "1s", .min = 1e7, .max = params_detail::kDay,
                                               .unit = "ns", .doc = "interval between samples"}),
    sonda::param<&StreamOptions::recv_trunc>(
        {.name = "recv_trunc", .type = SONDA_PARAM_BOOL, .default_value = "false",
         .doc = "receiver uses MSG_TRUNC: skips the copy to user space (reported as such; not comparable to "
                "copying)"}),
    sonda::param<&StreamOptions::recv_mmap>(
        {.name = "recv_mmap", .type = SONDA_PARAM_BOOL, .default_value = "false",
         .doc = "the receiver (a sonda server, or this client with reverse) maps the payload "
                "(TCP_ZEROCOPY_RECEIVE) where the kernel can and copies the rest; the receiver's record counts "
                "mapped and copied bytes"}),
    sonda::param<&StreamOptions::zerocopy>(
        {.name = "zerocopy", .type = SONDA_PARAM_BOOL, .default_value = "false",
         .doc = "the client's sends use MSG_ZEROCOPY: pages pinned, not copied; the record counts the sends the "
                "kernel copied anyway (all of them on loopback)"}),
    sonda::param<&StreamOptions::sendfile>(
        {.name = "sendfile", .type = SONDA_PARAM_BOOL,
         .doc = "the sender (this client, or a sonda server with reverse/bidir) sends with sendfile() from a "
                "file, as iperf3 -Z does: the kernel takes the pages by reference, no send-side copy (the "
                "receiver still copies); unset: when size is 64 KiB or more and zerocopy is off; false: copy"}),
    sonda::param<&StreamOptions::handshake>(
        {.name = "handshake", .type = SONDA_PARAM_BOOL, .default_value = "true",
         .doc = "open with the 32-byte sonda hello so a sonda server reports receiver counts"}),
    sonda::param<&StreamOptions::timeout_ns>({.name = "timeout", .type = SONDA_PARAM_DURATION,
                                              .default_value = "5s", .min = 1e6, .max = params_detail::kDay,
                                              .unit = "ns", .doc = "connect timeout and longest tolerated stall"}),
    params_detail::tuning_params<StreamOptions>("0", "false"));

/// `rr` parameters.
inline constexpr auto kRrParams = sonda::params<RrOptions, &check_rr_options>(
    params_detail::kRrCommon,
    sonda::param<&RrOptions::outstanding>({.name = "outstanding", .type = SONDA_PARAM_INT, .default_value = "1",
                                           .min = 1, .max = 4096, .doc = "requests in flight per connection"}),
    params_detail::tuning_params<RrOptions>(nullptr, "true"));

/// `crr` parameters: rr's without `outstanding` (one request per connection).
inline constexpr auto kCrrParams = sonda::params<RrOptions, &check_rr_options>(
    params_detail::kRrCommon, params_detail::tuning_params<RrOptions>(nullptr, "true"));

}  // namespace sonda::tcp
