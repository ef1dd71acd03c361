// What running a step in an agent process costs, side by side with the
// in-process path (issue: agent start <= 10 ms, runner overhead per step
// <= 5 ms, a 19 000-socket record across the channel copied once):
//   an agent's start, spawn to hello           vs  posix_spawn of /bin/true to its exit
//   a trivial action, agent (spare ready or not) vs  the same action in-process
//   a 20 ms action, agent                      vs  in-process (the overhead when the spare had time)
//   a 19 000-socket record, agent              vs  in-process
// Measure on an idle machine; the figures are whole round trips (real time).
#include <benchmark/benchmark.h>
#include <spawn.h>
#include <sys/wait.h>

#include <thread>

#include "action_run.hpp"
#include "agent_client.hpp"
#include "plugin_loader.hpp"
#include "step_task.hpp"

extern char** environ;

namespace sonda {
namespace {

std::shared_ptr<const LoadedPlugin> testkit() {
  static auto plugin = std::get<std::shared_ptr<const LoadedPlugin>>(
      load_plugin(std::string(SONDA_TEST_PLUGIN_DIR) + "/testkit.so"));
  return plugin;
}

void BM_AgentStartToHello(benchmark::State& state) {
  for (auto _ : state) {
    auto agent = AgentConnection::start({SONDA_BINARY, "agent"});
    if (agent->wait_hello(monotonic_now_ns() + 5'000'000'000).is_null()) {
      state.SkipWithError("no hello from the agent");
      break;
    }
    agent->close_async();
  }
  AgentConnection::wait_all(monotonic_now_ns() + 5'000'000'000);
}
BENCHMARK(BM_AgentStartToHello)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_Peer_SpawnTrueToExit(benchmark::State& state) {
  char* argv[] = {const_cast<char*>("/bin/true"), nullptr};
  for (auto _ : state) {
    pid_t pid = -1;
    posix_spawn(&pid, argv[0], nullptr, nullptr, argv, environ);
    int status = 0;
    waitpid(pid, &status, 0);
  }
}
BENCHMARK(BM_Peer_SpawnTrueToExit)->UseRealTime()->Unit(benchmark::kMillisecond);

/// One action through an Executor, start to outcome, the run destroyed.
/// Arg 0: isolation (0 agent, 1 in-process); `action`/`params` per benchmark.
void run_actions(benchmark::State& state, const char* action, const nlohmann::json& params) {
  const Isolation isolation = state.range(0) == 0 ? Isolation::kAgent : Isolation::kInProcess;
  const Executor executor(isolation, SIZE_MAX, SONDA_BINARY);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the first spare is up
  size_t record_bytes = 0;
  for (auto _ : state) {
    auto run = executor.start({testkit(), action, params, 0, {}, "", {}, ""});
    run->wait_done(0);
    const ActionOutcome out = run->outcome();
    if (out.rc != 0 || !out.record_problem.empty()) {
      state.SkipWithError(("action failed: " + out.error + out.record_problem).c_str());
      break;
    }
    record_bytes = out.record.top().size();
  }
  benchmark::DoNotOptimize(record_bytes);
  state.SetLabel(to_string(isolation));
  executor.drain(monotonic_now_ns() + 5'000'000'000);
}

void BM_TrivialActionBackToBack(benchmark::State& state) {
  run_actions(state, "echo_params", {{"text", "x"}, {"count", 1}});
}
BENCHMARK(BM_TrivialActionBackToBack)->Arg(0)->Arg(1)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_Action20ms(benchmark::State& state) {
  run_actions(state, "sleep", {{"duration", 20'000'000}, {"value", 0}});
}
BENCHMARK(BM_Action20ms)->Arg(0)->Arg(1)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_Record19000Sockets(benchmark::State& state) {
  run_actions(state, "big_record", {{"count", 19000}});
}
BENCHMARK(BM_Record19000Sockets)->Arg(0)->Arg(1)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace sonda
