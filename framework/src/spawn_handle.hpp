// A spawn step's program, wherever it runs: here (a SpawnedProcess of the
// runner's) or on a host (started and owned by that host's agent, its output
// forwarded into the run directory). The runner treats both alike.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>

#include "action_run.hpp"
#include "scenario.hpp"

namespace sonda {

class SpawnHandle {
 public:
  virtual ~SpawnHandle() = default;
  virtual pid_t pid() const = 0;
  /// The wait status once the program has exited (non-blocking check).
  virtual std::optional<int> poll_exit() = 0;
  /// SIGTERM to its group, SIGKILL after `grace_ns`; its wait status.
  virtual int stop(int64_t grace_ns) = 0;
  /// "exited with status 3", or how its host was lost when it ended
  /// without a wait status.
  virtual std::string describe_status(int wait_status) const;
};

/// Here: stdout and stderr to the two files. Throws std::runtime_error.
std::unique_ptr<SpawnHandle> start_local_spawn(const SpawnSpec& spec, const std::string& stdout_path,
                                               const std::string& stderr_path);
/// On `host` through its agent: the program's output is written to the two
/// local files as it arrives. Waits for its pid until `until_ns`. Throws
/// std::runtime_error naming the host and what went wrong (a program that
/// cannot be started, a lost host).
std::unique_ptr<SpawnHandle> start_host_spawn(const Executor& executor, const std::string& host,
                                              const SpawnSpec& spec, const std::string& stdout_path,
                                              const std::string& stderr_path, int64_t until_ns);

}  // namespace sonda
