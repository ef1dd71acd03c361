// The runner's end of the agent protocol (docs/AGENT_PROTOCOL.md): starts a
// `sonda agent`, reads its messages on a thread, and turns them into the
// outcome of each run it carries. When the agent dies (crash, exit, kill)
// the runs it carried end with what arrived plus how it died.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "action_run.hpp"
#include "spawn.hpp"

namespace sonda {

class FrameWriter;

/// A channel to one agent process, carrying any number of runs by id.
/// Thread-safe. Closing it ends the agent (it exits when its input ends).
class AgentConnection {
 public:
  /// Starts `argv` (a `sonda agent`) with a socket as its stdin/stdout and
  /// its stderr appended to `output_path`, and says hello. Throws
  /// std::runtime_error when it cannot be started.
  static std::shared_ptr<AgentConnection> start(const std::vector<std::string>& argv,
                                                const std::string& output_path);
  ~AgentConnection();
  AgentConnection(const AgentConnection&) = delete;
  AgentConnection& operator=(const AgentConnection&) = delete;

  /// Per-run state, filled by the reader thread.
  struct Run {
    std::string plugin;
    std::string action;
    SampleCallback on_sample;
    mutable std::mutex mu;
    std::condition_variable cv;
    ActionOutcome outcome;
  };

  /// Sends a run request. The returned state ends (outcome.finished) when
  /// the result arrives or the agent dies.
  std::shared_ptr<Run> run(const std::string& id, const std::string& plugin, const std::string& action,
                           const nlohmann::json& params, int64_t timeout_ns, SampleCallback on_sample);
  /// Sends stop for a run (ignored when the agent is gone).
  void stop(const std::string& id);
  /// Ends the channel: the agent sees its input end and exits; after
  /// `grace_ns` its process group is killed. Reaps it. Idempotent.
  void close(int64_t grace_ns);
  /// SIGKILL to the agent's process group now; the reader reaps it.
  void kill();
  pid_t pid() const;

 private:
  AgentConnection() = default;
  void read_loop();
  /// Called once the channel ended: reaps the agent and ends open runs.
  void lost(const std::string& channel_error);

  std::unique_ptr<SpawnedProcess> process_;
  int fd_ = -1;
  pid_t pid_ = -1;
  std::string output_path_;
  std::unique_ptr<FrameWriter> writer_;
  std::thread reader_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool gone_ = false;  // the reader has reaped the agent
  std::string refusal_;  // an error message without a run id (e.g. protocol mismatch)
  std::map<std::string, std::shared_ptr<Run>> runs_;
};

/// One action in its own agent (Executor's default).
std::unique_ptr<ActionRun> start_agent_run(const std::string& agent_binary, ActionRequest request);

}  // namespace sonda
