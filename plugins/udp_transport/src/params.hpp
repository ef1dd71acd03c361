// The udp_transport actions' parameters: one table per action that is the
// schema the host validates (describe, README) and the binder that fills the
// options struct (sonda/params.hpp). Rules across parameters are the tables'
// checks, next to their actions (server_action.cpp, stream_action.cpp).
#pragma once

#include <cstdint>
#include <optional>
#include <sonda/plugin.hpp>
#include <string>

namespace sonda::udp {

/// `server`.
struct ServerParams {
  std::string listen;
  std::string mode;  ///< sink | echo
  int rcvbuf_bytes = 0;
  int64_t interval_ns = 0;
  std::string control;  ///< "same" or a TCP port number
};

/// `stream`.
struct StreamParams {
  std::optional<std::string> target;  ///< absent: an in-process receiver on `listen`
  std::string listen;
  int64_t payload_bytes = 0;
  Rate rate;
  int64_t duration_ns = 0;
  int64_t count = 0;
  int flows = 0;
  bool reverse = false;
  std::string gso;  ///< auto | on | off
  int sndbuf_bytes = 0;
  int rcvbuf_bytes = 0;
  int64_t interval_ns = 0;
  int64_t max_lag_ns = 0;
  int control_port = 0;  ///< 0: the target's port number
  int64_t report_timeout_ns = 0;
};

/// `rr`.
struct RrParams {
  std::string target;
  int64_t payload_bytes = 0;
  int64_t duration_ns = 0;
  int64_t count = 0;
  int64_t timeout_ns = 0;
  int64_t warmup_ns = 0;
};

/// The TCP port `control` names: -1 for "same" (the UDP port's number).
/// Fails with invalid_param when it is neither "same" nor a port.
int control_port_of(const std::string& control);

void check_server_params(const ServerParams& p);
void check_stream_params(const StreamParams& p);
void check_rr_params(const RrParams& p);

inline constexpr auto kServerParams = sonda::params<ServerParams, &check_server_params>(
    sonda::param<&ServerParams::listen>(
        {.name = "listen", .type = SONDA_PARAM_ENDPOINT, .default_value = "0.0.0.0:0",
         .doc = "UDP address to bind (port 0: any free port; TCP control uses the same number)"}),
    sonda::param<&ServerParams::mode>({.name = "mode", .type = SONDA_PARAM_STRING, .default_value = "sink",
                                       .choices = "sink|echo",
                                       .doc = "sink: count and analyse each flow; echo: send every datagram back"}),
    sonda::param<&ServerParams::rcvbuf_bytes>(
        {.name = "rcvbuf", .type = SONDA_PARAM_SIZE, .default_value = "32MiB", .min = 4096, .max = 1 << 30,
         .unit = "bytes", .doc = "receive buffer asked for (SO_RCVBUFFORCE; effective size is reported)"}),
    sonda::param<&ServerParams::interval_ns>({.name = "interval", .type = SONDA_PARAM_DURATION,
                                              .default_value = "1s", .min = 1e7, .max = 3.6e12, .unit = "ns",
                                              .doc = "width of the interval samples"}),
    sonda::param<&ServerParams::control>(
        {.name = "control", .type = SONDA_PARAM_STRING, .default_value = "same",
         .doc = "TCP port of the report channel: same (the UDP port's number) or a port (0: any free; ready says "
                "control_port)"}));

inline constexpr auto kStreamParams = sonda::params<StreamParams, &check_stream_params>(
    sonda::param<&StreamParams::target>(
        {.name = "target", .type = SONDA_PARAM_ENDPOINT,
         .doc = "a sonda udp_transport.server; omitted: a receiver runs in-process on 'listen'"}),
    sonda::param<&StreamParams::listen>({.name = "listen", .type = SONDA_PARAM_ENDPOINT,
                                         .default_value = "127.0.0.1:0",
                                         .doc = "in-process receiver address when no target is given"}),
    sonda::param<&StreamParams::payload_bytes>(
        {.name = "size", .type = SONDA_PARAM_SIZE, .default_value = "1400B", .min = 24, .max = 65507,
         .unit = "bytes", .doc = "UDP payload per datagram (header is 24 B)"}),
    sonda::param<&StreamParams::rate>(
        {.name = "rate", .type = SONDA_PARAM_RATE, .default_value = "10Mbit",
         .doc = "total target rate over all flows: payload bits/s (as iperf3) or packets/s, or unlimited"}),
    sonda::param<&StreamParams::duration_ns>({.name = "duration", .type = SONDA_PARAM_DURATION,
                                              .default_value = "2s", .min = 0, .max = 8.64e13, .unit = "ns",
                                              .doc = "how long to send (0 with count: no time limit)"}),
    sonda::param<&StreamParams::count>({.name = "count", .type = SONDA_PARAM_INT, .default_value = "0", .min = 0,
                                        .max = 1e15,
                                        .doc = "stop after this many datagrams in total (0: duration only)"}),
    sonda::param<&StreamParams::flows>({.name = "parallel", .type = SONDA_PARAM_INT, .default_value = "1",
                                        .min = 1, .max = 1024,
                                        .doc = "concurrent flows, each its own socket, thread and flow id"}),
    sonda::param<&StreamParams::reverse>({.name = "reverse", .type = SONDA_PARAM_BOOL, .default_value = "false",
                                          .doc = "the server sends, this step receives and measures"}),
    sonda::param<&StreamParams::gso>({.name = "gso", .type = SONDA_PARAM_STRING, .default_value = "auto",
                                      .choices = "auto|on|off",
                                      .doc = "UDP_SEGMENT batching; auto = on for loopback targets only"}),
    sonda::param<&StreamParams::sndbuf_bytes>({.name = "sndbuf", .type = SONDA_PARAM_SIZE, .default_value = "4MiB",
                                               .min = 4096, .max = 1 << 30, .unit = "bytes",
                                               .doc = "send buffer asked for (SO_SNDBUFFORCE)"}),
    sonda::param<&StreamParams::rcvbuf_bytes>({.name = "rcvbuf", .type = SONDA_PARAM_SIZE, .default_value = "32MiB",
                                               .min = 4096, .max = 1 << 30, .unit = "bytes",
                                               .doc = "receive buffer of the in-process receiver"}),
    sonda::param<&StreamParams::interval_ns>({.name = "interval", .type = SONDA_PARAM_DURATION,
                                              .default_value = "1s", .min = 1e7, .max = 3.6e12, .unit = "ns",
                                              .doc = "width of the receiver's interval samples"}),
    sonda::param<&StreamParams::max_lag_ns>({.name = "max_lag", .type = SONDA_PARAM_DURATION,
                                             .default_value = "5ms", .min = 0, .max = 1e10, .unit = "ns",
                                             .doc = "paced slots later than this are skipped, not burst out"}),
    sonda::param<&StreamParams::control_port>(
        {.name = "control", .type = SONDA_PARAM_INT, .default_value = "0", .min = 0, .max = 65535,
         .doc = "the server's report-channel TCP port (its ready control_port); 0: the target's port number"}),
    sonda::param<&StreamParams::report_timeout_ns>({.name = "report_timeout", .type = SONDA_PARAM_DURATION,
                                                    .default_value = "10s", .min = 1e8, .max = 3.6e12,
                                                    .unit = "ns", .doc = "how long to wait for the receiver's report"}));

inline constexpr auto kRrParams = sonda::params<RrParams, &check_rr_params>(
    sonda::param<&RrParams::target>(
        {.name = "target", .type = SONDA_PARAM_ENDPOINT, .required = 1, .doc = "UDP echo server (any)"}),
    sonda::param<&RrParams::payload_bytes>({.name = "size", .type = SONDA_PARAM_SIZE, .default_value = "64B",
                                            .min = 24, .max = 65507, .unit = "bytes",
                                            .doc = "request payload; the reply must be the same size"}),
    sonda::param<&RrParams::duration_ns>({.name = "duration", .type = SONDA_PARAM_DURATION, .default_value = "2s",
                                          .min = 0, .max = 8.64e13, .unit = "ns",
                                          .doc = "how long to run (0 with count: no time limit)"}),
    sonda::param<&RrParams::count>({.name = "count", .type = SONDA_PARAM_INT, .default_value = "0", .min = 0,
                                    .max = 1e15, .doc = "stop after this many requests (0: duration only)"}),
    sonda::param<&RrParams::timeout_ns>(
        {.name = "timeout", .type = SONDA_PARAM_DURATION, .default_value = "200ms", .min = 1e5, .max = 6e10,
         .unit = "ns", .doc = "per request; no reply by then counts as lost (a later reply: late_replies)"}),
    sonda::param<&RrParams::warmup_ns>({.name = "warmup", .type = SONDA_PARAM_DURATION, .default_value = "0s",
                                        .min = 0, .max = 8.64e13, .unit = "ns",
                                        .doc = "first part of the run excluded from the figures (reported)"}));

}  // namespace sonda::udp
