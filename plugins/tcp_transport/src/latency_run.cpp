#include "latency_run.hpp"

#include <sonda_common/net.hpp>

#include <algorithm>
#include <ctime>
#include <thread>

#include "socket_io.hpp"

namespace sonda::tcp {

int64_t scheduled_send_ns(const RrOptions& o, const RunClock& clock, uint64_t seq) {
  if (o.rate_per_sec() <= 0) {
    return 0;
  }
  const double period_ns = 1e9 * o.connections / o.rate_per_sec();
  return clock.start_ns + static_cast<int64_t>(period_ns * static_cast<double>(seq));
}

void sleep_until_ns(int64_t when_ns) {
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(when_ns / 1'000'000'000);
  ts.tv_nsec = static_cast<long>(when_ns % 1'000'000'000);
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

LatencyTotals run_latency_workers(int workers, const RrOptions& o, Context& ctx, const LatencyWorkerFn& fn) {
  std::vector<std::unique_ptr<LatencyWorker>> ws;
  for (int i = 0; i < workers; ++i) {
    ws.push_back(std::make_unique<LatencyWorker>());
  }
  RunClock clock;
  clock.start_ns = common::monotonic_ns();
  clock.warmup_end_ns = clock.start_ns + o.warmup_ns;
  clock.end_ns = clock.start_ns + o.duration_ns;

  std::atomic<bool> stop{false};
  std::atomic<int> finished{0};
  std::vector<int64_t> ended_ns(static_cast<size_t>(workers), 0);
  std::vector<std::thread> threads;
  for (int i = 0; i < workers; ++i) {
    threads.emplace_back([&, i] {
      LatencyWorker& w = *ws[static_cast<size_t>(i)];
      const int64_t cpu0 = thread_cpu_ns();
      try {
        fn(w, i, clock, stop);
      } catch (...) {
        w.error = std::current_exception();
        stop.store(true);  // one failure ends the run: the step fails anyway
      }
      w.cpu_ns = thread_cpu_ns() - cpu0;
      ended_ns[static_cast<size_t>(i)] = common::monotonic_ns();
      finished.fetch_add(1);
    });
  }

  uint64_t prev = 0;
  int64_t prev_ns = clock.start_ns;
  int64_t next_tick_ns = clock.start_ns + o.interval_ns;
  while (finished.load() < workers) {
    if (ctx.should_stop()) {
      stop.store(true);
    }
    const int64_t now = common::monotonic_ns();
    if (now >= next_tick_ns) {
      uint64_t cur = 0;
      for (auto& w : ws) {
        cur += w->transactions.load(std::memory_order_relaxed);
      }
      ctx.sample({{"t_ns", now - clock.start_ns},
                  {"interval_ns", now - prev_ns},
                  {"warmup", now <= clock.warmup_end_ns},
                  {"transactions", cur - prev},
                  {"transactions_per_sec", static_cast<double>(cur - prev) * 1e9 / static_cast<double>(now - prev_ns)}});
      prev = cur;
      prev_ns = now;
      next_tick_ns += o.interval_ns;
    }
    std::this_thread::sleep_for(std::chrono::nanoseconds(
        std::clamp<int64_t>(next_tick_ns - common::monotonic_ns(), 1'000'000, 20'000'000)));
  }
  for (auto& t : threads) {
    t.join();
  }
  LatencyTotals totals;
  int64_t last_end_ns = clock.warmup_end_ns;
  for (size_t i = 0; i < ws.size(); ++i) {
    if (ws[i]->error) {
      std::rethrow_exception(ws[i]->error);
    }
    totals.latency.merge(ws[i]->latency);
    totals.connect_latency.merge(ws[i]->connect_latency);
    totals.transactions += ws[i]->transactions.load();
    totals.warmup_transactions += ws[i]->warmup_transactions;
    totals.verified += ws[i]->verified;
    totals.cpu_ns += ws[i]->cpu_ns;
    last_end_ns = std::max(last_end_ns, std::min(ended_ns[i], clock.end_ns));
  }
  totals.measured_ns = last_end_ns - clock.warmup_end_ns;
  return totals;
}

}  // namespace sonda::tcp
