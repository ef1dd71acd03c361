// Plugin isolation through the real binary: each step runs in a `sonda agent`
// child, so what the chaos plugin does to its process (crash, hang, print
// garbage, close stdout) or hands back (huge or malformed records) decides
// that step's result only. The run goes on, writes its result files and
// leaves no process behind. Also: `--in-process`, and the agent protocol
// spoken directly.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <map>
#include <optional>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cli_harness.hpp"

namespace sonda::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

/// sonda, and every agent it starts, inherit this variable; its value (the
/// test's scratch directory) tells the test's processes from all others.
constexpr const char* kMarkVar = "SONDA_TEST_MARK";

/// A JSON string's text; anything else dumped, so a failure shows what came.
std::string text_of(const json& j) { return j.is_string() ? j.get<std::string>() : j.dump(); }

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

/// Pids of the live processes whose environment holds exactly `entry`
/// ("NAME=value"). A zombie has no environment left, so it does not count.
std::vector<pid_t> processes_with_env(const std::string& entry) {
  std::vector<pid_t> pids;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) {
    return pids;
  }
  while (const dirent* d = readdir(proc)) {
    char* end = nullptr;
    const long pid = std::strtol(d->d_name, &end, 10);
    if (pid <= 0 || *end != '\0' || pid == getpid()) {
      continue;
    }
    std::istringstream env(read_text("/proc/" + std::string(d->d_name) + "/environ"));
    for (std::string var; std::getline(env, var, '\0');) {
      if (var == entry) {
        pids.push_back(static_cast<pid_t>(pid));
        break;
      }
    }
  }
  closedir(proc);
  return pids;
}

/// Fails the test when a process started with SONDA_TEST_MARK=`mark` is
/// still alive 1 s after the run ended, and kills it (it is one of ours) so
/// the failure does not leak into later tests.
void expect_no_marked_process_left(const std::string& mark) {
  const std::string entry = std::string(kMarkVar) + "=" + mark;
  const auto until = Clock::now() + seconds(1);
  std::vector<pid_t> left = processes_with_env(entry);
  while (!left.empty() && Clock::now() < until) {
    std::this_thread::sleep_for(milliseconds(20));
    left = processes_with_env(entry);
  }
  std::string described;
  for (const pid_t pid : left) {
    std::string cmdline = read_text("/proc/" + std::to_string(pid) + "/cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    described += "\n  " + std::to_string(pid) + ": " + cmdline;
    kill(pid, SIGKILL);
  }
  EXPECT_TRUE(left.empty()) << "processes left behind:" << described;
}

/// Waits up to `limit` for the child `pid`: its wait status, or nullopt
/// once it overran (it is then killed and reaped).
std::optional<int> wait_within(pid_t pid, Clock::duration limit) {
  const auto until = Clock::now() + limit;
  int status = 0;
  for (;;) {
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      return status;
    }
    if (r < 0 && errno != EINTR) {
      return std::nullopt;
    }
    if (Clock::now() >= until) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return std::nullopt;
    }
    std::this_thread::sleep_for(milliseconds(5));
  }
}

/// Scenarios of one step under test, id `subject`, followed by `after`
/// (chaos.ok), which must run whatever `subject` did.
class AgentCli : public ::testing::Test {
 protected:
  std::string out() const { return dir_.path() + "/out"; }
  std::string run_dir(const std::string& scenario) const { return out() + "/" + scenario + "/latest"; }
  std::map<std::string, std::string> marked_env() const { return {{kMarkVar, dir_.path()}}; }

