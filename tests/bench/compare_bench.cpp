// `sonda compare` on two 200-step runs (goal: <= 100 ms): reading both
// run.json files and comparing, and the comparison alone. Each step has the
// figures of a TCP rr step (3) with 10 repeat samples a side, so every
// figure gets a Mann-Whitney test.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <unistd.h>

#include "compare.hpp"

namespace sonda {
namespace {

nlohmann::json synthetic_run(unsigned seed, double shift) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0.0, 0.02);
  nlohmann::json steps = nlohmann::json::array();
  for (int i = 0; i < 200; ++i) {
    nlohmann::json figures = nlohmann::json::array();
    for (const char* path : {"transactions_per_sec", "latency.p50_ns", "latency.p99_ns"}) {
      nlohmann::json samples = nlohmann::json::array();
      for (int k = 0; k < 10; ++k) {
        samples.push_back(30000.0 * (1.0 + shift + noise(rng)));
      }
      figures.push_back({{"path", path}, {"unit", "ns"}, {"better", "lower"}, {"value", samples.back()},
                         {"samples", samples}});
    }
    nlohmann::json record = {{"summary", "rr"}, {"repeat", {{"count", 10}}}};
    steps.push_back({{"id", "step" + std::to_string(i)}, {"status", "ok"}, {"plugin", "tcp_transport"},
                     {"action", "rr"}, {"record", record}, {"figures", figures}});
  }
  return {{"scenario", {{"name", "bench"}, {"file", "bench.yaml"}, {"as_run", {{"name", "bench"}}}}},
          {"context", {{"host", "h"}, {"kernel", {{"release", "6.1"}}}, {"cpu", {{"count", 2}, {"model", "x"}}}}},
          {"steps", steps}};
}

struct Files {
  std::string dir;
  std::string base;
  std::string now;
  Files() {
    dir = std::filesystem::temp_directory_path() / ("sonda-compare-bench-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    base = dir + "/base.json";
    now = dir + "/new.json";
    std::ofstream(base) << synthetic_run(1, 0.0).dump(2);
    std::ofstream(now) << synthetic_run(2, 0.05).dump(2);
  }
  ~Files() { std::filesystem::remove_all(dir); }
};

void BM_CompareTwo200StepRunsFromFiles(benchmark::State& state) {
  static Files files;
  for (auto _ : state) {
    const Comparison c = compare_runs(read_run_json(files.base), read_run_json(files.now), {});
    benchmark::DoNotOptimize(c.figures.size());
  }
}
BENCHMARK(BM_CompareTwo200StepRunsFromFiles)->Unit(benchmark::kMillisecond);

void BM_CompareTwo200StepRunsInMemory(benchmark::State& state) {
  const nlohmann::json base = synthetic_run(1, 0.0);
  const nlohmann::json now = synthetic_run(2, 0.05);
  for (auto _ : state) {
    const Comparison c = compare_runs(base, now, {});
    benchmark::DoNotOptimize(c.figures.size());
  }
}
BENCHMARK(BM_CompareTwo200StepRunsInMemory)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace sonda
