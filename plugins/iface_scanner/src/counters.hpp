// Counter snapshots and deltas: what `watch` records across other steps.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "interface.hpp"

namespace sonda::iface {

using json = nlohmann::json;

/// Every LinkCounters field with its JSON name: the one list that JSON
/// output and delta arithmetic both walk, so a new counter is added once.
inline constexpr std::array<std::pair<const char*, uint64_t LinkCounters::*>, 18> kCounterFields{{
    {"rx_bytes", &LinkCounters::rx_bytes},
    {"rx_packets", &LinkCounters::rx_packets},
    {"rx_errors", &LinkCounters::rx_errors},
    {"rx_dropped", &LinkCounters::rx_dropped},
    {"rx_multicast", &LinkCounters::rx_multicast},
    {"rx_over_errors", &LinkCounters::rx_over_errors},
    {"rx_crc_errors", &LinkCounters::rx_crc_errors},
    {"rx_frame_errors", &LinkCounters::rx_frame_errors},
    {"rx_fifo_errors", &LinkCounters::rx_fifo_errors},
    {"rx_missed_errors", &LinkCounters::rx_missed_errors},
    {"rx_nohandler", &LinkCounters::rx_nohandler},
    {"tx_bytes", &LinkCounters::tx_bytes},
    {"tx_packets", &LinkCounters::tx_packets},
    {"tx_errors", &LinkCounters::tx_errors},
    {"tx_dropped", &LinkCounters::tx_dropped},
    {"tx_carrier_errors", &LinkCounters::tx_carrier_errors},
    {"tx_fifo_errors", &LinkCounters::tx_fifo_errors},
    {"collisions", &LinkCounters::collisions},
}};

/// {"rx_bytes": N, ...} with every field of kCounterFields.
json counters_to_json(const LinkCounters& counters);

/// Per-field `after - before`. A field that went backwards (driver reset)
/// counts from zero, i.e. yields `after`, and sets `*reset` when given.
LinkCounters counter_delta(const LinkCounters& before, const LinkCounters& after,
                           bool* reset = nullptr);

/// Counters of the watched interfaces at one instant.
struct CounterSnapshot {
  int64_t taken_ns = 0;  ///< CLOCK_MONOTONIC midpoint of the dump
  struct Entry {
    int ifindex = 0;
    std::string name;
    LinkCounters counters;
  };
  std::vector<Entry> entries;  ///< sorted by ifindex
};

/// Dumps links in the calling thread's netns and keeps those named in
/// `names` (all when empty). A name that does not exist throws
/// sonda::StepError kind "not_found" listing the interfaces that do.
CounterSnapshot take_snapshot(const std::vector<std::string>& names);

/// The delta between two snapshots of the same interfaces, matched by
/// ifindex (a renamed interface is still itself; a deleted and re-created
/// one is not): {"elapsed_ns", "interfaces": {name: {rx_bytes, rx_packets,
/// rx_errors, rx_dropped, tx_..., rx_bits_per_sec, tx_bits_per_sec,
/// rx_packets_per_sec, tx_packets_per_sec}}, "totals": {...same over all},
/// "vanished": [names]}. Rates use the exact elapsed time between dumps.
json snapshot_delta(const CounterSnapshot& before, const CounterSnapshot& after);

/// "1.23 Gbit/s" style, for summaries.
std::string human_bits_per_sec(double bits_per_sec);

}  // namespace sonda::iface