  /// Runs scenario `name` made of `subject_step` (a YAML flow mapping with
  /// `id: subject`) and `after`, then checks what every case shares: the
  /// exit code, a parsable run.json, a non-empty summary.txt, a step_end
  /// event for `subject`, `after` ok, and no process left. Sets result_,
  /// took_ (the sonda run alone), run_ and subject_.
  void run_case(const std::string& name, const std::string& subject_step, int expected_exit, int timeout_s = 60) {
    const std::string file = dir_.write(
        name + ".yaml", "name: " + name + "\nsteps:\n  - " + subject_step + "\n  - { id: after, use: chaos.ok }\n");
    const auto start = Clock::now();
    result_ = run_sonda({"run", file, "-o", out()}, marked_env(), timeout_s);
    took_ = Clock::now() - start;
    EXPECT_EQ(result_.exit_code, expected_exit) << result_.err << result_.out;
    expect_no_marked_process_left(dir_.path());
    ASSERT_NO_THROW(run_ = latest_run(out(), name)) << result_.err;
    ASSERT_TRUE(run_.is_object()) << "no run.json\n" << result_.err;
    EXPECT_FALSE(read_text(run_dir(name) + "/summary.txt").empty());
    std::vector<json> events;
    ASSERT_NO_THROW(events = latest_events(out(), name));
    EXPECT_TRUE(std::any_of(events.begin(), events.end(), [](const json& e) {
      return e.value("event", "") == "step_end" && e.value("id", "") == "subject";
    })) << "events.jsonl has no step_end for `subject`";
    EXPECT_EQ(step_of(run_, "after")["status"], "ok");
    subject_ = step_of(run_, "subject");
    ASSERT_TRUE(subject_.is_object()) << "no step `subject` in run.json";
  }

  ScratchDir dir_;
  SondaResult result_;
  Clock::duration took_{};
  json run_;
  json subject_;
};

/// An action that ends its process, and how the step must say so.
struct Crash {
  const char* name;           ///< the test's name suffix
  const char* action;         ///< chaos.<action>
  const char* reason_prefix;  ///< the step's reason starts with this
  const char* signal;         ///< record.crash.signal; nullptr when the agent exited
  int exit_code;              ///< record.crash.exit_code; -1 when killed by a signal
  const char* stderr_line;    ///< in record.crash.stderr_tail; nullptr: not checked
};

void PrintTo(const Crash& c, std::ostream* os) { *os << "chaos." << c.action; }

class CrashingPlugin : public AgentCli, public ::testing::WithParamInterface<Crash> {};

TEST_P(CrashingPlugin, FailsItsStepWithTheCauseAndTheRunGoesOn) {
  const Crash& c = GetParam();
  ASSERT_NO_FATAL_FAILURE(
      run_case(std::string("crash-") + c.action, std::string("{ id: subject, use: chaos.") + c.action + " }", 4));
  EXPECT_EQ(subject_["status"], "failed");
  EXPECT_TRUE(text_of(subject_["reason"]).starts_with(c.reason_prefix)) << subject_["reason"];
  json& crash = subject_["record"]["crash"];
  if (c.signal != nullptr) {
    EXPECT_EQ(crash["signal"], c.signal) << crash;
  }
  if (c.exit_code >= 0) {
    EXPECT_EQ(crash["exit_code"], c.exit_code) << crash;
  }
  if (c.stderr_line != nullptr) {
    ASSERT_TRUE(crash["stderr_tail"].is_string()) << crash;
    EXPECT_TRUE(contains(crash["stderr_tail"].get<std::string>(), c.stderr_line)) << crash["stderr_tail"];
  }
}

INSTANTIATE_TEST_SUITE_P(
    Chaos, CrashingPlugin,
    ::testing::Values(Crash{"Segfault", "segv", "plugin chaos: action segv crashed: SIGSEGV", "SIGSEGV", -1,
                            "chaos: about to segfault"},
                      Crash{"Abort", "abort", "plugin chaos: action abort crashed: SIGABRT", "SIGABRT", -1,
                            "chaos: about to abort"},
                      Crash{"ExitMidAction", "exit3", "plugin chaos: action exit3 ended its agent with exit status 3",
                            nullptr, 3, nullptr}),
    [](const ::testing::TestParamInfo<Crash>& info) { return std::string(info.param.name); });

/// A record the host must refuse, and the exact reason it gives.
struct BadRecord {
  const char* name;
  const char* action;
  const char* reason;
};

