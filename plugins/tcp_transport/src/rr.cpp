// `rr`: request/response latency over persistent connections, blocking I/O
// (no busy polling: it measures what an ordinary application sees).
#include <sys/socket.h>

#include <cstdio>
#include <vector>

#include "actions.hpp"
#include "latency_run.hpp"
#include "payload.hpp"
#include "socket_io.hpp"

namespace sonda::tcp {
namespace {

constexpr int64_t kWakeNs = 100'000'000;

/// One persistent connection: keeps up to `outstanding` requests in flight;
/// TCP delivers responses in order, so the oldest in flight is the one
/// answered.
void rr_connection(common::Fd fd, const RrOptions& o, const std::string& target, LatencyWorker& w,
                   const RunClock& clock, const std::atomic<bool>& stop) {
  const size_t response_bytes = static_cast<size_t>(o.response_bytes != 0 ? o.response_bytes : o.payload_bytes);
  std::vector<char> request(static_cast<size_t>(o.payload_bytes));
  std::vector<char> response(response_bytes);
  std::vector<char> expected(request.size());
  fill_payload(request, 0);
  struct InFlight {
    uint64_t seq;
    int64_t sent_ns;
  };
  std::vector<InFlight> ring(static_cast<size_t>(o.outstanding));
  size_t head = 0;
  size_t count = 0;
  uint64_t seq = 0;
  bool sending = true;
  for (;;) {
    while (sending && count < ring.size()) {
      int64_t now = common::monotonic_ns();
      if (now >= clock.end_ns || stop.load(std::memory_order_relaxed)) {
        sending = false;
        break;
      }
      const int64_t due = scheduled_send_ns(o, clock, seq);
      if (due > now) {
        if (count > 0) {
          break;  // collect a response while waiting for the next slot
        }
        sleep_until_ns(due);
      }
      // Paced runs time from the schedule, so a slow response delays the
      // next request's clock too (no coordinated omission).
      const int64_t t_ns = due != 0 ? due : common::monotonic_ns();
      if (o.verify) {
        fill_payload(request, seq);
      }
      send_all(fd.get(), request.data(), request.size(), target);
      ring[(head + count) % ring.size()] = {seq, t_ns};
      ++count;
      ++seq;
    }
    if (count == 0) {
      return;
    }
    const uint64_t done = w.transactions.load(std::memory_order_relaxed) + w.warmup_transactions;
    if (!recv_exact(fd.get(), response.data(), response.size(), target, o.timeout_ns)) {
      throw StepError("rr " + target + ": server closed the connection after " + std::to_string(done) +
                          " transactions",
                      "reset", {{"transactions", done}});
    }
    const int64_t now = common::monotonic_ns();
    const InFlight f = ring[head];
    head = (head + 1) % ring.size();
    --count;
    if (o.verify) {
      fill_payload(expected, f.seq);
      if (auto at = first_mismatch(expected, response)) {
        throw StepError("rr " + target + ": response " + std::to_string(f.seq) + " differs from its request at " +
                            describe_mismatch(expected, response, *at),
                        "verify_failed", {{"transaction", f.seq}, {"offset", *at}});
      }
      ++w.verified;
    }
    if (f.sent_ns >= clock.warmup_end_ns) {
      w.latency.record(static_cast<uint64_t>(now - f.sent_ns));
      w.transactions.fetch_add(1, std::memory_order_relaxed);
    } else {
      ++w.warmup_transactions;
    }
  }
}

}  // namespace

json rr(const RrOptions& o, Context& ctx) {
  const common::SockAddr addr = common::resolve_endpoint(o.target, SOCK_STREAM);
  const std::string target = addr.to_string();
  const auto hello = rr_hello(o.payload_bytes, o.response_bytes);

  // Connect everything before the clock starts: rr measures transactions,
  // not connection set-up (that is crr).
  std::vector<common::Fd> fds;
  for (int i = 0; i < o.connections; ++i) {
    common::Fd fd = connect_to(addr, target, o.tuning, o.timeout_ns);
    if (hello) {
      const auto b = wire::encode(*hello);
      send_all(fd.get(), b.data(), b.size(), target);
    }
    set_io_timeout(fd.get(), kWakeNs);
    fds.push_back(std::move(fd));
  }
  const LatencyTotals t = run_latency_workers(
      o.connections, o, ctx, [&](LatencyWorker& w, int i, const RunClock& clock, const std::atomic<bool>& stop) {
        rr_connection(std::move(fds[static_cast<size_t>(i)]), o, target, w, clock, stop);
      });

  const double tps = t.measured_ns > 0 ? static_cast<double>(t.transactions) * 1e9 / static_cast<double>(t.measured_ns) : 0;
  const int64_t response_bytes = o.response_bytes != 0 ? o.response_bytes : o.payload_bytes;
  json latency = t.latency.summary("_ns");
  char summary[256];
  std::snprintf(summary, sizeof summary,
                "rr %s: %.0f transactions/s, p50 %.1f us, p99 %.1f us (%lld B/%lld B, %d conn x %d outstanding%s)",
                target.c_str(), tps, static_cast<double>(t.latency.percentile(50)) / 1e3,
                static_cast<double>(t.latency.percentile(99)) / 1e3, static_cast<long long>(o.payload_bytes),
                static_cast<long long>(response_bytes), o.connections, o.outstanding,
                o.verify ? ", verified" : "");
  return {{"summary", summary},
          {"target", target},
          {"payload_bytes", o.payload_bytes},
          {"response_bytes", response_bytes},
          {"connections", o.connections},
          {"outstanding", o.outstanding},
          {"rate_per_sec", o.rate_per_sec()},
          {"latency_from", o.rate_per_sec() > 0 ? "scheduled send time" : "send() call"},
          {"duration_ns", t.measured_ns},
          {"transactions", t.transactions},
          {"transactions_per_sec", tps},
          {"warmup", {{"duration_ns", o.warmup_ns}, {"transactions", t.warmup_transactions}}},
          {"latency", latency},
          {"verify", {{"enabled", o.verify}, {"verified", t.verified}}},
          {"cpu_ns", t.cpu_ns}};
}

}  // namespace sonda::tcp
