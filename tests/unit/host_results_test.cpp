// Host pieces without a plugin: repeat spread, result files, the summary
// table, run context, spawned-process lifecycle.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "results.hpp"
#include "run_context.hpp"
#include "spawn.hpp"
#include "spread.hpp"
#include "summary.hpp"

namespace sonda {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  std::string path;
  TempDir() {
    std::string t = (fs::temp_directory_path() / "sonda-unit-XXXXXX").string();
    path = mkdtemp(t.data());
  }
  ~TempDir() { fs::remove_all(path); }
};

TEST(NumericSpread, ComputesMinMedianMaxStddevPerNestedLeaf) {
  std::vector<nlohmann::json> runs = {
      {{"rtt_ns", 10}, {"latency", {{"p99_ns", 100}}}, {"ok", true}, {"name", "x"}},
      {{"rtt_ns", 30}, {"latency", {{"p99_ns", 300}}}, {"ok", true}},
      {{"rtt_ns", 20}, {"latency", {{"p99_ns", 200}}}, {"list", {1, 2}}}};
  const auto s = numeric_spread(runs);
  EXPECT_EQ(s["rtt_ns"]["min"], 10.0);
  EXPECT_EQ(s["rtt_ns"]["median"], 20.0);
  EXPECT_EQ(s["rtt_ns"]["max"], 30.0);
  EXPECT_NEAR(s["rtt_ns"]["stddev"].get<double>(), 8.16496580927726, 1e-9);
  EXPECT_EQ(s["latency"]["p99_ns"]["median"], 200.0);
  EXPECT_EQ(s["latency"]["p99_ns"]["count"], 3);
  EXPECT_FALSE(s.contains("ok")) << "booleans are not figures";
  EXPECT_FALSE(s.contains("name"));
  EXPECT_FALSE(s.contains("list"));
}

TEST(NumericSpread, EvenCountMedianIsTheMeanOfTheMiddleTwo) {
  const auto s = numeric_spread({{{"v", 1}}, {{"v", 2}}, {{"v", 4}}, {{"v", 100}}});
  EXPECT_EQ(s["v"]["median"], 3.0);
}

TEST(RunWriter, StreamsEventsFlushedAndPointsLatestAtTheRun) {
  TempDir tmp;
  RunWriter writer(tmp.path, "my scenario/../x");
  EXPECT_EQ(fs::path(writer.dir()).parent_path().filename(), "my_scenario_.._x");
  writer.event("step_end", {{"id", "a"}, {"n", 1}});
  // Readable before the writer closes: flushed per line.
  std::ifstream in(writer.dir() + "/events.jsonl");
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  const auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["event"], "step_end");
  EXPECT_EQ(j["id"], "a");
  EXPECT_TRUE(j["ts"].get<std::string>().ends_with("Z"));
  writer.write_run_json({{"schema_version", kResultSchemaVersion}});
  writer.update_latest();
  const auto latest = fs::path(writer.dir()).parent_path() / "latest";
  EXPECT_EQ(fs::read_symlink(latest), fs::path(writer.dir()).filename());
  EXPECT_TRUE(fs::exists(latest / "run.json"));
  RunWriter second(tmp.path, "my scenario/../x");  // same second: distinct directory
  EXPECT_NE(second.dir(), writer.dir());
}

TEST(RunWriter, UnwritableOutputDirectoryNamesThePath) {
  try {
    RunWriter w("/proc/sonda-cannot-write-here", "s");
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/proc/sonda-cannot-write-here"), std::string::npos) << e.what();
  }
}

