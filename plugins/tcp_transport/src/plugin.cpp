// tcp_transport.so: the action table (options are data: validation, `sonda
// plugins describe` and README come from these specs). Defaults here match
// the parsers in options.cpp.
#include <sonda/plugin.hpp>

#include "actions.hpp"

namespace {

using sonda::tcp::run_crr;
using sonda::tcp::run_rr;
using sonda::tcp::run_server;
using sonda::tcp::run_stream;

constexpr double kDay = 86400e9;

#define TUNING_PARAMS(BUFFER_DEFAULT, NODELAY_DEFAULT)                                                      \
  {.name = "sndbuf", .type = SONDA_PARAM_SIZE, .default_value = BUFFER_DEFAULT, .min = 0,              \
   .max = 1073741824, .unit = "bytes", .doc = "SO_SNDBUF request (0: kernel autotuning; a server sets it on the listener)"},                  \
      {.name = "rcvbuf", .type = SONDA_PARAM_SIZE, .default_value = BUFFER_DEFAULT, .min = 0,          \
       .max = 1073741824, .unit = "bytes", .doc = "SO_RCVBUF request (0: kernel autotuning; a server sets it on the listener)"},              \
      {.name = "nodelay", .type = SONDA_PARAM_BOOL, .default_value = NODELAY_DEFAULT,                       \
       .doc = "TCP_NODELAY: send small segments at once"},                                                  \
      {.name = "congestion", .type = SONDA_PARAM_STRING,                                                   \
       .doc = "congestion control algorithm (TCP_CONGESTION), e.g. cubic, bbr; default: the system's"},     \
      {.name = "mss", .type = SONDA_PARAM_SIZE, .default_value = "0", .min = 0, .max = 65495,               \
       .unit = "bytes", .doc = "TCP_MAXSEG (0: path default)"}

const sonda_param_spec kServerParams[] = {
    {.name = "listen", .type = SONDA_PARAM_ENDPOINT, .default_value = "127.0.0.1:0",
     .doc = "address to listen on, host:port or [v6]:port; port 0 picks a free one (reported)"},
    {.name = "mode", .type = SONDA_PARAM_STRING, .default_value = "echo", .choices = "sink|source|echo",
     .doc = "what to do with a client that does not speak the sonda hello"},
    {.name = "size", .type = SONDA_PARAM_SIZE, .default_value = "1MiB", .min = 1, .max = 67108864,
     .unit = "bytes", .doc = "read/write size"},
    {.name = "recv_trunc", .type = SONDA_PARAM_BOOL, .default_value = "false",
     .doc = "sink: recv with MSG_TRUNC (no copy to user space; reported as such)"},
    {.name = "backlog", .type = SONDA_PARAM_INT, .default_value = "1024", .min = 1, .max = 65535,
     .doc = "listen() backlog"},
    TUNING_PARAMS("0", "true"),
};

const sonda_param_spec kStreamParams[] = {
    {.name = "target", .type = SONDA_PARAM_ENDPOINT, .required = 1, .doc = "server host:port"},
    {.name = "duration", .type = SONDA_PARAM_DURATION, .default_value = "5s", .min = 1e6, .max = kDay,
     .unit = "ns", .doc = "how long to send (ignored when bytes is set)"},
    {.name = "bytes", .type = SONDA_PARAM_SIZE, .default_value = "0", .min = 0, .max = 4.6e18, .unit = "bytes",
     .doc = "total bytes per direction, split across streams (0: use duration)"},
    {.name = "parallel", .type = SONDA_PARAM_INT, .default_value = "1", .min = 1, .max = 128,
     .doc = "connections per direction"},
    {.name = "reverse", .type = SONDA_PARAM_BOOL, .default_value = "false", .doc = "server sends, client receives"},
    {.name = "bidir", .type = SONDA_PARAM_BOOL, .default_value = "false",
     .doc = "both directions at once (parallel connections each way)"},
    {.name = "size", .type = SONDA_PARAM_SIZE, .default_value = "1MiB", .min = 1, .max = 67108864,
     .unit = "bytes", .doc = "bytes per send()/recv() call"},
    {.name = "interval", .type = SONDA_PARAM_DURATION, .default_value = "1s", .min = 1e7, .max = kDay,
     .unit = "ns", .doc = "interval between samples"},
    {.name = "recv_trunc", .type = SONDA_PARAM_BOOL, .default_value = "false",
     .doc = "receiver uses MSG_TRUNC: skips the copy to user space (reported as such; not comparable to copying)"},
    {.name = "handshake", .type = SONDA_PARAM_BOOL, .default_value = "true",
     .doc = "open with the 32-byte sonda hello so a sonda server reports receiver counts"},
    {.name = "timeout", .type = SONDA_PARAM_DURATION, .default_value = "5s", .min = 1e6, .max = kDay,
     .unit = "ns", .doc = "connect timeout and longest tolerated stall"},
    TUNING_PARAMS("0", "false"),
};

#define RR_COMMON_PARAMS                                                                                     \
  {.name = "target", .type = SONDA_PARAM_ENDPOINT, .required = 1, .doc = "server host:port (any echo server)"}, \
      {.name = "duration", .type = SONDA_PARAM_DURATION, .default_value = "5s", .min = 1e6, .max = kDay,     \
       .unit = "ns", .doc = "how long to run, warm-up included"},                                            \
      {.name = "size", .type = SONDA_PARAM_SIZE, .default_value = "64B", .min = 1, .max = 67108864,       \
       .unit = "bytes", .doc = "request size"},                                                              \
      {.name = "response_size", .type = SONDA_PARAM_SIZE, .default_value = "0", .min = 0, .max = 67108864,   \
       .unit = "bytes", .doc = "response size (0: same as size, an echo; other sizes need a sonda server)"}, \
      {.name = "parallel", .type = SONDA_PARAM_INT, .default_value = "1", .min = 1, .max = 1024,             \
       .doc = "concurrent connections (crr: concurrent connect loops)"},                                    \
      {.name = "rate", .type = SONDA_PARAM_RATE, .default_value = "unlimited",                              \
       .doc = "transactions/s over all connections, e.g. 10kpps; paced latency counts from the scheduled send (unlimited: as fast as possible)"}, \
      {.name = "warmup", .type = SONDA_PARAM_DURATION, .default_value = "0s", .min = 0, .max = kDay,         \
       .unit = "ns", .doc = "first part of the run excluded from the figures (reported)"},                  \
      {.name = "interval", .type = SONDA_PARAM_DURATION, .default_value = "1s", .min = 1e7, .max = kDay,     \
       .unit = "ns", .doc = "interval between samples"},                                                     \
      {.name = "verify", .type = SONDA_PARAM_BOOL, .default_value = "false",                                \
       .doc = "check every response is exactly its request (needs an echo)"},                               \
      {.name = "timeout", .type = SONDA_PARAM_DURATION, .default_value = "5s", .min = 1e6, .max = kDay,      \
       .unit = "ns", .doc = "connect timeout and longest wait for a response"}

const sonda_param_spec kRrParams[] = {
    RR_COMMON_PARAMS,
    {.name = "outstanding", .type = SONDA_PARAM_INT, .default_value = "1", .min = 1, .max = 4096,
     .doc = "requests in flight per connection"},
    TUNING_PARAMS(nullptr, "true"),
};

const sonda_param_spec kCrrParams[] = {
    RR_COMMON_PARAMS,
    TUNING_PARAMS(nullptr, "true"),
};

const sonda::Action kActions[] = {
    {{.name = "server",
      .doc = "TCP server (background): sink, source or echo; answers sonda sessions; records what it served",
      .flags = SONDA_ACTION_BACKGROUND,
      .params = kServerParams,
      .param_count = std::size(kServerParams)},
     &run_server},
    {{.name = "stream",
      .doc = "Bulk TCP throughput measured at the receiver, per interval and total, with TCP_INFO per stream",
      .params = kStreamParams,
      .param_count = std::size(kStreamParams)},
     &run_stream},
    {{.name = "rr",
      .doc = "Request/response latency percentiles and transactions per second",
      .params = kRrParams,
      .param_count = std::size(kRrParams)},
     &run_rr},
    {{.name = "crr",
      .doc = "Connect, request/response, close: connections per second and connect latency",
      .params = kCrrParams,
      .param_count = std::size(kCrrParams)},
     &run_crr},
};

}  // namespace