void PrintTo(const BadRecord& b, std::ostream* os) { *os << "chaos." << b.action; }

class BadRecordPlugin : public AgentCli, public ::testing::WithParamInterface<BadRecord> {};

TEST_P(BadRecordPlugin, FailsItsStepWithAReasonAndTheRunGoesOn) {
  const BadRecord& b = GetParam();
  ASSERT_NO_FATAL_FAILURE(
      run_case(std::string("bad-") + b.action, std::string("{ id: subject, use: chaos.") + b.action + " }", 4));
  EXPECT_EQ(subject_["status"], "failed");
  EXPECT_EQ(subject_["reason"], b.reason);
}

INSTANTIATE_TEST_SUITE_P(
    Chaos, BadRecordPlugin,
    ::testing::Values(
        BadRecord{"NotJson", "notjson", "plugin chaos: action notjson returned a record that is not JSON"},
        BadRecord{"NotAnObject", "notobject",
                  "plugin chaos: action notobject returned a record that is not a JSON object (an array)"}),
    [](const ::testing::TestParamInfo<BadRecord>& info) { return std::string(info.param.name); });

TEST_F(AgentCli, LocalAgentsAreChildrenOfTheRunnerInGroupsOfTheirOwnForkedOrExeced) {
  // Forked from the zygote (the default) or exec'd (SONDA_AGENT_START=exec),
  // an agent is the same to everything that looks: the runner's child, its
  // own process group leader, `sonda agent` to ps, one process per step.
  const std::string file = dir_.write("whoami.yaml",
                                      "name: whoami\nsteps:\n  - { id: a, use: chaos.whoami }\n"
                                      "  - { id: b, use: chaos.whoami }\n  - { id: crash, use: chaos.segv }\n");
  for (const std::string mode : {"fork", "exec"}) {
    SCOPED_TRACE(mode);
    auto env = marked_env();
    env["SONDA_AGENT_START"] = mode;
    const SondaResult r = run_sonda({"-v", "run", file, "-o", out()}, env, 60);
    EXPECT_EQ(r.exit_code, 4) << r.err;
    if (mode == "exec") {
      EXPECT_TRUE(contains(r.err, "agents are exec'd: SONDA_AGENT_START=exec")) << r.err;
    } else {  // a ThreadSanitizer build always execs, and says so
      EXPECT_TRUE(!contains(r.err, "agents are exec'd") || contains(r.err, "ThreadSanitizer")) << r.err;
    }
    expect_no_marked_process_left(dir_.path());
    json run;
    ASSERT_NO_THROW(run = latest_run(out(), "whoami")) << r.err;
    const json a = step_of(run, "a")["record"];
    const json b = step_of(run, "b")["record"];
    for (const json& who : {a, b}) {
      EXPECT_EQ(who["pgid"], who["pid"]) << who;
      EXPECT_TRUE(who["cmdline"].get<std::string>().ends_with("sonda agent")) << who;
      EXPECT_TRUE(contains(who["parent_cmdline"].get<std::string>(), " run " + file)) << who;
    }
    EXPECT_NE(a["pid"], b["pid"]);
    EXPECT_EQ(a["ppid"], b["ppid"]);
    EXPECT_EQ(step_of(run, "crash")["reason"], "plugin chaos: action segv crashed: SIGSEGV");
  }
  // One local run: its agent is forked by the runner itself (no zygote) and
  // is the same to everything that looks, holding nothing of the runner's.
  const std::string one = dir_.write("whoami1.yaml", "name: whoami1\nsteps:\n  - { id: a, use: chaos.whoami }\n");
  for (const std::string mode : {"fork", "exec"}) {
    SCOPED_TRACE(mode + ", one step");
    auto env = marked_env();
    env["SONDA_AGENT_START"] = mode;
    const SondaResult r = run_sonda({"-v", "run", one, "-o", out()}, env, 60);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    expect_no_marked_process_left(dir_.path());
    json run;
    ASSERT_NO_THROW(run = latest_run(out(), "whoami1")) << r.err;
    const json who = step_of(run, "a")["record"];
    EXPECT_EQ(who["pgid"], who["pid"]) << who;
    EXPECT_TRUE(who["cmdline"].get<std::string>().ends_with("sonda agent")) << who;
    EXPECT_TRUE(contains(who["parent_cmdline"].get<std::string>(), " run " + one)) << who;
    std::set<std::string> sockets;  // its channel is open twice (read and write ends)
    for (const json& fd : who["fds"]) {
      const std::string target = fd.get<std::string>();
      if (target.starts_with("socket:")) sockets.insert(target);
      EXPECT_FALSE(contains(target, "events.jsonl") || contains(target, "run.json")) << who["fds"];
    }
    EXPECT_EQ(sockets.size(), 1u) << "an agent holds its channel and no other socket: " << who["fds"];
  }
}

