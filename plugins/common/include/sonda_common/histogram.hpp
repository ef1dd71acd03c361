// Log-linear latency histogram: bounded memory, <= 0.4 % relative error.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

namespace sonda::common {

/// Records non-negative integer values (nanoseconds, usually) into buckets
/// whose width is at most 1/128 of their lower bound; a quantile is reported
/// as its bucket's midpoint, so the relative error is <= 1/256 (~0.4 %).
/// Exact min, max, count and sum are kept alongside. Memory is fixed
/// (~60 KiB) whatever the rate or duration. Not thread-safe: keep one per
/// thread and merge().
class LatencyHistogram {
 public:
  LatencyHistogram();

  void record(uint64_t value);
  void merge(const LatencyHistogram& other);
  void reset();

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ ? min_ : 0; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0.0; }
  /// q in [0, 100]. 0 -> min, 100 -> max.
  uint64_t percentile(double q) const;

  /// {count, min, mean, p50, p90, p99, p99_9, max} with `unit` appended to
  /// every key but count (e.g. "_ns" gives min_ns ...).
  nlohmann::json summary(const char* unit_suffix = "_ns") const;

  static size_t bucket_index(uint64_t value);
  static uint64_t bucket_lower(size_t index);
  static uint64_t bucket_width(size_t index);
  static constexpr size_t kBuckets = 256 + 56 * 128;

 private:
  std::vector<uint64_t> buckets_;
  uint64_t count_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
  __uint128_t sum_ = 0;
};

}  // namespace sonda::common