TEST(Summary, ShowsStatusDurationSummaryAndExpectations) {
  RunOutcome o;
  o.status = "expectations_failed";
  o.exit_code = 5;
  StepResult ok;
  ok.id = "load";
  ok.status = StepStatus::kOk;
  ok.duration_ns = 1'500'000'000;
  ok.record = StepRecord(nlohmann::json{{"summary", "38.2 Gbit/s"}});
  StepResult bad;
  bad.id = "srv";
  bad.status = StepStatus::kFailed;
  bad.duration_ns = 2'000'000;
  bad.reason = "port 10000/tcp is in use by python3 (pid 42)";
  o.steps = {ok, bad};
  o.expectations = {{{"text", "load.x < 1"}, {"passed", false}, {"message", "load.x = 3, not < 1"}}};
  const std::string text = render_summary("lab", o, "/r");
  EXPECT_NE(text.find("load  ok           1.50s      38.2 Gbit/s"), std::string::npos) << text;
  EXPECT_NE(text.find("srv   failed       2.0ms      port 10000/tcp is in use by python3 (pid 42)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("FAIL  load.x < 1  (load.x = 3, not < 1)"), std::string::npos) << text;
}

TEST(RunContext, RecordsKernelCpuSysctlsAndDocker) {
  const auto c = collect_run_context();
  EXPECT_TRUE(c["host"].is_string());
  EXPECT_EQ(c["kernel"]["sysname"], "Linux");
  EXPECT_GT(c["cpu"]["count"].get<int>(), 0);
  EXPECT_TRUE(c["sysctls"]["net.ipv4.tcp_congestion_control"].is_string());
  EXPECT_TRUE(c["sysctls"]["net.core.wmem_max"].is_number_integer());
  EXPECT_TRUE(c["docker"]["installed"].is_boolean());
  EXPECT_TRUE(c["docker"]["engine_running"].is_boolean());
}

/// Exists and is not a zombie (a reparented dead grandchild waits for init).
bool running(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t paren = stat.rfind(')');
  return !stat.empty() && paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z';
}

TEST(SpawnedProcess, StopTermsTheWholeGroupAndReaps) {
  TempDir tmp;
  SpawnSpec spec;
  // The shell's child (sleep) is in the same group: stop() must reach it.
  spec.argv = {"sh", "-c", "sleep 30 & echo $! > child.pid; echo started; wait"};
  spec.cwd = tmp.path;
  auto p = SpawnedProcess::start(spec, tmp.path + "/o", tmp.path + "/e");
  pid_t grandchild = 0;
  for (int i = 0; i < 200 && grandchild == 0; ++i) {
    usleep(10000);
    std::ifstream(tmp.path + "/child.pid") >> grandchild;
  }
  ASSERT_GT(grandchild, 0);
  EXPECT_FALSE(p->poll_exit().has_value());
  const int status = p->stop(1'000'000'000);
  EXPECT_EQ(SpawnedProcess::describe_status(status), "killed by signal 15 (Terminated)");
  usleep(50000);
  EXPECT_FALSE(running(grandchild)) << "grandchild survived";
  EXPECT_EQ(kill(p->pid(), 0), -1);
}

TEST(SpawnedProcess, EnvAddedAndExitStatusReported) {
  TempDir tmp;
  SpawnSpec spec;
  spec.argv = {"sh", "-c", "echo \"$SONDA_TEST_VALUE\" >&2; exit 3"};
  spec.env = {{"SONDA_TEST_VALUE", "from-the-scenario"}};
  auto p = SpawnedProcess::start(spec, tmp.path + "/o", tmp.path + "/e");
  std::optional<int> status;
  for (int i = 0; i < 300 && !status; ++i) {
    usleep(10000);
    status = p->poll_exit();
  }
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(SpawnedProcess::describe_status(*status), "exited with status 3");
  EXPECT_EQ(tail_lines(tmp.path + "/e", 5), "from-the-scenario");
}

TEST(SpawnedProcess, MissingCwdIsReportedWithTheCall) {
  SpawnSpec spec;
  spec.argv = {"true"};
  spec.cwd = "/nonexistent-sonda-dir";
  EXPECT_THROW(
      {
        try {
          SpawnedProcess::start(spec, "/dev/null", "/dev/null");
        } catch (const std::runtime_error& e) {
          EXPECT_STREQ(e.what(), "spawn true: chdir(/nonexistent-sonda-dir): No such file or directory");
          throw;
        }
      },
      std::runtime_error);
}

TEST(TailLines, ReturnsTheLastLines) {
  TempDir tmp;
  std::ofstream(tmp.path + "/f") << "one\ntwo\nthree\nfour\n";
  EXPECT_EQ(tail_lines(tmp.path + "/f", 2), "three\nfour");
  EXPECT_EQ(tail_lines(tmp.path + "/f", 10), "one\ntwo\nthree\nfour");
  EXPECT_EQ(tail_lines(tmp.path + "/missing", 2), "");
}

}  // namespace
}  // namespace sonda