TEST_F(AgentCli, HungPluginIsKilledAtItsTimeoutAndTheRunGoesOn) {
  ASSERT_NO_FATAL_FAILURE(run_case("hang", "{ id: subject, use: chaos.hang, timeout: 300ms }", 4, 30));
  EXPECT_LT(took_, seconds(10));
  EXPECT_EQ(subject_["status"], "timeout");
  EXPECT_TRUE(contains(text_of(subject_["reason"]), "its agent was killed")) << subject_["reason"];
}

TEST_F(AgentCli, GarbagePrintedByAPluginGoesToTheStepOutputFileNotTheProtocol) {
  ASSERT_NO_FATAL_FAILURE(run_case("garbage", "{ id: subject, use: chaos.garbage }", 0));
  EXPECT_EQ(subject_["status"], "ok") << subject_["reason"];
  EXPECT_EQ(subject_["record"]["printed"], true);
  EXPECT_TRUE(contains(read_text(run_dir("garbage") + "/subject.output"), "not a protocol line"));
}

TEST_F(AgentCli, PluginThatClosesItsStdoutStillDeliversItsRecord) {
  ASSERT_NO_FATAL_FAILURE(run_case("close-stdout", "{ id: subject, use: chaos.close_stdout }", 0));
  EXPECT_EQ(subject_["status"], "ok") << subject_["reason"];
  EXPECT_EQ(subject_["record"]["closed_fd1"], true);
}

TEST_F(AgentCli, FiftyMegabyteRecordArrivesWhole) {
  ASSERT_NO_FATAL_FAILURE(run_case("big", "{ id: subject, use: chaos.big, with: { bytes: 50MB } }", 0));
  EXPECT_EQ(subject_["status"], "ok") << subject_["reason"];
  // Written once, by the agent, where run.json and events.jsonl point.
  EXPECT_EQ(step_of(latest_run(out(), "big", /*raw=*/true), "subject")["record_file"], "records/subject.json");
  EXPECT_EQ(std::filesystem::file_size(run_dir("big") + "/records/subject.json"),
            subject_["record_bytes"].get<uint64_t>() + 1);
  EXPECT_EQ(subject_["record"]["bytes"], 50'000'000);
  const json& filler = subject_["record"]["filler"];
  ASSERT_TRUE(filler.is_string()) << "record.filler is a " << filler.type_name();
  EXPECT_NEAR(static_cast<double>(filler.get_ref<const std::string&>().size()), 50e6, 1000);
}

// A large record that is not JSON: the agent, writing it to
// records/subject.json while checking it, finds out, removes the file and
// hands the bytes over; the step fails as for a small one, and no record
// file is left that is not the record.
TEST_F(AgentCli, LargeRecordThatIsNotJsonFailsItsStepAndLeavesNoRecordFile) {
  ASSERT_NO_FATAL_FAILURE(
      run_case("big-broken", "{ id: subject, use: chaos.big, with: { bytes: 3MB, valid: false } }", 4));
  EXPECT_EQ(subject_["status"], "failed");
  EXPECT_EQ(subject_["reason"], "plugin chaos: action big returned a record that is not JSON");
  EXPECT_FALSE(subject_.contains("record_file"));
  EXPECT_FALSE(std::filesystem::exists(run_dir("big-broken") + "/records/subject.json"));
}

