// Local agents forked from a pristine copy of the runner instead of exec'd.
//
// Starting `sonda agent` by exec costs ~9 ms of CPU on a small VM (execve,
// the dynamic loader, static initialisers, the plugin loaded again), paid
// once per step: more than the whole of a small step. `sonda run` therefore
// forks a zygote (Android's and Chromium's word) right after the scenario is
// validated, while it still has one thread and has its plugins loaded; the
// zygote forks each local agent on request, which then runs the very same
// agent code (agent_command) on its channel. An agent is still a process of
// its own: a crashing plugin still fails only its step.
//
// The first agent is forked by the runner itself at that same moment (one
// fork, ready while the runner writes its headers and reads the run
// context), and the zygote is forked only when the scenario plans more
// than one local action run: a one-step scenario forks once.
//
// Each agent is made a child of the runner (the runner is a child subreaper,
// the zygote double-forks), in a process group of its own, so waiting for it,
// its exit status and killing its group work exactly as for an exec'd agent.
// Remote agents (ssh, docker exec, ip netns exec) are exec'd as before.
#pragma once

#include <sys/types.h>

#include <cstddef>

#include <memory>
#include <mutex>
#include <string>

namespace sonda {

class Registry;

class AgentZygote {
 public:
  /// Forks the first local agent and, when `planned_runs` (local action
  /// runs, repeats counted) says more will follow, the zygote. nullptr,
  /// with `why` set, when it must not or cannot: SONDA_AGENT_START=exec, a
  /// ThreadSanitizer build (it does not follow a fork of a fork), no local
  /// run planned, the process has threads already, or a call failed. When
  /// only the zygote could not start, `why` says so and later agents are
  /// exec'd. `plugins`: the runner's registry, which the agents forked from
  /// this image use as it is (AgentCommand::inherited); it must not change
  /// before start() returns (agents hold their own copy of it from then).
  static std::shared_ptr<AgentZygote> start(size_t planned_runs, std::string& why,
                                            const Registry* plugins = nullptr);
  ~AgentZygote();
  AgentZygote(const AgentZygote&) = delete;
  AgentZygote& operator=(const AgentZygote&) = delete;

  /// The agent forked at start(), once: its pid (a child of this process,
  /// leading its own process group) and this side of its channel, which the
  /// caller then owns. False when it was taken already.
  bool take_first(pid_t& pid, int& fd);

  /// True when the zygote runs (fork_agent can be called).
  bool forks() const { return pid_ > 0; }

  /// A new agent serving the protocol on `channel_fd` (its fds 0 and 1),
  /// with fd 2 on `err_fd` (-1: the runner's stderr). Returns its pid: a
  /// child of this process, leading its own process group. The descriptors
  /// stay the caller's. Thread-safe. Throws std::runtime_error naming the
  /// call that failed.
  pid_t fork_agent(int channel_fd, int err_fd);

  /// The zygote's pid (tests); -1 when only the first agent was forked.
  pid_t pid() const { return pid_; }

 private:
  AgentZygote() = default;

  pid_t pid_ = -1;
  int fd_ = -1;
  pid_t first_pid_ = -1;
  int first_fd_ = -1;
  std::mutex mu_;
};

/// Keeps main()'s argv so a forked agent can retitle itself `sonda agent`
/// (its argv memory is the runner's: ps would show `sonda run x.yaml`).
void remember_argv(int argc, char** argv);

/// The zygote local agents are forked from; nullptr: exec `sonda agent`.
/// Set once by `sonda run` before its first thread.
void set_agent_zygote(std::shared_ptr<AgentZygote> zygote);
std::shared_ptr<AgentZygote> agent_zygote();

}  // namespace sonda
