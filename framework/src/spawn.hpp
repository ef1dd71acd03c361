// External programs started as the system under test: own process group,
// stdout/stderr to files, stopped with SIGTERM to the group then SIGKILL,
// always reaped. Every live group is tracked so Ctrl-C twice, a runner
// exception or process exit can kill them all: no orphans.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>

#include "scenario.hpp"

namespace sonda {

/// A running child in its own process group. Not copyable; the destructor
/// stops it (grace 0) if still running. Thread-compatible: one owner.
class SpawnedProcess {
 public:
  /// Forks and execs `spec.argv` (PATH lookup) with `spec.env` added and in
  /// `spec.cwd`. Throws std::runtime_error naming the program and the call
  /// (including an exec failure such as "No such file or directory").
  static std::unique_ptr<SpawnedProcess> start(const SpawnSpec& spec, const std::string& stdout_path,
                                               const std::string& stderr_path);
  /// The same, for a child that talks over `stdio_fd` (a socket): it
  /// becomes the child's stdin and stdout; stderr is appended to
  /// `stderr_path` (empty: the child shares ours). The agent's launch:
  /// posix_spawn, no cwd or env changes, and no PDEATHSIG (it follows the
  /// spawning *thread*, and a spare agent outlives the step thread that
  /// started it): an agent exits when its channel ends, which the kernel
  /// does for it when the runner dies.
  static std::unique_ptr<SpawnedProcess> start_with_stdio(const SpawnSpec& spec, int stdio_fd,
                                                          const std::string& stderr_path);
  /// The same with the child's stdout and stderr on `out_fd` and `err_fd`
  /// (pipes, for an agent that forwards them), which it closes here.
  static std::unique_ptr<SpawnedProcess> start_with_fds(const SpawnSpec& spec, int out_fd, int err_fd);
  /// A child started some other way (the agent zygote's), leading its own
  /// process group: waited for, stopped and killed like the others.
  static std::unique_ptr<SpawnedProcess> adopt(pid_t pid);
  ~SpawnedProcess();
  SpawnedProcess(const SpawnedProcess&) = delete;
  SpawnedProcess& operator=(const SpawnedProcess&) = delete;

  pid_t pid() const { return pid_; }
  /// The wait status once the child has exited (non-blocking check).
  std::optional<int> poll_exit();
  /// SIGTERM to the group, wait up to `grace_ns`, then SIGKILL; reaps the
  /// child and returns its wait status. Idempotent.
  int stop(int64_t grace_ns);

  /// SIGKILL to every live spawned group (second Ctrl-C, fatal errors).
  /// Thread-safe.
  static void kill_all_now();
  /// "exited with status 3" / "killed by signal 15 (Terminated)".
  static std::string describe_status(int wait_status);

 private:
  explicit SpawnedProcess(pid_t pid) : pid_(pid) {}
  /// fork + exec with the given child fds 0/1/2 (closed here afterwards,
  /// except `in_fd` when it is -1: /dev/null).
  static std::unique_ptr<SpawnedProcess> launch(const SpawnSpec& spec, int in_fd, int out_fd, int err_fd);
  pid_t pid_;
  std::optional<int> status_;
};

/// The last `max_lines` lines of a text file (for "child exited: ..." reasons).
std::string tail_lines(const std::string& path, size_t max_lines);

}  // namespace sonda