// A record the plugin streams (append_record_text, 64 KiB pieces): the
// agent writes each piece into records/subject.json as it comes and checks
// it on the way; the record is whole, the skeleton (figures, summaries) is
// what a one-piece hand-over gives.
TEST_F(AgentCli, StreamedRecordIsWrittenAndCheckedAsItComes) {
  ASSERT_NO_FATAL_FAILURE(
      run_case("streamed", "{ id: subject, use: chaos.big, with: { bytes: 5MB, pieces: 64KiB } }", 0));
  EXPECT_EQ(subject_["status"], "ok") << subject_["reason"];
  EXPECT_EQ(step_of(latest_run(out(), "streamed", /*raw=*/true), "subject")["record_file"], "records/subject.json");
  EXPECT_EQ(std::filesystem::file_size(run_dir("streamed") + "/records/subject.json"),
            subject_["record_bytes"].get<uint64_t>() + 1);
  EXPECT_EQ(subject_["record"]["bytes"], 5'000'000);
  const json& filler = subject_["record"]["filler"];
  ASSERT_TRUE(filler.is_string()) << "record.filler is a " << filler.type_name();
  EXPECT_NEAR(static_cast<double>(filler.get_ref<const std::string&>().size()), 5e6, 100);
  EXPECT_EQ(filler.get_ref<const std::string&>().find_first_not_of('x'), std::string::npos);
}

// Streamed but not JSON: found out while it streams; the file goes, the
// bytes are handed over and the step fails as for a one-piece record.
TEST_F(AgentCli, StreamedRecordThatIsNotJsonFailsItsStepAndLeavesNoRecordFile) {
  ASSERT_NO_FATAL_FAILURE(run_case(
      "streamed-broken", "{ id: subject, use: chaos.big, with: { bytes: 3MB, pieces: 100KB, valid: false } }", 4));
  EXPECT_EQ(subject_["status"], "failed");
  EXPECT_EQ(subject_["reason"], "plugin chaos: action big returned a record that is not JSON");
  EXPECT_FALSE(subject_.contains("record_file"));
  EXPECT_FALSE(std::filesystem::exists(run_dir("streamed-broken") + "/records/subject.json"));
}

// A set_record_text() after the pieces replaces them, file and all.
TEST_F(AgentCli, RecordSetAfterStreamedPiecesReplacesThem) {
  ASSERT_NO_FATAL_FAILURE(run_case(
      "streamed-replaced", "{ id: subject, use: chaos.big, with: { bytes: 3MB, pieces: 64KiB, then_replace: true } }",
      0));
  EXPECT_EQ(subject_["status"], "ok") << subject_["reason"];
  EXPECT_EQ(subject_["record"], json({{"replaced", true}}));
  EXPECT_FALSE(std::filesystem::exists(run_dir("streamed-replaced") + "/records/subject.json"));
}

