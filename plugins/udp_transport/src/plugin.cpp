// The udp_transport plugin descriptor: action schemas (options are data).
#include <iterator>

#include "actions.hpp"

namespace {

using sonda::Action;

const sonda_param_spec kServerParams[] = {
    {.name = "listen", .type = SONDA_PARAM_ENDPOINT, .default_value = "0.0.0.0:0",
     .doc = "UDP address to bind (port 0: any free port; TCP control uses the same number)"},
    {.name = "mode", .type = SONDA_PARAM_STRING, .default_value = "sink", .choices = "sink|echo",
     .doc = "sink: count and analyse each flow; echo: send every datagram back"},
    {.name = "rcvbuf", .type = SONDA_PARAM_SIZE, .default_value = "32MiB", .min = 4096, .max = 1 << 30,
     .unit = "bytes", .doc = "receive buffer asked for (SO_RCVBUFFORCE; effective size is reported)"},
    {.name = "interval", .type = SONDA_PARAM_DURATION, .default_value = "1s", .min = 1e7, .max = 3.6e12,
     .unit = "ns", .doc = "width of the interval samples"},
    {.name = "control", .type = SONDA_PARAM_STRING, .default_value = "same",
     .doc = "TCP port of the report channel: same (the UDP port's number) or a port (0: any free; ready says control_port)"},
};

const sonda_param_spec kStreamParams[] = {
    {.name = "target", .type = SONDA_PARAM_ENDPOINT,
     .doc = "a sonda udp_transport.server; omitted: a receiver runs in-process on 'listen'"},
    {.name = "listen", .type = SONDA_PARAM_ENDPOINT, .default_value = "127.0.0.1:0",
     .doc = "in-process receiver address when no target is given"},
    {.name = "size", .type = SONDA_PARAM_SIZE, .default_value = "1400B", .min = 24, .max = 65507,
     .unit = "bytes", .doc = "UDP payload per datagram (header is 24 B)"},
    {.name = "rate", .type = SONDA_PARAM_RATE, .default_value = "10Mbit",
     .doc = "total target rate over all flows: payload bits/s (as iperf3) or packets/s, or unlimited"},
    {.name = "duration", .type = SONDA_PARAM_DURATION, .default_value = "2s", .min = 0, .max = 8.64e13,
     .unit = "ns", .doc = "how long to send (0 with count: no time limit)"},
    {.name = "count", .type = SONDA_PARAM_INT, .default_value = "0", .min = 0, .max = 1e15,
     .doc = "stop after this many datagrams in total (0: duration only)"},
    {.name = "parallel", .type = SONDA_PARAM_INT, .default_value = "1", .min = 1, .max = 1024,
     .doc = "concurrent flows, each its own socket, thread and flow id"},
    {.name = "reverse", .type = SONDA_PARAM_BOOL, .default_value = "false",
     .doc = "the server sends, this step receives and measures"},
    {.name = "gso", .type = SONDA_PARAM_STRING, .default_value = "auto", .choices = "auto|on|off",
     .doc = "UDP_SEGMENT batching; auto = on for loopback targets only"},
    {.name = "sndbuf", .type = SONDA_PARAM_SIZE, .default_value = "4MiB", .min = 4096, .max = 1 << 30,
     .unit = "bytes", .doc = "send buffer asked for (SO_SNDBUFFORCE)"},
    {.name = "rcvbuf", .type = SONDA_PARAM_SIZE, .default_value = "32MiB", .min = 4096, .max = 1 << 30,
     .unit = "bytes", .doc = "receive buffer of the in-process receiver"},
    {.name = "interval", .type = SONDA_PARAM_DURATION, .default_value = "1s", .min = 1e7, .max = 3.6e12,
     .unit = "ns", .doc = "width of the receiver's interval samples"},
    {.name = "max_lag", .type = SONDA_PARAM_DURATION, .default_value = "5ms", .min = 0, .max = 1e10,
     .unit = "ns", .doc = "paced slots later than this are skipped, not burst out"},
    {.name = "control", .type = SONDA_PARAM_INT, .default_value = "0", .min = 0, .max = 65535,
     .doc = "the server's report-channel TCP port (its ready control_port); 0: the target's port number"},
    {.name = "report_timeout", .type = SONDA_PARAM_DURATION, .default_value = "10s", .min = 1e8,
     .max = 3.6e12, .unit = "ns", .doc = "how long to wait for the receiver's report"},
};

const sonda_param_spec kRrParams[] = {
    {.name = "target", .type = SONDA_PARAM_ENDPOINT, .required = 1, .doc = "UDP echo server (any)"},
    {.name = "size", .type = SONDA_PARAM_SIZE, .default_value = "64B", .min = 24, .max = 65507,
     .unit = "bytes", .doc = "request payload; the reply must be the same size"},
    {.name = "duration", .type = SONDA_PARAM_DURATION, .default_value = "2s", .min = 0, .max = 8.64e13,
     .unit = "ns", .doc = "how long to run (0 with count: no time limit)"},
    {.name = "count", .type = SONDA_PARAM_INT, .default_value = "0", .min = 0, .max = 1e15,
     .doc = "stop after this many requests (0: duration only)"},
    {.name = "timeout", .type = SONDA_PARAM_DURATION, .default_value = "200ms", .min = 1e5, .max = 6e10,
     .unit = "ns", .doc = "per request; no reply by then counts as lost (a later reply: late_replies)"},
};

const Action kActions[] = {
    {{.name = "server",
      .doc = "UDP sink/echo server; reports receiver figures to stream clients over TCP control",
      .flags = SONDA_ACTION_BACKGROUND,
      .params = kServerParams,
      .param_count = std::size(kServerParams)},
     &sonda::udp::server_action},
    {{.name = "stream",
      .doc = "Paced or unlimited datagram stream: loss, duplicates, reordering, jitter, one-way delay",
      .params = kStreamParams,
      .param_count = std::size(kStreamParams)},
     &sonda::udp::stream_action},
    {{.name = "rr",
      .doc = "UDP request/response latency and transactions/s with per-request timeouts",
      .params = kRrParams,
      .param_count = std::size(kRrParams)},
     &sonda::udp::rr_action},
};

}  // namespace

