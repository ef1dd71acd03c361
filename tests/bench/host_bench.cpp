// Host overheads, each next to its peer (the raw thing it wraps) so the
// ratio is what matters, not the absolute time on a noisy machine:
//   plugin load + door check      vs  dlopen + dlsym
//   one action through the host   vs  calling the descriptor's run() directly
//   one events.jsonl line         vs  fwrite + fflush of the same bytes
//   run.json of a large record    vs  nlohmann dump of the same tree
//   a 20 000-socket record through the host (action, step_end event,
//   run.json)                     vs  the plugin's run() + writing its text twice
#include <benchmark/benchmark.h>
#include <dlfcn.h>

#include <cstdio>
#include <filesystem>

#include "describe.hpp"
#include "json_scan.hpp"
#include "plugin_loader.hpp"
#include "results.hpp"
#include "step_task.hpp"

namespace sonda {
namespace {

const std::string kTestkit = std::string(SONDA_TEST_PLUGIN_DIR) + "/testkit.so";

void BM_LoadPluginAndDescribe(benchmark::State& state) {
  for (auto _ : state) {
    auto out = load_plugin(kTestkit);
    auto& plugin = std::get<std::shared_ptr<const LoadedPlugin>>(out);
    benchmark::DoNotOptimize(describe_plugin(*plugin, false));
  }
}
BENCHMARK(BM_LoadPluginAndDescribe);

void BM_Peer_DlopenDlsym(benchmark::State& state) {
  for (auto _ : state) {
    void* h = dlopen(kTestkit.c_str(), RTLD_NOW | RTLD_LOCAL);
    benchmark::DoNotOptimize(dlsym(h, "sonda_plugin_entry"));
    dlclose(h);
  }
}
BENCHMARK(BM_Peer_DlopenDlsym);

std::shared_ptr<const LoadedPlugin> testkit() {
  static auto plugin = std::get<std::shared_ptr<const LoadedPlugin>>(load_plugin(kTestkit));
  return plugin;
}

void BM_ActionThroughHost(benchmark::State& state) {
  const nlohmann::json params = {{"text", "x"}, {"count", 1}};
  for (auto _ : state) {
    benchmark::DoNotOptimize(ActionTask::run_sync(testkit(), "echo_params", params, 0, nullptr));
  }
}
BENCHMARK(BM_ActionThroughHost)->UseRealTime();

void BM_Peer_DirectRunCall(benchmark::State& state) {
  const std::string params = nlohmann::json{{"text", "x"}, {"count", 1}}.dump();
  int stop = 0;
  sonda_host host{};
  host.abi_version = SONDA_ABI_VERSION;
  host.stop_flag = &stop;
  host.log = [](void*, int, const char*) {};
  host.ready = [](void*, const char*) {};
  host.sample = [](void*, const char*) {};
  host.set_result = [](void*, const char* j) { benchmark::DoNotOptimize(j); };
  host.set_error = [](void*, const char*) {};
  for (auto _ : state) {
    benchmark::DoNotOptimize(testkit()->descriptor->run("echo_params", params.c_str(), &host));
  }
}
BENCHMARK(BM_Peer_DirectRunCall)->UseRealTime();

nlohmann::json sample_line() {
  return {{"id", "load"}, {"sample", {{"t_ns", 123456789}, {"bytes", 1 << 20}, {"rtt_ns", 35000}}}};
}

void BM_EventLine(benchmark::State& state) {
  const auto dir = std::filesystem::temp_directory_path() / "sonda-bench-events";
  {
    RunWriter writer(dir.string(), "bench");
    for (auto _ : state) {
      writer.event("sample", sample_line());
    }
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_EventLine);

void BM_Peer_FwriteFflush(benchmark::State& state) {
  const auto path = std::filesystem::temp_directory_path() / "sonda-bench-peer.jsonl";
  FILE* f = std::fopen(path.c_str(), "w");
  nlohmann::json line = sample_line();
  line["event"] = "sample";
  line["ts"] = "2026-11-25T14:05:12.123Z";
  for (auto _ : state) {
    const std::string text = line.dump() + "\n";
    std::fwrite(text.data(), 1, text.size(), f);
    std::fflush(f);
  }
  std::fclose(f);
  std::filesystem::remove(path);
}
BENCHMARK(BM_Peer_FwriteFflush);

StepResult large_step(int samples) {
  StepResult r;
  r.id = "load";
  r.status = StepStatus::kOk;
  r.record = StepRecord(nlohmann::json{{"summary", "x"}, {"latency", {{"p50_ns", 1}, {"p99_ns", 2}}}});
  for (int i = 0; i < samples; ++i) {
    r.samples.push_back({{"t_ns", i}, {"bytes", i * 1000}, {"rtt_ns", 30000 + i}});
  }
  return r;
}

void BM_StepResultToRunJson(benchmark::State& state) {
  const StepResult r = large_step(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    benchmark::DoNotOptimize(r.to_json().dump(2));
  }
}
BENCHMARK(BM_StepResultToRunJson)->Arg(10000);

void BM_Peer_JsonDump(benchmark::State& state) {
  const nlohmann::json j = large_step(static_cast<int>(state.range(0))).to_json();
  for (auto _ : state) {
    benchmark::DoNotOptimize(j.dump(2));
  }
}
BENCHMARK(BM_Peer_JsonDump)->Arg(10000);

/// What `sonda run` does with one finished step's record: the step_end
/// line in events.jsonl and the step inside run.json.
void record_step(RunWriter& writer, const StepResult& r) {
  writer.step_end(r);
  const nlohmann::json run = {{"schema_version", kResultSchemaVersion}, {"status", "ok"}};
  writer.write_run_json(run, {r});
}

void BM_LargeRecordThroughHost(benchmark::State& state) {
  const nlohmann::json params = {{"count", state.range(0)}};
  const auto dir = std::filesystem::temp_directory_path() / "sonda-bench-large";
  {
    RunWriter writer(dir.string(), "bench");
    for (auto _ : state) {
      ActionOutcome out = ActionTask::run_sync(testkit(), "big_record", params, 0, nullptr);
      StepResult r;
      r.id = "scan";
      r.status = StepStatus::kOk;
      r.record = std::move(out.record);
      record_step(writer, r);
    }
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_LargeRecordThroughHost)->Arg(20000)->Unit(benchmark::kMillisecond)->UseRealTime();

/// The floor: the plugin producing its text, and that text written to the
/// two result files as is.
void BM_Peer_LargeRecordRunAndWrite(benchmark::State& state) {
  const std::string params = nlohmann::json{{"count", state.range(0)}}.dump();
  const auto dir = std::filesystem::temp_directory_path() / "sonda-bench-large-peer";
  std::filesystem::create_directories(dir);
  int stop = 0;
  std::string text;
  sonda_host host{};
  host.abi_version = SONDA_ABI_VERSION;
  host.ctx = &text;
  host.stop_flag = &stop;
  host.log = [](void*, int, const char*) {};
  host.ready = [](void*, const char*) {};
  host.sample = [](void*, const char*) {};
  host.set_result = [](void* ctx, const char* j) { *static_cast<std::string*>(ctx) = j; };
  host.set_error = [](void*, const char*) {};
  for (auto _ : state) {
    testkit()->descriptor->run("big_record", params.c_str(), &host);
    for (const char* name : {"events.jsonl", "run.json"}) {
      FILE* f = std::fopen((dir / name).c_str(), "w");
      std::fwrite(text.data(), 1, text.size(), f);
      std::fclose(f);
    }
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_Peer_LargeRecordRunAndWrite)->Arg(20000)->Unit(benchmark::kMillisecond)->UseRealTime();

/// The runner's check of a plugin's record text (validate, keep the
/// skeleton), against validating alone (nlohmann's accept(), building
/// nothing): the floor for this parser. (simdjson's DOM was tried: 6.3x faster
/// than this warm, but 1.5x slower in a fresh process, which every `sonda
/// run` is: its buffers, ~10x the document, are page faults on first use.)
std::string big_record_text(int64_t count) {
  const std::string params = nlohmann::json{{"count", count}}.dump();
  return ActionTask::run_sync(testkit(), "big_record", nlohmann::json::parse(params), 0, nullptr)
      .record.tree()
      .dump();
}

void BM_RecordFromText(benchmark::State& state) {
  const std::string text = big_record_text(state.range(0));
  std::string problem;
  for (auto _ : state) {
    std::string copy = text;
    benchmark::DoNotOptimize(StepRecord::from_text(std::move(copy), problem));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_RecordFromText)->Arg(20000)->Unit(benchmark::kMillisecond)->UseRealTime();

/// The agent's check of a large record, once whole (check_json) and as it
/// arrives in the renderer's 64 KiB pieces (JsonStreamCheck, what a
/// streamed record gets): the pieces should cost no more than the whole.
void BM_RecordCheckWhole(benchmark::State& state) {
  const std::string text = big_record_text(state.range(0));
  for (auto _ : state) {
    nlohmann::json skeleton;
    benchmark::DoNotOptimize(check_json(text.c_str(), text.size(), &skeleton));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_RecordCheckWhole)->Arg(20000)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_RecordCheckInPieces(benchmark::State& state) {
  const std::string text = big_record_text(state.range(0));
  for (auto _ : state) {
    nlohmann::json skeleton;
    JsonStreamCheck check(&skeleton);
    for (size_t at = 0; at < text.size(); at += 65536) {
      check.feed(std::string_view(text).substr(at, 65536));
    }
    benchmark::DoNotOptimize(check.finish());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_RecordCheckInPieces)->Arg(20000)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Peer_NlohmannAccept(benchmark::State& state) {
  const std::string text = big_record_text(state.range(0));
  for (auto _ : state) {
    std::string copy = text;
    benchmark::DoNotOptimize(nlohmann::json::accept(copy));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_Peer_NlohmannAccept)->Arg(20000)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace sonda