// Small streamed records stay in memory and cross the channel as bytes;
// in-process runs (no agent) gather the pieces too.
// Between the agent's start of the record file (256 KiB) and the size that
// keeps a record in a file of its own (1 MiB): the agent wrote and checked
// it on the way, then hands it over as text; run.json embeds it and no
// record file is left.
TEST_F(AgentCli, StreamedRecordBelowOneMebibyteIsEmbeddedAndLeavesNoFile) {
  ASSERT_NO_FATAL_FAILURE(
      run_case("streamed-mid", "{ id: subject, use: chaos.big, with: { bytes: 600KB, pieces: 64KiB } }", 0));
  EXPECT_EQ(subject_["status"], "ok") << subject_["reason"];
  EXPECT_FALSE(step_of(latest_run(out(), "streamed-mid", /*raw=*/true), "subject").contains("record_file"));
  EXPECT_FALSE(std::filesystem::exists(run_dir("streamed-mid") + "/records/subject.json"));
  EXPECT_EQ(subject_["record"]["bytes"], 600'000);
  const json& filler = subject_["record"]["filler"];
  ASSERT_TRUE(filler.is_string()) << "record.filler is a " << filler.type_name();
  EXPECT_NEAR(static_cast<double>(filler.get_ref<const std::string&>().size()), 6e5, 100);
}

// The same size, not JSON: caught, no file left, the step fails.
TEST_F(AgentCli, StreamedRecordBelowOneMebibyteThatIsNotJsonFailsItsStep) {
  ASSERT_NO_FATAL_FAILURE(run_case(
      "streamed-mid-broken", "{ id: subject, use: chaos.big, with: { bytes: 600KB, pieces: 64KiB, valid: false } }", 4));
  EXPECT_EQ(subject_["status"], "failed");
  EXPECT_EQ(subject_["reason"], "plugin chaos: action big returned a record that is not JSON");
  EXPECT_FALSE(std::filesystem::exists(run_dir("streamed-mid-broken") + "/records/subject.json"));
}

TEST_F(AgentCli, SmallAndInProcessStreamedRecordsArriveWhole) {
  ASSERT_NO_FATAL_FAILURE(
      run_case("streamed-small", "{ id: subject, use: chaos.big, with: { bytes: 20KB, pieces: 1000B } }", 0));
  EXPECT_EQ(subject_["status"], "ok") << subject_["reason"];
  EXPECT_EQ(subject_["record"]["bytes"], 20'000);
  EXPECT_FALSE(std::filesystem::exists(run_dir("streamed-small") + "/records/subject.json"));
  const std::string file = dir_.write("inproc.yaml", R"(name: inproc
steps:
  - { id: subject, use: chaos.big, with: { bytes: 2MB, pieces: 64KiB } }
)");
  const SondaResult r = run_sonda({"run", file, "-o", out(), "--in-process"}, marked_env(), 60);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json step = step_of(latest_run(out(), "inproc"), "subject");
  EXPECT_EQ(step["status"], "ok") << step["reason"];
  EXPECT_EQ(step["record"]["bytes"], 2'000'000);
  EXPECT_NEAR(static_cast<double>(step["record"]["filler"].get_ref<const std::string&>().size()), 2e6, 100);
}

TEST_F(AgentCli, SigintDuringAgentStepsStopsWithin1sAndLeavesNoProcessBehind) {
  const std::string file = dir_.write("intr.yaml", R"(name: intr
steps:
  - parallel:
      - { id: long, use: chaos.hang }
      - { id: s, use: testkit.sleep, with: { duration: 60s } }
  - { id: after, use: chaos.ok }
)");
  const SondaChild child = start_sonda({"run", file, "-o", out()}, dir_.path(), marked_env());
  const auto started = [&](const std::string& id) {
    return any_event_line(out() + "/intr", "\"step_start\"", "\"id\":\"" + id + "\"");
  };
  const auto give_up = Clock::now() + seconds(20);
  bool running = false;
  while (!running && Clock::now() < give_up) {
    std::this_thread::sleep_for(milliseconds(20));
    running = started("long") && started("s");
  }
  if (!running) {
    wait_within(child.pid, Clock::duration::zero());  // kills it
    expect_no_marked_process_left(dir_.path());
    FAIL() << "the parallel steps never both started\n" << read_text(child.err_path);
  }
  const auto sent = Clock::now();
  kill(child.pid, SIGINT);
  const std::optional<int> status = wait_within(child.pid, seconds(10));
  const auto took = Clock::now() - sent;
  expect_no_marked_process_left(dir_.path());
  ASSERT_TRUE(status.has_value()) << "sonda was still running 10 s after SIGINT";
  const int code = WIFEXITED(*status) ? WEXITSTATUS(*status) : 128 + WTERMSIG(*status);
  EXPECT_EQ(code, 130) << read_text(child.err_path);
  EXPECT_LT(took, milliseconds(1000));
  json run = latest_run(out(), "intr");
  ASSERT_TRUE(run.is_object()) << read_text(child.err_path);
  EXPECT_EQ(run["status"], "interrupted");
  for (const char* id : {"long", "s"}) {
    EXPECT_EQ(step_of(run, id)["status"], "interrupted") << id;
  }
  EXPECT_EQ(step_of(run, "after")["status"], "skipped");
}

TEST_F(AgentCli, InProcessModeStaysAvailableAndRunJsonNamesTheIsolation) {
  const std::string file = dir_.write(
      "iso.yaml", R"(name: iso
steps:
  - { id: s, use: testkit.sleep, with: { duration: 1ms } }
  - { id: after, use: chaos.ok }
)");
  for (const auto& [flag, isolation] :
       {std::pair<std::string, std::string>{"--in-process", "in-process"}, {"", "agent"}}) {
    const std::string dir = out() + "/" + isolation;
    std::vector<std::string> args = {"run", file, "-o", dir};
    if (!flag.empty()) {
      args.push_back(flag);
    }
    const SondaResult r = run_sonda(args, marked_env());
    EXPECT_EQ(r.exit_code, 0) << isolation << ": " << r.err;
    json run = latest_run(dir, "iso");
    ASSERT_TRUE(run.is_object()) << isolation << ": " << r.err;
    EXPECT_EQ(run["isolation"], isolation);
    EXPECT_EQ(step_of(run, "s")["status"], "ok") << isolation;
    EXPECT_EQ(step_of(run, "after")["status"], "ok") << isolation;
  }
  expect_no_marked_process_left(dir_.path());
}

/// `sonda agent --plugin chaos.so` with its stdin and stdout as pipes; killed
/// and reaped on destruction unless wait() saw it exit.
class AgentProcess {
 public:
  explicit AgentProcess(const std::string& mark) {
    int in[2];
    int out[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
      throw std::runtime_error("pipe2 failed");
    }
    pid_ = fork();
    if (pid_ < 0) {
      throw std::runtime_error("fork failed");
    }
    if (pid_ == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      signal(SIGPIPE, SIG_DFL);
      setenv(kMarkVar, mark.c_str(), 1);
      execl(SONDA_BINARY, SONDA_BINARY, "agent", "--plugin", SONDA_TEST_PLUGIN_DIR "/chaos.so",
            static_cast<char*>(nullptr));
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    to_ = in[1];
    from_ = out[0];
    // While it lives, a write to an agent that is gone fails instead of
    // killing the test.
    old_sigpipe_ = signal(SIGPIPE, SIG_IGN);
  }
  ~AgentProcess() {
    close_input();
    close(from_);
    if (pid_ > 0) {
      wait_within(pid_, Clock::duration::zero());
    }
    signal(SIGPIPE, old_sigpipe_);
  }
  AgentProcess(const AgentProcess&) = delete;
  AgentProcess& operator=(const AgentProcess&) = delete;

  /// Writes all of `text` to the agent's stdin; false when it is gone.
  bool send(const std::string& text) {
    for (size_t done = 0; done < text.size();) {
      const ssize_t n = write(to_, text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        return false;
      }
      done += static_cast<size_t>(n);
    }
    return true;
  }
  /// The next line from its stdout, parsed: null when none came within
  /// `limit`, discarded when it is not JSON.
  json message(Clock::duration limit = seconds(10)) {
    const auto until = Clock::now() + limit;
    size_t eol;
    while ((eol = buf_.find('\n')) == std::string::npos) {
      if (!fill(until)) {
        return nullptr;
      }
    }
    const std::string line = buf_.substr(0, eol);
    buf_.erase(0, eol + 1);
    return json::parse(line, nullptr, false);
  }
  /// Exactly `n` raw bytes from its stdout; nullopt when they did not come.
  std::optional<std::string> take(size_t n, Clock::duration limit = seconds(10)) {
    const auto until = Clock::now() + limit;
    while (buf_.size() < n) {
      if (!fill(until)) {
        return std::nullopt;
      }
    }
    std::string bytes = buf_.substr(0, n);
    buf_.erase(0, n);
    return bytes;
  }
  void close_input() {
    if (to_ >= 0) {
      close(to_);
      to_ = -1;
    }
  }
  /// Its wait status once it exits within `limit`; nullopt (and killed) if not.
  std::optional<int> wait(Clock::duration limit) {
    const pid_t pid = std::exchange(pid_, -1);
    return wait_within(pid, limit);
  }

 private:
  /// Reads what is available into buf_; false at end of input, on an error,
  /// or when nothing came before `until`.
  bool fill(Clock::time_point until) {
    const auto left = std::chrono::duration_cast<milliseconds>(until - Clock::now()).count();
    pollfd p{from_, POLLIN, 0};
    if (left <= 0 || poll(&p, 1, static_cast<int>(left)) <= 0) {
      return false;
    }
    char chunk[65536];
    ssize_t n;
    do {
      n = read(from_, chunk, sizeof chunk);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) {
      return false;
    }
    buf_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  sighandler_t old_sigpipe_ = SIG_DFL;
  pid_t pid_ = -1;
  int to_ = -1;
  int from_ = -1;
  std::string buf_;
};

/// Talking to `sonda agent` directly, as a remote runner would.
class AgentProtocol : public ::testing::Test {
 protected:
  /// Reads the agent's first line: a hello naming protocol 1 and its version.
  void expect_hello() {
    json hello = agent_.message();
    ASSERT_TRUE(hello.is_object()) << "no hello line: " << hello;
    EXPECT_EQ(hello["type"], "hello");
    EXPECT_EQ(hello["protocol"], 1);
    EXPECT_TRUE(hello["sonda"].is_string()) << hello;
  }

  ScratchDir dir_;
  AgentProcess agent_{dir_.path()};
};

TEST_F(AgentProtocol, AgentRefusesAnotherProtocolVersionNamingBothAndExits) {
  ASSERT_NO_FATAL_FAILURE(expect_hello());
  ASSERT_TRUE(agent_.send(R"({"type":"hello","protocol":99,"sonda":"9.9.9"})" "\n"));
  json error = agent_.message();
  EXPECT_EQ(error["type"], "error") << error;
  const std::string message = text_of(error["message"]);
  EXPECT_TRUE(contains(message, "99") && contains(message, "1")) << message;
  const std::optional<int> status = agent_.wait(seconds(5));
  ASSERT_TRUE(status.has_value()) << "the agent was still running 5 s after refusing";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) != 0) << "wait status " << *status;
}

TEST_F(AgentProtocol, AgentRunsAnActionSendsItsRecordAsRawBytesAndExitsWhenInputEnds) {
  ASSERT_NO_FATAL_FAILURE(expect_hello());
  ASSERT_TRUE(agent_.send(
      R"({"type":"hello","protocol":1,"sonda":"x"})" "\n"
      R"({"type":"run","id":"a","plugin":"chaos","action":"ok","params":{},"timeout_ns":5000000000})" "\n"));
  json previous;
  std::optional<std::string> record;
  for (;;) {
    json m = agent_.message();
    ASSERT_TRUE(m.is_object()) << "no result for run a; got " << m << " after " << previous;
    if (m["type"] == "record") {
      ASSERT_TRUE(m["bytes"].is_number_integer()) << m;
      record = agent_.take(m["bytes"].get<size_t>());
      ASSERT_TRUE(record.has_value()) << "the record's " << m["bytes"] << " bytes did not come";
    }
    if (m["type"] == "result" && m["id"] == "a") {
      break;
    }
    previous = std::move(m);
  }
  EXPECT_EQ(previous["type"], "record") << "the line before the result: " << previous;
  EXPECT_EQ(record.value_or("<no record>"), R"({"fine":true})");
  agent_.close_input();
  const std::optional<int> status = agent_.wait(seconds(1));
  ASSERT_TRUE(status.has_value()) << "the agent was still running 1 s after its input ended";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << "wait status " << *status;
}

}  // namespace
}  // namespace sonda::testing
