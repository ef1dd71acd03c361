#include "sonda_common/histogram.hpp"

#include <algorithm>
#include <cmath>

namespace sonda::common {

namespace {
constexpr int kSubBits = 8;               // 256 linear values, then 128 per octave
constexpr uint64_t kLinear = 1u << kSubBits;
constexpr uint64_t kHalf = kLinear / 2;
}  // namespace

LatencyHistogram::LatencyHistogram() : buckets_(kBuckets, 0) {}

size_t LatencyHistogram::bucket_index(uint64_t v) {
  if (v < kLinear) return static_cast<size_t>(v);
  const int msb = 63 - __builtin_clzll(v);
  const int shift = msb - (kSubBits - 1);  // >= 1
  const uint64_t top = v >> shift;         // in [128, 255]
  return kLinear + static_cast<size_t>(shift - 1) * kHalf + static_cast<size_t>(top - kHalf);
}

uint64_t LatencyHistogram::bucket_lower(size_t i) {
  if (i < kLinear) return i;
  const size_t k = i - kLinear;
  const int shift = static_cast<int>(k / kHalf) + 1;
  const uint64_t top = kHalf + k % kHalf;
  return top << shift;
}

uint64_t LatencyHistogram::bucket_width(size_t i) {
  if (i < kLinear) return 1;
  return uint64_t{1} << (static_cast<int>((i - kLinear) / kHalf) + 1);
}

void LatencyHistogram::record(uint64_t v) {
  ++buckets_[bucket_index(v)];
  ++count_;
  sum_ += v;
  min_ = std::min(min_, v);
  max_ = std::max(max_, v);
}

void LatencyHistogram::merge(const LatencyHistogram& o) {
  for (size_t i = 0; i < kBuckets; ++i) buckets_[i] += o.buckets_[i];
  count_ += o.count_;
  sum_ += o.sum_;
  min_ = std::min(min_, o.min_);
  max_ = std::max(max_, o.max_);
}

void LatencyHistogram::reset() {
  std::fill(buckets_.begin(), buckets_.end(), 0);
  count_ = 0;
  sum_ = 0;
  min_ = UINT64_MAX;
  max_ = 0;
}

uint64_t LatencyHistogram::percentile(double q) const {
  if (count_ == 0) return 0;
  if (q <= 0) return min_;
  if (q >= 100) return max_;
  // Nearest-rank: the smallest value with at least q% of samples <= it.
  uint64_t rank = static_cast<uint64_t>(std::ceil(q / 100.0 * static_cast<double>(count_)));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    seen += buckets_[i];
    if (seen >= rank) {
      const uint64_t mid = bucket_lower(i) + (bucket_width(i) - 1) / 2;
      return std::clamp(mid, min_, max_);
    }
  }
  return max_;
}

nlohmann::json LatencyHistogram::summary(const char* u) const {
  const std::string s(u);
  return {{"count", count_},       {"min" + s, min()},
          {"mean" + s, mean()},    {"p50" + s, percentile(50)},
          {"p90" + s, percentile(90)}, {"p99" + s, percentile(99)},
          {"p99_9" + s, percentile(99.9)}, {"max" + s, max()}};
}

}  // namespace sonda::common
