// Google Benchmark of the scan's hot paths on a table of a few thousand
// loopback sockets the benchmark makes itself: decoding inet_diag replies,
// the kernel dump, the /proc walk and rendering the record.
#include <benchmark/benchmark.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "scan.hpp"
#include "sonda_common/netlink.hpp"
#include "test_support.hpp"

namespace sonda::proc_scanner {
namespace {

/// 2000 established pairs + 20 listeners on 127.0.0.1, made once.
class LoopbackTable {
 public:
  static LoopbackTable& get() {
    static LoopbackTable table;
    return table;
  }

 private:
  LoopbackTable() {
    std::vector<uint16_t> ports;
    std::vector<int> listeners;
    for (int i = 0; i < 20; ++i) {
      listeners.push_back(testing::bound_socket(AF_INET, SOCK_STREAM, "127.0.0.1", 0, 4096));
      ports.push_back(testing::local_port(listeners.back()));
    }
    fds_ = listeners;
    for (int i = 0; i < 2000; ++i) {
      fds_.push_back(
          testing::connected_socket(AF_INET, SOCK_STREAM, "127.0.0.1", "127.0.0.1", ports[i % 20]));
      fds_.push_back(::accept(listeners[i % 20], nullptr, nullptr));
    }
  }
  std::vector<int> fds_;
};

// Raw replies of one TCP/IPv4 dump, copied so the parse can run alone.
std::vector<std::vector<char>> capture_tcp4_dump() {
  auto msg = common::make_dump_request<inet_diag_req_v2>(SOCK_DIAG_BY_FAMILY);
  msg.body.sdiag_family = AF_INET;
  msg.body.sdiag_protocol = IPPROTO_TCP;
  msg.body.idiag_states = ~0u;
  std::vector<std::vector<char>> messages;
  common::netlink_dump(NETLINK_SOCK_DIAG, &msg, sizeof msg, [&](const nlmsghdr* h) {
    const char* p = reinterpret_cast<const char*>(h);
    messages.emplace_back(p, p + h->nlmsg_len);
  });
  return messages;
}

void BM_ParseInetDiag(benchmark::State& state) {
  LoopbackTable::get();
  const auto messages = capture_tcp4_dump();
  SocketList out;
  out.reserve(messages.size());
  for (auto _ : state) {
    out.clear();
    SocketEntry e;
    for (const auto& m : messages) {
      if (parse_inet_diag(reinterpret_cast<const nlmsghdr*>(m.data()), IPPROTO_TCP, 1, e)) {
        out.push_back(e);
      }
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * messages.size()));
}
BENCHMARK(BM_ParseInetDiag);

void BM_SocketDumpAllTables(benchmark::State& state) {
  LoopbackTable::get();
  SocketList out;
  size_t count = 0;
  for (auto _ : state) {
    out.clear();
    SocketSource source{};
    std::string reason;
    collect_inet_sockets(1, true, true, false, out, source, reason);
    count = out.size();
  }
  state.counters["sockets"] = static_cast<double>(count);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * count));
}
BENCHMARK(BM_SocketDumpAllTables)->Unit(benchmark::kMillisecond);

void BM_ProcfsTables(benchmark::State& state) {
  LoopbackTable::get();
  SocketList out;
  for (auto _ : state) {
    out.clear();
    SocketSource source{};
    std::string reason;
    collect_inet_sockets(1, true, true, true, out, source, reason);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * out.size()));
}
BENCHMARK(BM_ProcfsTables)->Unit(benchmark::kMillisecond);

// The owner lookup both ways: arg 0 = one readlink per fd under /proc,
// arg 1 = the BPF task/task_file iterators (programs loaded on the first
// iteration, then only read, as in a long-lived plugin).
void BM_OwnerLookup(benchmark::State& state) {
  LoopbackTable::get();
  WalkOptions options;
  options.source = state.range(0) == 0 ? OwnerSource::kProcfs : OwnerSource::kBpf;
  try {
    walk_proc(options);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  uint32_t fds = 0;
  for (auto _ : state) {
    const OwnerIndex index = walk_proc(options);
    fds = index.socket_fds;
    benchmark::DoNotOptimize(index.inode_owners.data());
  }
  state.counters["socket_fds"] = fds;
  state.SetLabel(state.range(0) == 0 ? "procfs readlink" : "bpf iterators");
}
BENCHMARK(BM_OwnerLookup)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

void BM_CollectScan(benchmark::State& state) {
  LoopbackTable::get();
  for (auto _ : state) {
    const ScanResult r = collect_scan(ScanOptions{});
    benchmark::DoNotOptimize(r.sockets.data());
  }
}
BENCHMARK(BM_CollectScan)->Unit(benchmark::kMillisecond);

void BM_RenderScan(benchmark::State& state) {
  LoopbackTable::get();
  const ScanOptions options = ScanOptions::bind({{"identify", false}});
  const ScanResult r = collect_scan(options);
  for (auto _ : state) {
    const std::string text = render_scan(r, options).dump();
    benchmark::DoNotOptimize(text.data());
  }
  state.counters["sockets"] = static_cast<double>(r.sockets.size());
}
BENCHMARK(BM_RenderScan)->Unit(benchmark::kMillisecond);

void BM_RenderScanText(benchmark::State& state) {
  LoopbackTable::get();
  const ScanOptions options = ScanOptions::bind({{"identify", false}});
  const ScanResult r = collect_scan(options);
  for (auto _ : state) {
    const std::string text = render_scan_text(r, options);
    benchmark::DoNotOptimize(text.data());
  }
  state.counters["sockets"] = static_cast<double>(r.sockets.size());
}
BENCHMARK(BM_RenderScanText)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace sonda::proc_scanner
