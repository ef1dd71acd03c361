// The iface_scanner actions and their parameter schemas. Kept out of the
// MODULE source so the tests and the bench call exactly what the host calls.
#pragma once

#include <iterator>
#include <sonda/plugin.hpp>

namespace sonda::iface {

/// `netns` is shared by both actions.
inline constexpr const char* kNetnsDoc =
    "Network namespace to read: a name under /run/netns (as made by `ip netns add`) or a path "
    "such as /proc/PID/ns/net; the runner's own namespace when absent";

/// Schema of `scan`. Normalised by the host before scan_action sees it.
inline constexpr sonda_param_spec kScanParams[] = {
    {.name = "interface",
     .type = SONDA_PARAM_STRING_LIST,
     .doc = "Only these interfaces (names); every interface when absent"},
    {.name = "include_down",
     .type = SONDA_PARAM_BOOL,
     .default_value = "true",
     .doc = "Also list interfaces that are administratively down"},
    {.name = "netns", .type = SONDA_PARAM_STRING, .doc = kNetnsDoc},
};

/// Default sampling period of `watch`, as written in kWatchParams.
inline constexpr int64_t kDefaultWatchIntervalNs = 1'000'000'000;

/// Schema of `watch`.
inline constexpr sonda_param_spec kWatchParams[] = {
    {.name = "interface",
     .type = SONDA_PARAM_STRING_LIST,
     .doc = "Interfaces to watch (names); every interface present at start when absent"},
    {.name = "interval",
     .type = SONDA_PARAM_DURATION,
     .default_value = "1s",
     .min = 10e6,
     .max = 3600e9,
     .unit = "ns",
     .doc = "Period of the interval samples (deltas and rates since the previous sample)"},
    {.name = "netns", .type = SONDA_PARAM_STRING, .doc = kNetnsDoc},
};

/// `scan`: every interface (or the `interface` list), with flags, MTU,
/// operstate, MAC, qdisc, addresses and 64-bit counters. Record: see
/// scan_record(); plus "netns" when given. Unknown interface names throw
/// StepError kind "not_found".
json scan_action(const json& params, Context& ctx);

/// `watch` (background): snapshots counters, calls ctx.ready(), samples
/// deltas every `interval` until ctx.should_stop(), then returns the deltas
/// and rates over the whole watch (see snapshot_delta()) plus "samples",
/// "interval_ns" and a "summary" line.
json watch_action(const json& params, Context& ctx);

}  // namespace sonda::iface
