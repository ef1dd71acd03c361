// Cost of a scan: the RTNETLINK dumps, the parse alone, the JSON record, and
// the thread + setns() detour that `netns` adds. tools/iface_vs_ip.py sets
// these against `ip -j -s addr`.
#include <benchmark/benchmark.h>
#include <linux/rtnetlink.h>

#include <cstring>
#include <sonda_common/netlink.hpp>
#include <vector>

#include "actions.hpp"
#include "rtnl.hpp"
#include "scan_record.hpp"

namespace sonda::iface {
namespace {

/// A host whose callbacks do nothing: the bench measures the action only.
sonda_host quiet_host() {
  static int stop_flag = 0;
  sonda_host host{};
  host.abi_version = SONDA_ABI_VERSION;
  host.stop_flag = &stop_flag;
  host.log = [](void*, int, const char*) {};
  host.ready = [](void*, const char*) {};
  host.sample = [](void*, const char*) {};
  host.set_result = [](void*, const char*) {};
  host.set_error = [](void*, const char*) {};
  return host;
}

void BM_DumpLinks(benchmark::State& state) {
  size_t interfaces = 0;
  for (auto _ : state) {
    auto links = dump_links();
    interfaces = links.size();
    benchmark::DoNotOptimize(links.data());
  }
  state.counters["interfaces"] = static_cast<double>(interfaces);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * interfaces));
}
BENCHMARK(BM_DumpLinks);

void BM_DumpInterfaces(benchmark::State& state) {
  size_t interfaces = 0;
  for (auto _ : state) {
    auto all = dump_interfaces();
    interfaces = all.size();
    benchmark::DoNotOptimize(all.data());
  }
  state.counters["interfaces"] = static_cast<double>(interfaces);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * interfaces));
}
BENCHMARK(BM_DumpInterfaces);

/// Parsing alone: the RTM_NEWLINK replies are captured once, then parsed
/// again and again, so the kernel's share is out of the measurement.
void BM_ParseLinkMessages(benchmark::State& state) {
  std::vector<std::vector<char>> messages;
  auto request = common::make_dump_request<ifinfomsg>(RTM_GETLINK);
  common::netlink_dump(NETLINK_ROUTE, &request, sizeof request, [&](const nlmsghdr* m) {
    const auto* bytes = reinterpret_cast<const char*>(m);
    messages.emplace_back(bytes, bytes + m->nlmsg_len);
  });
  for (auto _ : state) {
    for (const auto& m : messages) {
      auto iface = parse_link_message(reinterpret_cast<const nlmsghdr*>(m.data()));
      benchmark::DoNotOptimize(iface);
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * messages.size()));
}
BENCHMARK(BM_ParseLinkMessages);

void BM_ScanRecordJson(benchmark::State& state) {
  const auto all = dump_interfaces();
  for (auto _ : state) {
    auto text = scan_record(all).dump();
    benchmark::DoNotOptimize(text.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * all.size()));
}
BENCHMARK(BM_ScanRecordJson);

/// The whole `scan` action as the host runs it, record serialised as the
/// dispatcher does: the figure tools/iface_vs_ip.py compares with `ip`.
void BM_ScanAction(benchmark::State& state) {
  const sonda_host host = quiet_host();
  Context ctx(&host);
  const json params = {{"include_down", true}};
  for (auto _ : state) {
    auto text = scan_action(params, ctx).dump();
    benchmark::DoNotOptimize(text.data());
  }
}
BENCHMARK(BM_ScanAction);

/// Same, through `netns` pointing at our own namespace: adds the worker
/// thread and setns() that scanning another namespace costs.
void BM_ScanActionViaSetns(benchmark::State& state) {
  const sonda_host host = quiet_host();
  Context ctx(&host);
  const json params = {{"include_down", true}, {"netns", "/proc/self/ns/net"}};
  for (auto _ : state) {
    auto text = scan_action(params, ctx).dump();
    benchmark::DoNotOptimize(text.data());
  }
}
BENCHMARK(BM_ScanActionViaSetns);

}  // namespace
}  // namespace sonda::iface
