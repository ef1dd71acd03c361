#include "counters.hpp"

#include <algorithm>
#include <cstdio>
#include <sonda/plugin.hpp>
#include <sonda_common/net.hpp>

#include "rtnl.hpp"

namespace sonda::iface {

namespace {

/// The counters a delta reports: the ones a user compares across a load
/// step. The other error breakdowns stay in `scan`.
constexpr std::array<const char*, 8> kDeltaFields{
    "rx_bytes", "rx_packets", "rx_errors", "rx_dropped",
    "tx_bytes", "tx_packets", "tx_errors", "tx_dropped"};

json delta_entry(const LinkCounters& delta, int64_t elapsed_ns) {
  const json all = counters_to_json(delta);
  json entry = json::object();
  for (const char* field : kDeltaFields) {
    entry[field] = all.at(field);
  }
  const double seconds = static_cast<double>(elapsed_ns) / 1e9;
  const auto per_sec = [&](uint64_t count) {
    return seconds > 0 ? static_cast<double>(count) / seconds : 0.0;
  };
  entry["rx_bits_per_sec"] = per_sec(delta.rx_bytes) * 8;
  entry["tx_bits_per_sec"] = per_sec(delta.tx_bytes) * 8;
  entry["rx_packets_per_sec"] = per_sec(delta.rx_packets);
  entry["tx_packets_per_sec"] = per_sec(delta.tx_packets);
  return entry;
}

}  // namespace

json counters_to_json(const LinkCounters& counters) {
  json out = json::object();
  for (const auto& [name, member] : kCounterFields) {
    out[name] = counters.*member;
  }
  return out;
}

LinkCounters counter_delta(const LinkCounters& before, const LinkCounters& after, bool* reset) {
  LinkCounters delta;
  for (const auto& [name, member] : kCounterFields) {
    if (after.*member >= before.*member) {
      delta.*member = after.*member - before.*member;
    } else {
      delta.*member = after.*member;
      if (reset != nullptr) {
        *reset = true;
      }
    }
  }
  return delta;
}

CounterSnapshot take_snapshot(const std::vector<std::string>& names) {
  const int64_t start_ns = common::monotonic_ns();
  std::vector<Interface> links = dump_links();
  const int64_t end_ns = common::monotonic_ns();

  CounterSnapshot snapshot;
  snapshot.taken_ns = start_ns + (end_ns - start_ns) / 2;
  require_interfaces(links, names);
  for (Interface& link : links) {
    if (names.empty() || std::find(names.begin(), names.end(), link.name) != names.end()) {
      snapshot.entries.push_back({link.ifindex, std::move(link.name), link.counters});
    }
  }
  return snapshot;
}

json snapshot_delta(const CounterSnapshot& before, const CounterSnapshot& after) {
  const int64_t elapsed_ns = after.taken_ns - before.taken_ns;
  json interfaces = json::object();
  json vanished = json::array();
  LinkCounters totals;
  for (const auto& old_entry : before.entries) {
    auto now = std::find_if(after.entries.begin(), after.entries.end(),
                            [&](const auto& e) { return e.ifindex == old_entry.ifindex; });
    if (now == after.entries.end()) {
      vanished.push_back(old_entry.name);
      continue;
    }
    bool reset = false;
    const LinkCounters delta = counter_delta(old_entry.counters, now->counters, &reset);
    json entry = delta_entry(delta, elapsed_ns);
    entry["ifindex"] = now->ifindex;
    if (reset) {
      entry["counters_reset"] = true;
    }
    interfaces[now->name] = std::move(entry);
    for (const auto& [name, member] : kCounterFields) {
      totals.*member += delta.*member;
    }
  }
  return {{"elapsed_ns", elapsed_ns},
          {"interfaces", std::move(interfaces)},
          {"totals", delta_entry(totals, elapsed_ns)},
          {"vanished", std::move(vanished)}};
}

std::string human_bits_per_sec(double bits_per_sec) {
  static constexpr std::array<const char*, 5> kUnits{"bit/s", "kbit/s", "Mbit/s", "Gbit/s",
                                                     "Tbit/s"};
  size_t unit = 0;
  while (bits_per_sec >= 1000 && unit + 1 < kUnits.size()) {
    bits_per_sec /= 1000;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, "%.3g %s", bits_per_sec, kUnits[unit]);
  return text;
}

}  // namespace sonda::iface