/// Parameters that had other names before one vocabulary (docs/PARAMETERS.md).
constexpr sonda_rename_spec kRenames[] = {
    {.action = "stream", .old_name = "flows", .new_name = "parallel"},
};

/// Headline figures: what `sonda compare`, reports and summaries read.
constexpr sonda_figure_spec kFigures[] = {
    {.action = "stream", .path = "receiver.bits_per_sec", .unit = "bit/s", .better = "higher", .doc = "payload received"},
    {.action = "stream", .path = "receiver.packets_per_sec", .unit = "packets/s", .better = "higher", .doc = "datagrams received"},
    {.action = "stream", .path = "receiver.loss_ratio", .unit = "ratio", .better = "lower", .doc = "lost / expected"},
    {.action = "stream", .path = "receiver.jitter_ns", .unit = "ns", .better = "lower", .doc = "RFC 3550 interarrival jitter (worst flow)"},
    {.action = "stream", .path = "receiver.one_way_delay.p50_ns", .unit = "ns", .better = "lower", .doc = "median one-way delay (see one_way_delay_clock)"},
    {.action = "stream", .path = "sender.packets_per_sec", .unit = "packets/s", .better = "higher", .doc = "datagrams sent"},
    {.action = "rr", .path = "transactions_per_sec", .unit = "1/s", .better = "higher", .doc = "request/reply transactions per second"},
    {.action = "rr", .path = "latency.p50_ns", .unit = "ns", .better = "lower", .doc = "median round trip"},
    {.action = "rr", .path = "latency.p99_ns", .unit = "ns", .better = "lower", .doc = "99th percentile round trip"},
    {.action = "rr", .path = "loss_ratio", .unit = "ratio", .better = "lower", .doc = "requests without a reply in time"},
};

SONDA_PLUGIN_FULL("udp_transport", "0.1.0", "UDP streams (loss, jitter, reordering) and UDP latency",
                  SONDA_CAP_TRANSPORT, kActions, kFigures, kRenames)
