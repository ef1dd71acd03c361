// Spawned programs through the real binary: readiness via proc_scanner,
// references to the child's pid, early exit, addr_in_use explained, and no
// orphan ever (also on Ctrl-C).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "cli_harness.hpp"

namespace sonda::testing {
namespace {

/// Readiness needs the proc_scanner plugin (another component); skip
/// cleanly until it is built next to the sonda binary.
bool have_proc_scanner() { return std::filesystem::exists(SONDA_BIN_DIR "/proc_scanner.so"); }

/// A TCP socket of this test listening on 127.0.0.1:<ephemeral>.
struct OwnListener {
  int fd = -1;
  int port = 0;
  OwnListener() {
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && listen(fd, 4) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
      port = ntohs(a.sin_port);
    }
  }
  ~OwnListener() { close(fd); }
};

/// A port that was free a moment ago (bound to 0, then released).
int free_port() {
  OwnListener l;
  return l.port;
}

const char* kPyListener =
    "import socket,sys,time\n"
    "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(4)\n"
    "print('listening', flush=True)\n"
    "time.sleep(60)\n";

class SpawnCli : public ::testing::Test {
 protected:
  std::string write(const std::string& yaml) { return dir_.write("s.yaml", yaml); }
  std::string out() const { return dir_.path() + "/out"; }
  ScratchDir dir_;
};

TEST_F(SpawnCli, SpawnWithoutReadinessIsStoppedAtScenarioEndWithNoOrphan) {
  auto r = run_sonda({"run", write(R"(name: sp
steps:
  - id: child
    spawn: { cmd: [sleep, "30"], grace: 1s }
  - { id: work, use: testkit.sleep, with: { duration: 50ms } }
)"), "-o", out()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto child = step_of(latest_run(out(), "sp"), "child");
  EXPECT_EQ(child["status"], "ok");
  const pid_t pid = child["record"]["pid"].get<pid_t>();
  EXPECT_FALSE(process_alive(pid));
  EXPECT_EQ(child["record"]["exit_signal"], SIGTERM);
  EXPECT_TRUE(std::filesystem::exists(out() + "/sp/latest/child.stdout"));
}

TEST_F(SpawnCli, SpawnInAParallelGroupGetsReferencesAndEndsWithTheGroup) {
  auto r = run_sonda({"run", write(R"(name: par
steps:
  - { id: first, use: testkit.sleep, with: { duration: 1ms, value: 7 } }
  - parallel:
      - id: child
        spawn: { cmd: [sh, -c, "echo value=${first.value}; exec sleep 30"], env: { GREETING: hi } }
      - { id: work, use: testkit.sleep, with: { duration: 100ms } }
  - { id: after, use: testkit.sleep, with: { duration: 1ms } }
)"), "-o", out()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto events = latest_events(out(), "par");
  long child_end = -1;
  long after_start = -1;
  for (size_t i = 0; i < events.size(); ++i) {
    if (events[i]["event"] == "step_end" && events[i]["id"] == "child") {
      child_end = static_cast<long>(i);
    }
    if (events[i]["event"] == "step_start" && events[i]["id"] == "after") {
      after_start = static_cast<long>(i);
    }
  }
  EXPECT_GE(child_end, 0);
  EXPECT_LT(child_end, after_start) << "the spawned child is stopped when its group ends";
  EXPECT_EQ(read_text(out() + "/par/latest/child.stdout"), "value=7\n");
  EXPECT_FALSE(process_alive(step_of(latest_run(out(), "par"), "child")["record"]["pid"].get<pid_t>()));
}

TEST_F(SpawnCli, ExecFailureIsAStepFailureNamingTheProgram) {
  auto r = run_sonda({"run", write(R"(name: noexec
steps:
  - id: child
    spawn: { cmd: [/nonexistent/program] }
)"), "-o", out()});
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_EQ(step_of(latest_run(out(), "noexec"), "child")["reason"],
            "spawn /nonexistent/program: execvp: No such file or directory");
}

TEST_F(SpawnCli, ReadyWhenListeningThenPidFlowsToLaterSteps) {
  if (!have_proc_scanner()) {
    FAIL() << "cannot run: " << "proc_scanner.so not built yet (needed for spawn readiness)";
  }
  const int port = free_port();
  dir_.write("listener.py", kPyListener);
  auto r = run_sonda({"run", write(R"(name: ready
steps:
  - id: echo
    spawn:
      cmd: [python3, listener.py, ")" + std::to_string(port) + R"("]
      cwd: )" + dir_.path() + R"(
      ready: { tcp_listen: )" + std::to_string(port) + R"(, timeout: 10s }
  - { id: who, use: testkit.echo_params, with: { text: "pid=${echo.pid}" } }
)"), "-o", out()});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  const auto j = latest_run(out(), "ready");
  const auto echo = step_of(j, "echo");
  const pid_t pid = echo["record"]["pid"].get<pid_t>();
  EXPECT_EQ(echo["record"]["port"], port);
  EXPECT_GT(echo["record"]["ready_after_ns"].get<int64_t>(), 0);
  EXPECT_EQ(step_of(j, "who")["record"]["params"]["text"], "pid=" + std::to_string(pid));
  EXPECT_FALSE(process_alive(pid));
  EXPECT_NE(read_text(out() + "/ready/latest/echo.stdout").find("listening"), std::string::npos);
}

TEST_F(SpawnCli, ChildExitingBeforeReadyFailsWithStatusAndStderr) {
  if (!have_proc_scanner()) {
    FAIL() << "cannot run: " << "proc_scanner.so not built yet (needed for spawn readiness)";
  }
  auto r = run_sonda({"run", write(R"y(name: early
steps:
  - id: echo
    spawn:
      cmd: [python3, -c, "import sys; sys.stderr.write('cannot start: boom\\n'); sys.exit(3)"]
      ready: { tcp_listen: )y" + std::to_string(free_port()) + R"y(, timeout: 10s }
)y"), "-o", out()});
  EXPECT_EQ(r.exit_code, 4);
  const std::string reason = step_of(latest_run(out(), "early"), "echo")["reason"];
  EXPECT_NE(reason.find("exited with status 3 before listening"), std::string::npos) << reason;
  EXPECT_NE(reason.find("cannot start: boom"), std::string::npos) << reason;
}

TEST_F(SpawnCli, AddrInUseNamesTheProcessHoldingThePort) {
  if (!have_proc_scanner()) {
    FAIL() << "cannot run: " << "proc_scanner.so not built yet (needed for the owner lookup)";
  }
  OwnListener mine;
  ASSERT_GT(mine.port, 0);
  auto r = run_sonda({"run", write("name: inuse\nsteps:\n  - { id: srv, use: testkit.server, with: { port: " +
                                   std::to_string(mine.port) + " } }\n"),
                      "-o", out()});
  EXPECT_EQ(r.exit_code, 4);
  const std::string reason = step_of(latest_run(out(), "inuse"), "srv")["reason"];
  EXPECT_EQ(reason, "port " + std::to_string(mine.port) + "/tcp is in use by host_cli_test (pid " +
                        std::to_string(getpid()) + ")");
}

TEST_F(SpawnCli, SigintStopsSpawnedChildrenAndExits130) {
  const auto file = write(R"(name: sigspawn
steps:
  - id: child
    spawn: { cmd: [sleep, "60"] }
  - { id: long, use: testkit.sleep, with: { duration: 60s } }
)");
  SondaChild sonda = start_sonda({"run", file, "-o", out()}, dir_.path());
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  const auto sent = std::chrono::steady_clock::now();
  kill(sonda.pid, SIGINT);
  EXPECT_EQ(wait_sonda(sonda), 130) << read_text(sonda.err_path);
  EXPECT_LT(std::chrono::steady_clock::now() - sent, std::chrono::milliseconds(1000));
  const auto child = step_of(latest_run(out(), "sigspawn"), "child");
  ASSERT_TRUE(child["record"]["pid"].is_number()) << child;
  EXPECT_FALSE(process_alive(child["record"]["pid"].get<pid_t>()));
}

}  // namespace
}  // namespace sonda::testing
