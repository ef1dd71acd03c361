// The udp_transport plugin descriptor; the parameter tables (options are
// data) are in params.hpp.

#include "actions.hpp"

namespace {

namespace udp = sonda::udp;

const sonda::Action kActions[] = {
    sonda::action<udp::kServerParams, &udp::serve>(
        {.name = "server",
         .doc = "UDP sink/echo server; reports receiver figures to stream clients over TCP control",
         .flags = SONDA_ACTION_BACKGROUND}),
    sonda::action<udp::kStreamParams, &udp::stream>(
        {.name = "stream",
         .doc = "Paced or unlimited datagram stream: loss, duplicates, reordering, jitter, one-way delay"}),
    sonda::action<udp::kRrParams, &udp::rr>(
        {.name = "rr", .doc = "UDP request/response latency and transactions/s with per-request timeouts"}),
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
