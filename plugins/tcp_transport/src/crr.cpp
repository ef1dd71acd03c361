// `crr`: connect, one request/response, close — connections per second and
// connect latency, as netperf's TCP_CRR.
#include <sys/socket.h>

#include <cstdio>
#include <vector>

#include "actions.hpp"
#include "latency_run.hpp"
#include "payload.hpp"
#include "socket_io.hpp"

namespace sonda::tcp {
namespace {

void crr_worker(const common::SockAddr& addr, const RrOptions& o, const std::string& target, LatencyWorker& w,
                const RunClock& clock, const std::atomic<bool>& stop) {
  const auto hello = rr_hello(o.payload_bytes, o.response_bytes);
  const size_t response_bytes = static_cast<size_t>(o.response_bytes != 0 ? o.response_bytes : o.payload_bytes);
  std::vector<char> request(static_cast<size_t>(o.payload_bytes));
  std::vector<char> response(response_bytes);
  fill_payload(request, 0);
  for (uint64_t seq = 0;; ++seq) {
    int64_t t0 = common::monotonic_ns();
    if (t0 >= clock.end_ns || stop.load(std::memory_order_relaxed)) {
      return;
    }
    const int64_t due = scheduled_send_ns(o, clock, seq);
    if (due > t0) {
      sleep_until_ns(due);
    }
    if (due != 0) {
      t0 = due;
    }
    common::Fd fd = connect_to(addr, target, o.tuning, o.timeout_ns);
    const int64_t connected_ns = common::monotonic_ns();
    if (hello) {
      const auto b = wire::encode(*hello);
      send_all(fd.get(), b.data(), b.size(), target);
    }
    if (o.verify) {
      fill_payload(request, seq);
    }
    send_all(fd.get(), request.data(), request.size(), target);
    if (!recv_exact(fd.get(), response.data(), response.size(), target, o.timeout_ns)) {
      throw StepError("crr " + target + ": server closed connection " + std::to_string(seq) +
                          " before answering",
                      "reset");
    }
    const int64_t done_ns = common::monotonic_ns();
    fd.reset();
    if (o.verify) {
      if (auto at = first_mismatch(request, response)) {
        throw StepError("crr " + target + ": response on connection " + std::to_string(seq) +
                            " differs from its request at " + describe_mismatch(request, response, *at),
                        "verify_failed", {{"transaction", seq}, {"offset", *at}});
      }
      ++w.verified;
    }
    if (t0 >= clock.warmup_end_ns) {
      w.connect_latency.record(static_cast<uint64_t>(connected_ns - t0));
      w.latency.record(static_cast<uint64_t>(done_ns - t0));
      w.transactions.fetch_add(1, std::memory_order_relaxed);
    } else {
      ++w.warmup_transactions;
    }
  }
}

}  // namespace

json crr(const RrOptions& o, Context& ctx) {
  const common::SockAddr addr = common::resolve_endpoint(o.target, SOCK_STREAM);
  const std::string target = addr.to_string();
  const LatencyTotals t = run_latency_workers(
      o.connections, o, ctx, [&](LatencyWorker& w, int, const RunClock& clock, const std::atomic<bool>& stop) {
        crr_worker(addr, o, target, w, clock, stop);
      });
  const double cps = t.measured_ns > 0 ? static_cast<double>(t.transactions) * 1e9 / static_cast<double>(t.measured_ns) : 0;
  char summary[256];
  std::snprintf(summary, sizeof summary,
                "crr %s: %.0f connections/s, connect p50 %.1f us, p99 %.1f us (%d concurrent%s)", target.c_str(),
                cps, static_cast<double>(t.connect_latency.percentile(50)) / 1e3,
                static_cast<double>(t.connect_latency.percentile(99)) / 1e3, o.connections,
                o.verify ? ", verified" : "");
  const int64_t response_bytes = o.response_bytes != 0 ? o.response_bytes : o.payload_bytes;
  return {{"summary", summary},
          {"target", target},
          {"payload_bytes", o.payload_bytes},
          {"response_bytes", response_bytes},
          {"connections", o.connections},
          {"rate_per_sec", o.rate_per_sec()},
          {"duration_ns", t.measured_ns},
          {"transactions", t.transactions},
          {"connections_per_sec", cps},
          {"warmup", {{"duration_ns", o.warmup_ns}, {"transactions", t.warmup_transactions}}},
          {"connect_latency", t.connect_latency.summary("_ns")},
          {"latency", t.latency.summary("_ns")},
          {"verify", {{"enabled", o.verify}, {"verified", t.verified}}},
          {"cpu_ns", t.cpu_ns}};
}

}  // namespace sonda::tcp
