// Cost of validating scenarios and parsing units. The peer is yaml-cpp's own
// YAML::Load of the same text: BM_ValidateScenario / BM_YamlCppLoadOnly is
// what sonda's validation adds on top of merely reading the YAML.
#include <benchmark/benchmark.h>
#include <yaml-cpp/yaml.h>

#include <string>

#include "../unit/scenario_test_schemas.hpp"
#include "scenario.hpp"
#include "units.hpp"

namespace {

/// A scenario with `steps` action steps: groups of four (a server, then a
/// parallel pair of a load step and a scanner referencing the server, then a
/// scan), every parameter type used.
std::string make_scenario(int steps) {
  std::string text = "name: bench\ndefaults: { duration: 2s }\nsteps:\n";
  for (int i = 0; i < steps / 4; ++i) {
    const std::string n = std::to_string(i);
    const std::string port = std::to_string(10000 + i);
    text += "  - id: srv" + n + "\n    use: tcp_transport.server\n    with: { listen: \"127.0.0.1:" +
            port + "\", mode: echo }\n";
    text += "  - parallel:\n";
    text += "      - id: load" + n + "\n        use: tcp_transport.rr\n        with:\n"
            "          target: \"127.0.0.1:" + port + "\"\n          size: 1KiB\n"
            "          rate: 100Mbit\n          parallel: 4\n";
    text += "        timeout: 30s\n";
    text += "      - id: who" + n + "\n        use: proc_scanner.scan\n"
            "        with: { port: \"${srv" + n + ".port}\", during: load" + n + " }\n";
    text += "  - id: scan" + n + "\n    use: iface_scanner.scan\n"
            "    with: { interface: lo, families: [inet, inet6] }\n";
  }
  text += "expect:\n";
  for (int i = 0; i < steps / 4; ++i) {
    text += "  - load" + std::to_string(i) + ".latency.p99_ns < 2ms\n";
  }
  return text;
}

void BM_ValidateScenario(benchmark::State& state) {
  const std::string text = make_scenario(static_cast<int>(state.range(0)));
  const sonda::testing::FakeSchemas schemas;
  for (auto _ : state) {
    sonda::Scenario s = sonda::load_scenario_text(text, "bench.yaml", {"defaults.duration=1s"},
                                                  schemas);
    benchmark::DoNotOptimize(s);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(text.size()));
}
BENCHMARK(BM_ValidateScenario)->Arg(200)->Unit(benchmark::kMicrosecond);

void BM_YamlCppLoadOnly(benchmark::State& state) {
  const std::string text = make_scenario(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    YAML::Node doc = YAML::Load(text);
    benchmark::DoNotOptimize(doc);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(text.size()));
}
BENCHMARK(BM_YamlCppLoadOnly)->Arg(200)->Unit(benchmark::kMicrosecond);

void BM_ParseDuration(benchmark::State& state) {
  const char* texts[] = {"500ms", "1.5s", "250us", "2m"};
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(sonda::units::parse_duration_ns(texts[i++ & 3]));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseDuration);

void BM_ParseSize(benchmark::State& state) {
  const char* texts[] = {"64B", "128KiB", "1.5GiB", "1000"};
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(sonda::units::parse_size_bytes(texts[i++ & 3]));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseSize);

void BM_ParseRate(benchmark::State& state) {
  const char* texts[] = {"100Mbit", "1Gbps", "50kpps", "12MB/s"};
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(sonda::units::parse_rate(texts[i++ & 3]));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseRate);

}  // namespace
