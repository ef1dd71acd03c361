// tcp_transport.so: the action table. Options are data: validation, `sonda
// plugins describe`, README and the options structs all come from the
// parameter tables in options.hpp.
#include <sonda/plugin.hpp>

#include "actions.hpp"

namespace {

namespace tcp = sonda::tcp;

const sonda::Action kActions[] = {
    sonda::action<tcp::kServerParams, &tcp::serve>(
        {.name = "server",
         .doc = "TCP server (background): sink, source or echo; answers sonda sessions; records what it served",
         .flags = SONDA_ACTION_BACKGROUND}),
    sonda::action<tcp::kStreamParams, &tcp::stream>(
        {.name = "stream",
         .doc = "Bulk TCP throughput measured at the receiver, per interval and total, with TCP_INFO per stream"}),
    sonda::action<tcp::kRrParams, &tcp::rr>(
        {.name = "rr", .doc = "Request/response latency percentiles and transactions per second"}),
    sonda::action<tcp::kCrrParams, &tcp::crr>(
        {.name = "crr", .doc = "Connect, request/response, close: connections per second and connect latency"}),
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
