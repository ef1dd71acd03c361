// Processes for tests: shell commands with their output captured, and child
// processes that never outlive the test.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace sonda::testing {

/// How a command ended: its exit code (128+N when killed by signal N) and
/// what it wrote on stdout and stderr.
struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

/// Runs `command` with /bin/sh -c and waits until it exited and its stdout
/// and stderr closed (a daemon it starts must redirect them). Throws
/// std::runtime_error only when it cannot be started.
CommandResult run_command(const std::string& command);

/// run_command() that must succeed: returns stdout, or throws
/// std::runtime_error with the command, exit code and stderr.
std::string check_command(const std::string& command);

/// A child started with fork/execvp in its own process group, stdout on a
/// pipe (read_line), stdin a pipe kept open (a child that reads it sees EOF
/// when the test process dies). The whole group is killed with SIGKILL and
/// the child reaped on destruction, also when the test failed.
class ChildProcess {
 public:
  explicit ChildProcess(const std::vector<std::string>& argv);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  /// The next stdout line without '\n', waiting up to `timeout_ms` in all;
  /// "" on timeout or EOF.
  std::string read_line(int timeout_ms = 5000);
  /// Waits up to `timeout_ms` for the child to exit; its exit code (128+N
  /// when killed by signal N), nullopt when it is still running.
  std::optional<int> wait(int timeout_ms);
  /// Kills the group and reaps the child now; safe to call twice.
  void stop();

 private:
  pid_t pid_ = -1;
  pid_t group_ = -1;  ///< killed on stop() even after the child itself exited
  int stdout_fd_ = -1;
  int stdin_fd_ = -1;
  std::string buffer_;
};

}  // namespace sonda::testing
