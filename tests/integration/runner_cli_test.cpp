// The runner end to end through the real binary and the testkit plugin:
// ordering, deadlines, failures, repeats, references, expectations, samples
// and Ctrl-C, checked in run.json and events.jsonl.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <thread>

#include "cli_harness.hpp"

namespace sonda::testing {
namespace {

/// Index of the first event matching type (and step id when given).
long index_of(const std::vector<nlohmann::json>& events, const std::string& type, const std::string& id = "") {
  for (size_t i = 0; i < events.size(); ++i) {
    if (events[i].value("event", "") == type && (id.empty() || events[i].value("id", "") == id)) {
      return static_cast<long>(i);
    }
  }
  return -1;
}

class RunnerCli : public ::testing::Test {
 protected:
  SondaResult run(const std::string& yaml, std::vector<std::string> extra = {}) {
    const auto file = dir_.write("s.yaml", yaml);
    std::vector<std::string> args = {"run", file, "-o", out()};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_sonda(args);
  }
  std::string out() const { return dir_.path() + "/out"; }
  ScratchDir dir_;
};

TEST_F(RunnerCli, SequenceParallelAndBackgroundRunInOrder) {
  auto r = run(R"(name: order
steps:
  - id: srv
    use: testkit.server
  - id: first
    use: testkit.sleep
    with: { duration: 20ms, value: 7 }
  - parallel:
      - { id: a, use: testkit.sleep, with: { duration: 300ms } }
      - { id: b, use: testkit.sleep, with: { duration: 300ms } }
  - id: uses_refs
    use: testkit.echo_params
    with: { text: "port=${srv.port} value=${first.value}" }
)");
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  const auto run_json = latest_run(out(), "order");
  EXPECT_EQ(run_json["schema_version"], 2);
  EXPECT_EQ(run_json["status"], "ok");
  const auto events = latest_events(out(), "order");
  ASSERT_GE(events.size(), 10u);
  EXPECT_EQ(events.front()["event"], "run_start");
  EXPECT_EQ(events.back()["event"], "run_end");
  EXPECT_LT(index_of(events, "step_ready", "srv"), index_of(events, "step_start", "first"));
  EXPECT_LT(index_of(events, "step_end", "first"), index_of(events, "step_start", "a"));
  // a and b overlap: both start before either ends.
  EXPECT_LT(index_of(events, "step_start", "b"), index_of(events, "step_end", "a"));
  EXPECT_LT(index_of(events, "step_start", "a"), index_of(events, "step_end", "b"));
  // The server lives until the scenario ends.
  EXPECT_GT(index_of(events, "step_end", "srv"), index_of(events, "step_end", "uses_refs"));
  const auto srv = step_of(run_json, "srv");
  EXPECT_EQ(srv["status"], "ok");
  const int port = srv["record"]["port"].get<int>();
  EXPECT_GT(port, 0);
  EXPECT_GT(srv["record"]["served_ns"].get<int64_t>(), 300'000'000);
  EXPECT_EQ(step_of(run_json, "uses_refs")["record"]["params"]["text"],
            "port=" + std::to_string(port) + " value=7");
  EXPECT_NE(r.out.find("first"), std::string::npos);
  EXPECT_NE(r.out.find("slept"), std::string::npos) << "summary column shows record.summary: " << r.out;
}

TEST_F(RunnerCli, RecordsTheRunContext) {
  ASSERT_EQ(run("name: ctx\nsteps:\n  - { id: a, use: testkit.sleep, with: { duration: 1ms } }\n").exit_code, 0);
  const auto j = latest_run(out(), "ctx");
  EXPECT_FALSE(j["sonda"]["git"].get<std::string>().empty());
  EXPECT_GT(j["context"]["cpu"]["count"].get<int>(), 0);
  EXPECT_TRUE(j["context"]["kernel"]["release"].is_string());
  EXPECT_TRUE(j["context"]["sysctls"]["net.core.rmem_max"].is_number());
  EXPECT_TRUE(j["context"]["docker"]["installed"].is_boolean());
  EXPECT_EQ(j["scenario"]["as_run"]["name"], "ctx");
  EXPECT_NE(read_text(out() + "/ctx/latest/summary.txt").find("STEP"), std::string::npos);
}

TEST_F(RunnerCli, OverrunningStepIsAbandonedAsTimeoutAndLaterStepsRun) {
  const auto start = std::chrono::steady_clock::now();
  auto r = run(R"(name: slow
steps:
  - { id: stuck, use: testkit.ignore_stop, with: { duration: 20s }, timeout: 200ms }
  - { id: polite, use: testkit.sleep, with: { duration: 5s }, timeout: 100ms }
  - { id: after, use: testkit.sleep, with: { duration: 1ms } }
)");
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_LT(elapsed, std::chrono::seconds(6));
  const auto j = latest_run(out(), "slow");
  const auto stuck = step_of(j, "stuck");
  EXPECT_EQ(stuck["status"], "timeout");
  EXPECT_EQ(stuck["reason"].get<std::string>().rfind("timed out after 0.2s", 0), 0u) << stuck["reason"];
  // A step that honours its deadline returns on time with its record.
  EXPECT_EQ(step_of(j, "polite")["status"], "ok");
  EXPECT_EQ(step_of(j, "polite")["record"]["stopped_early"], true);
  EXPECT_EQ(step_of(j, "after")["status"], "ok");
}

TEST_F(RunnerCli, FailureIsRecordedAndLaterStepsStillRun) {
  auto r = run(R"(name: fails
steps:
  - { id: boom, use: testkit.fail, with: { message: "it broke on purpose" } }
  - { id: after, use: testkit.sleep, with: { duration: 1ms } }
)");
  EXPECT_EQ(r.exit_code, 4);
  const auto j = latest_run(out(), "fails");
  EXPECT_EQ(j["status"], "failed");
  EXPECT_EQ(step_of(j, "boom")["status"], "failed");
  EXPECT_EQ(step_of(j, "boom")["reason"], "it broke on purpose");
  EXPECT_EQ(step_of(j, "boom")["record"]["error"]["kind"], "error");
  EXPECT_EQ(step_of(j, "after")["status"], "ok");
}

TEST_F(RunnerCli, StopOnFailureSkipsTheRest) {
  auto r = run(R"(name: stops
stop_on_failure: true
steps:
  - { id: boom, use: testkit.fail }
  - { id: after, use: testkit.sleep, with: { duration: 1ms } }
)");
  EXPECT_EQ(r.exit_code, 4);
  const auto after = step_of(latest_run(out(), "stops"), "after");
  EXPECT_EQ(after["status"], "skipped");
  EXPECT_NE(after["reason"].get<std::string>().find("stop_on_failure"), std::string::npos);
}

TEST_F(RunnerCli, RepeatRecordsEveryRunAndTheSpread) {
  auto r = run(R"(name: rep
steps:
  - { id: s, use: testkit.sleep, with: { duration: 15ms, value: 3 }, repeat: 4 }
expect:
  - s.repeat.spread.value.median == 3
)");
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  const auto rec = step_of(latest_run(out(), "rep"), "s")["record"];
  EXPECT_EQ(rec["repeat"]["count"], 4);
  EXPECT_EQ(rec["repeat"]["runs"].size(), 4u);
  const auto slept = rec["repeat"]["spread"]["slept_ns"];
  EXPECT_EQ(slept["count"], 4);
  EXPECT_LE(slept["min"].get<double>(), slept["median"].get<double>());
  EXPECT_LE(slept["median"].get<double>(), slept["max"].get<double>());
  EXPECT_GE(slept["min"].get<double>(), 15e6);
  EXPECT_GE(slept["stddev"].get<double>(), 0.0);
  EXPECT_EQ(rec["repeat"]["spread"]["value"]["stddev"], 0.0);
  EXPECT_EQ(rec["value"], 3);  // the step's record is the last run's
}

TEST_F(RunnerCli, ExpectationsArePassFailWithMeasuredValuesAndExit5) {
  auto r = run(R"(name: expects
steps:
  - { id: first, use: testkit.sleep, with: { duration: 1ms, value: 7 } }
expect:
  - first.value == 7
  - first.value > 7
)");
  EXPECT_EQ(r.exit_code, 5) << r.err;
  const auto j = latest_run(out(), "expects");
  EXPECT_EQ(j["status"], "expectations_failed");
  ASSERT_EQ(j["expectations"].size(), 2u);
  EXPECT_EQ(j["expectations"][0]["passed"], true);
  EXPECT_EQ(j["expectations"][1]["passed"], false);
  EXPECT_EQ(j["expectations"][1]["measured"], 7);
  EXPECT_NE(r.out.find("FAIL  first.value > 7"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("PASS  first.value == 7"), std::string::npos);
}

TEST_F(RunnerCli, SamplesAreStreamedAndKeptWithTheStep) {
  ASSERT_EQ(run(R"(name: samples
steps:
  - { id: s, use: testkit.emit_samples, with: { count: 5, interval: 5ms } }
)").exit_code, 0);
  EXPECT_EQ(step_of(latest_run(out(), "samples"), "s")["samples"].size(), 5u);
  size_t sample_lines = 0;
  for (const auto& e : latest_events(out(), "samples")) {
    sample_lines += e["event"] == "sample" && e["id"] == "s" ? 1 : 0;
  }
  EXPECT_EQ(sample_lines, 5u);
}

TEST_F(RunnerCli, MisbehavingPluginIsAFailedStepNotACrash) {
  auto r = run("name: misb\nsteps:\n  - { id: m, use: misbehave.silent_fail }\n  - { id: n, use: misbehave.no_result }\n");
  EXPECT_EQ(r.exit_code, 4) << r.err;
  const auto j = latest_run(out(), "misb");
  EXPECT_EQ(step_of(j, "m")["reason"], "misbehave.silent_fail failed with status 7 and no message");
  EXPECT_EQ(step_of(j, "n")["status"], "ok");
}

TEST_F(RunnerCli, SigintStopsWithin1sWritesPartialResultsAndExits130) {
  const auto file = dir_.write("s.yaml", R"(name: intr
steps:
  - id: srv
    use: testkit.server
  - { id: done, use: testkit.sleep, with: { duration: 1ms } }
  - { id: long, use: testkit.sleep, with: { duration: 60s } }
  - { id: never, use: testkit.sleep, with: { duration: 1ms } }
)");
  SondaChild child = start_sonda({"run", file, "-o", out()}, dir_.path());
  // Wait until the long step is running.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  bool running = false;
  while (!running && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    running = any_event_line(out() + "/intr", "step_start", "\"id\":\"long\"");
  }
  ASSERT_TRUE(running) << read_text(child.err_path);
  const auto sent = std::chrono::steady_clock::now();
  kill(child.pid, SIGINT);
  const int code = wait_sonda(child);
  const auto took = std::chrono::steady_clock::now() - sent;
  EXPECT_EQ(code, 130) << read_text(child.err_path);
  EXPECT_LT(took, std::chrono::milliseconds(1000));
  const auto j = latest_run(out(), "intr");
  EXPECT_EQ(j["status"], "interrupted");
  EXPECT_EQ(step_of(j, "done")["status"], "ok");
  EXPECT_EQ(step_of(j, "long")["status"], "interrupted");
  EXPECT_EQ(step_of(j, "never")["status"], "skipped");
  const auto events = latest_events(out(), "intr");
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back()["event"], "run_end");
  EXPECT_EQ(events.back()["status"], "interrupted");
}

}  // namespace
}  // namespace sonda::testing
