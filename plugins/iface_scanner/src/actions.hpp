// The iface_scanner actions, their options and parameter tables. Kept out of the
// MODULE source so the tests and the bench call exactly what the host calls.
#pragma once

#include <optional>
#include <sonda/plugin.hpp>
#include <string>
#include <vector>

namespace sonda::iface {

/// `netns` is shared by both actions.
inline constexpr const char* kNetnsDoc =
    "Network namespace to read: a name under /run/netns (as made by `ip netns add`) or a path "
    "such as /proc/PID/ns/net; the runner's own namespace when absent";

/// Options of `scan`.
struct ScanOptions {
  std::vector<std::string> interfaces;  ///< empty: every interface
  bool include_down = true;
  std::optional<std::string> netns;  ///< absent: the runner's own namespace
};

/// Options of `watch`.
struct WatchOptions {
  std::vector<std::string> interfaces;  ///< empty: every interface present at start
  int64_t interval_ns = 0;
  std::optional<std::string> netns;
};

/// Parameters of `scan`: the schema the host validates and the binder.
inline constexpr auto kScanParams = sonda::params<ScanOptions>(
    sonda::param<&ScanOptions::interfaces>(
        {.name = "interface",
         .type = SONDA_PARAM_STRING_LIST,
         .doc = "Only these interfaces (names); every interface when absent"}),
    sonda::param<&ScanOptions::include_down>(
        {.name = "include_down",
         .type = SONDA_PARAM_BOOL,
         .default_value = "true",
         .doc = "Also list interfaces that are administratively down"}),
    sonda::param<&ScanOptions::netns>({.name = "netns", .type = SONDA_PARAM_STRING, .doc = kNetnsDoc}));

/// Parameters of `watch`.
inline constexpr auto kWatchParams = sonda::params<WatchOptions>(
    sonda::param<&WatchOptions::interfaces>(
        {.name = "interface",
         .type = SONDA_PARAM_STRING_LIST,
         .doc = "Interfaces to watch (names); every interface present at start when absent"}),
    sonda::param<&WatchOptions::interval_ns>(
        {.name = "interval",
         .type = SONDA_PARAM_DURATION,
         .default_value = "1s",
         .min = 10e6,
         .max = 3600e9,
         .unit = "ns",
         .doc = "Period of the interval samples (deltas and rates since the previous sample)"}),
    sonda::param<&WatchOptions::netns>({.name = "netns", .type = SONDA_PARAM_STRING, .doc = kNetnsDoc}));

/// `scan`: every interface (or the `interface` list), with flags, MTU,
/// operstate, MAC, qdisc, addresses and 64-bit counters. Record: see
/// scan_record(); plus "netns" when given. Unknown interface names throw
/// StepError kind "not_found".
json scan(const ScanOptions& options, Context& ctx);

/// `watch` (background): snapshots counters, calls ctx.ready(), samples
/// deltas every `interval` until ctx.should_stop(), then returns the deltas
/// and rates over the whole watch (see snapshot_delta()) plus "samples",
/// "interval_ns" and a "summary" line.
json watch(const WatchOptions& options, Context& ctx);

/// The actions as the host calls them: parameters bound, then run. Tests
/// and the bench call these with partial JSON (absent = the default).
inline constexpr auto& scan_action = sonda::bound<kScanParams, &scan>;
inline constexpr auto& watch_action = sonda::bound<kWatchParams, &watch>;

}  // namespace sonda::iface