/// Parameters that had other names before one vocabulary (docs/PARAMETERS.md):
/// scenarios that still write them are refused naming the new name.
constexpr sonda_rename_spec kRenames[] = {
    {.action = "server", .old_name = "message_size", .new_name = "size"},
    {.action = "stream", .old_name = "message_size", .new_name = "size"},
    {.action = "rr", .old_name = "payload", .new_name = "size"},
    {.action = "crr", .old_name = "payload", .new_name = "size"},
    {.action = "rr", .old_name = "connections", .new_name = "parallel"},
    {.action = "crr", .old_name = "connections", .new_name = "parallel"},
    {.action = nullptr, .old_name = "send_buffer", .new_name = "sndbuf"},
    {.action = nullptr, .old_name = "recv_buffer", .new_name = "rcvbuf"},
};

/// Headline figures: what `sonda compare`, reports and summaries read.
constexpr sonda_figure_spec kFigures[] = {
    {.action = "stream", .path = "bits_per_sec", .unit = "bit/s", .better = "higher", .doc = "goodput received"},
    {.action = "stream", .path = "retransmits", .unit = "count", .better = "lower", .doc = "TCP retransmissions during the stream"},
    {.action = "rr", .path = "transactions_per_sec", .unit = "1/s", .better = "higher", .doc = "request/response transactions per second"},
    {.action = "rr", .path = "latency.p50_ns", .unit = "ns", .better = "lower", .doc = "median round trip"},
    {.action = "rr", .path = "latency.p99_ns", .unit = "ns", .better = "lower", .doc = "99th percentile round trip"},
    {.action = "crr", .path = "connections_per_sec", .unit = "1/s", .better = "higher", .doc = "connect, request, response, close per second"},
    {.action = "crr", .path = "connect_latency.p50_ns", .unit = "ns", .better = "lower", .doc = "median connect time"},
    {.action = "crr", .path = "latency.p99_ns", .unit = "ns", .better = "lower", .doc = "99th percentile transaction time"},
};

SONDA_PLUGIN_FULL("tcp_transport", "0.1.0", "TCP throughput, latency and connection-rate load tests",
                  SONDA_CAP_TRANSPORT, kActions, kFigures, kRenames)
