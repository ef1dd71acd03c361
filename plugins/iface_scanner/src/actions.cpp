#include "actions.hpp"

#include <linux/if.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <sonda_common/net.hpp>
#include <string>
#include <thread>
#include <vector>

#include "counters.hpp"
#include "netns.hpp"
#include "rtnl.hpp"
#include "scan_record.hpp"

namespace sonda::iface {

namespace {

/// The watch loop sleeps in slices this long so a stop request is seen
/// quickly even with a long interval.
constexpr int64_t kStopPollNs = 10'000'000;

std::vector<Interface> select(std::vector<Interface> all, const std::vector<std::string>& names,
                              bool include_down) {
  require_interfaces(all, names);
  std::vector<Interface> chosen;
  for (Interface& iface : all) {
    const bool named = names.empty() ||
                       std::find(names.begin(), names.end(), iface.name) != names.end();
    const bool shown = include_down || (iface.flags & IFF_UP) != 0;
    if (named && shown) {
      chosen.push_back(std::move(iface));
    }
  }
  return chosen;
}

std::string watch_summary(const json& delta, int64_t elapsed_ns) {
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.2f s", static_cast<double>(elapsed_ns) / 1e9);
  std::string line = std::string("over ") + seconds;
  for (const auto& [name, entry] : delta.at("interfaces").items()) {
    line += "; " + name + " rx " + human_bits_per_sec(entry.at("rx_bits_per_sec")) + " (" +
            std::to_string(entry.at("rx_packets").get<uint64_t>()) + " pkts) tx " +
            human_bits_per_sec(entry.at("tx_bits_per_sec")) + " (" +
            std::to_string(entry.at("tx_packets").get<uint64_t>()) + " pkts)";
  }
  for (const auto& name : delta.at("vanished")) {
    line += "; " + name.get<std::string>() + " vanished";
  }
  return line;
}

}  // namespace

json scan(const ScanOptions& options, Context& ctx) {
  const std::string netns = options.netns.value_or("");

  std::vector<Interface> interfaces;
  run_in_netns(netns, [&] { interfaces = dump_interfaces(); });
  json record = scan_record(select(std::move(interfaces), options.interfaces, options.include_down));
  if (!netns.empty()) {
    record["netns"] = netns;
  }
  ctx.debug("scan: " + record.at("summary").get<std::string>());
  return record;
}

json watch(const WatchOptions& options, Context& ctx) {
  const std::string netns = options.netns.value_or("");
  const int64_t interval_ns = options.interval_ns;

  json record;
  // The whole loop runs in the target namespace: one setns() for the watch,
  // and every dump's netlink socket belongs to that namespace.
  run_in_netns(netns, [&] {
    const CounterSnapshot start = take_snapshot(options.interfaces);
    json watched = json::array();
    for (const auto& e : start.entries) {
      watched.push_back(e.name);
    }
    ctx.ready({{"interfaces", watched}, {"interval_ns", interval_ns}, {"netns", netns}});

    CounterSnapshot previous = start;
    int64_t next_sample_ns = start.taken_ns + interval_ns;
    size_t samples = 0;
    while (!ctx.should_stop()) {
      const int64_t now_ns = common::monotonic_ns();
      if (now_ns < next_sample_ns) {
        const int64_t nap_ns = std::min(next_sample_ns - now_ns, kStopPollNs);
        std::this_thread::sleep_for(std::chrono::nanoseconds(nap_ns));
        continue;
      }
      CounterSnapshot current = take_snapshot({});
      json sample = snapshot_delta(previous, current);
      sample["t_ns"] = current.taken_ns - start.taken_ns;
      ctx.sample(sample);
      ++samples;
      previous = std::move(current);
      // Behind schedule (a slow dump, a stopped process): restart the grid
      // instead of firing a burst of back-to-back samples.
      next_sample_ns += interval_ns;
      if (next_sample_ns <= previous.taken_ns) {
        next_sample_ns = previous.taken_ns + interval_ns;
      }
    }
    const CounterSnapshot end = take_snapshot({});
    record = snapshot_delta(start, end);
    record["interval_ns"] = interval_ns;
    record["samples"] = samples;
    record["summary"] = watch_summary(record, record.at("elapsed_ns").get<int64_t>());
    if (!netns.empty()) {
      record["netns"] = netns;
    }
  });
  return record;
}

}  // namespace sonda::iface
