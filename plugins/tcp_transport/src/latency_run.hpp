// What rr and crr share: worker threads that each keep their own histogram,
// a sampling loop on the calling thread, and the merge at the end.
#pragma once

#include <sonda_common/histogram.hpp>

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <sonda/plugin.hpp>
#include <vector>

#include "options.hpp"

namespace sonda::tcp {

/// One worker's figures. Histograms are written only by the worker thread
/// and read after join (LatencyHistogram is not thread-safe).
struct LatencyWorker {
  common::LatencyHistogram latency;          ///< transaction latency, ns
  common::LatencyHistogram connect_latency;  ///< crr: connect() latency, ns
  std::atomic<uint64_t> transactions{0};     ///< measured (after warm-up)
  uint64_t warmup_transactions = 0;
  uint64_t verified = 0;
  int64_t cpu_ns = 0;
  std::exception_ptr error;
};

/// Timing of a run shared by all workers (CLOCK_MONOTONIC ns).
struct RunClock {
  int64_t start_ns = 0;
  int64_t warmup_end_ns = 0;
  int64_t end_ns = 0;
};

/// Merged outcome of run_latency_workers().
struct LatencyTotals {
  common::LatencyHistogram latency;
  common::LatencyHistogram connect_latency;
  uint64_t transactions = 0;
  uint64_t warmup_transactions = 0;
  uint64_t verified = 0;
  int64_t cpu_ns = 0;
  int64_t measured_ns = 0;  ///< warm-up end to the last worker's end
};

/// Body of one worker: runs until clock.end_ns or `stop`; throws on failure.
using LatencyWorkerFn = std::function<void(LatencyWorker& w, int index, const RunClock& clock,
                                           const std::atomic<bool>& stop)>;

/// Starts `workers` threads running `fn`, emits a {t_ns, transactions,
/// transactions_per_sec} sample every interval, joins, rethrows the first
/// worker error, and merges the histograms.
LatencyTotals run_latency_workers(int workers, const RrOptions& o, Context& ctx, const LatencyWorkerFn& fn);

/// Paces one worker at `rate_per_sec / workers`: the send time of
/// transaction `seq`, or 0 when unpaced.
int64_t scheduled_send_ns(const RrOptions& o, const RunClock& clock, uint64_t seq);

/// Sleeps until the CLOCK_MONOTONIC time `when_ns`.
void sleep_until_ns(int64_t when_ns);

}  // namespace sonda::tcp
