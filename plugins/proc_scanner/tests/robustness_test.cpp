// Processes that vanish mid-scan, pid reuse guards, kernel threads and
// running without root.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <dirent.h>
#include <thread>

#include "proc_read.hpp"
#include "proc_table.hpp"
#include "scan.hpp"
#include "test_support.hpp"

namespace sonda::proc_scanner {
namespace {

using nlohmann::json;

TEST(ProcWalk, ReapedPidIsSkippedAndCounted) {
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::_exit(0);
  }
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);
  WalkOptions options;
  options.only_pids = {child};
  options.source = OwnerSource::kProcfs;  // the /proc walk opens the pid it was given
  const OwnerIndex index = walk_proc(options);
  EXPECT_EQ(index.skipped.pids_vanished, 1u);
  EXPECT_TRUE(index.processes.empty());
  EXPECT_FALSE(read_process(child).has_value());
  // The kernel's task list simply no longer has it.
  options.source = OwnerSource::kAuto;
  EXPECT_TRUE(walk_proc(options).processes.empty());
}

TEST(ProcWalk, ScansStayCorrectWhileProcessesComeAndGo) {
  const int listener = testing::bound_socket(AF_INET, SOCK_STREAM, "127.0.0.1", 0, 8);
  const uint16_t port = testing::local_port(listener);
  std::atomic<bool> stop{false};
  // Short-lived children that open a socket and exit: their pids and fds
  // vanish while the walk reads them.
  std::thread churn([&] {
    while (!stop) {
      const pid_t p = ::fork();
      if (p == 0) {
        const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
        const timespec pause{0, 200000};
        ::nanosleep(&pause, nullptr);
        ::close(fd);
        ::_exit(0);
      }
      if (p > 0) {
        ::waitpid(p, nullptr, 0);
      }
    }
  });
  // A child forked mid-scan inherits the listener, so it may show up as a
  // second owner; this process must always be one.
  int scans_with_us = 0;
  for (int i = 0; i < 15; ++i) {
    const ScanResult r = collect_scan(ScanOptions::bind(
        {{"port", port}, {"protocol", "tcp"}, {"listening", true}}));
    if (r.sockets.size() != 1) {
      ADD_FAILURE() << "scan " << i << " saw " << r.sockets.size() << " sockets on port " << port;
      continue;
    }
    const auto [first, last] = r.owners.owners_of(r.sockets[0].inode);
    for (size_t k = first; k < last; ++k) {
      if (r.owners.processes[r.owners.inode_owners[k].second].pid == static_cast<int>(::getpid())) {
        ++scans_with_us;
      }
    }
  }
  EXPECT_EQ(scans_with_us, 15);
  stop = true;
  churn.join();
  ::close(listener);
}

TEST(ProcWalk, ForkedServerHasEveryOwnerListed) {
  const int listener = testing::bound_socket(AF_INET, SOCK_STREAM, "127.0.0.1", 0, 8);
  const uint16_t port = testing::local_port(listener);
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const pid_t child = ::fork();
  if (child == 0) {
    // Keeps the inherited listener (the classic pre-fork server).
    char c;
    ::close(pipe_fds[1]);
    [[maybe_unused]] ssize_t n = ::read(pipe_fds[0], &c, 1);
    ::_exit(0);
  }
  ::close(pipe_fds[0]);
  const json record = run_scan(
      ScanOptions::bind({{"port", port}, {"protocol", "tcp"}, {"listening", true}}));
  ASSERT_EQ(record["sockets"].size(), 1u);
  std::vector<int> pids;
  for (const json& o : record["sockets"][0]["owners"]) {
    pids.push_back(o["pid"]);
  }
  std::sort(pids.begin(), pids.end());
  std::vector<int> expected{static_cast<int>(::getpid()), child};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(pids, expected);
  EXPECT_EQ(record["services"][0]["pids"], json(expected));
  ::close(pipe_fds[1]);
  ::waitpid(child, nullptr, 0);
  ::close(listener);
}

TEST(ProcRead, StatLineWithAwkwardCommParses) {
  const char line[] =
      "4242 (we(ird) )name) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 0 0";
  ProcessInfo info;
  uint32_t flags = 0;
  ASSERT_TRUE(parse_stat_line(line, sizeof line - 1, info, flags));
  EXPECT_EQ(info.pid, 4242);
  EXPECT_EQ(info.comm, "we(ird) )name");
  EXPECT_EQ(info.ppid, 1);
  EXPECT_EQ(flags, 4194560u);
  EXPECT_EQ(info.start_time_ticks, 987654u);
  EXPECT_FALSE(parse_stat_line("12 (x", 5, info, flags));
}

TEST(ProcRead, KernelThreadsAreRecognised) {
  // kthreadd and its children carry PF_KTHREAD; find one in this pid namespace.
  int kthread = 0;
  for (int pid = 2; pid < 200 && kthread == 0; ++pid) {
    const auto p = read_process(pid);
    if (p && p->kernel_thread) {
      kthread = pid;
    }
  }
  if (kthread == 0) {
    FAIL() << "cannot run: " << "no kernel thread visible in this pid namespace";
  }
  const json record = run_scan(ScanOptions::bind({{"pid", kthread}}));
  EXPECT_TRUE(record["sockets"].empty());
  ASSERT_TRUE(record.contains("notes"));
  EXPECT_NE(record["notes"][0].get<std::string>().find("is a kernel thread"), std::string::npos);
  EXPECT_GT(record["counts"]["kernel_threads"].get<int>(), 0) << "full walks count them too";
}

TEST(NonRoot, ScanIsPartialAndSaysWhy) {
  if (::geteuid() != 0) {
    FAIL() << "cannot run: " << "needs root to drop to nobody";
  }
  // A root-owned socket the unprivileged scan can see but not attribute.
  const int listener = testing::bound_socket(AF_INET, SOCK_STREAM, "127.0.0.1", 0, 8);
  const uint16_t port = testing::local_port(listener);
  int out[2];
  ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
  const std::string params =
      "{\"port\":" + std::to_string(port) + ",\"listening\":true,\"protocol\":\"tcp\"}";
  const pid_t child = ::fork();
  if (child == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) {
      ::_exit(3);
    }
    ::execl(PROC_SCAN_BIN, PROC_SCAN_BIN, params.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(out[1]);
  std::string text;
  char buf[4096];
  ssize_t n = 0;
  while ((n = ::read(out[0], buf, sizeof buf)) > 0) {
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(out[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status << text;
  const json record = json::parse(text);
  EXPECT_EQ(record["partial"], true);
  EXPECT_NE(record["partial_reason"].get<std::string>().find("uid 65534"), std::string::npos);
  ASSERT_EQ(record["sockets"].size(), 1u);
  EXPECT_TRUE(record["sockets"][0]["owners"].empty());
  EXPECT_EQ(record["sockets"][0]["owner_hidden"], true);
  // BPF needs CAP_BPF + CAP_PERFMON: the scan fell back to /proc and says why.
  EXPECT_EQ(record["owner_source"], "procfs");
  EXPECT_FALSE(record.value("owner_source_note", "").empty());
  ::close(listener);
}

}  // namespace
}  // namespace sonda::proc_scanner
