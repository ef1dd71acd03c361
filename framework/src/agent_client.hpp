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
  /// Starts `argv` (a `sonda agent`, or a command that starts one
  /// elsewhere) with a socket as its stdin/stdout and its stderr appended
  /// to `stderr_path` (empty: shared with ours until a run names its output
  /// file), and says hello. `label` ("host b") prefixes the reasons runs end
  /// with when the agent dies; empty for a step's own agent. Throws
  /// std::runtime_error when it cannot be started.
  static std::shared_ptr<AgentConnection> start(const std::vector<std::string>& argv,
                                                const std::string& stderr_path = "",
                                                const std::string& label = "");
  /// A step's own agent here: forked by the agent zygote when there is one
  /// (agent_zygote.hpp), else `agent_binary agent` exec'd as start() does.
  static std::shared_ptr<AgentConnection> start_local(const std::string& agent_binary);
  ~AgentConnection();
  AgentConnection(const AgentConnection&) = delete;
  AgentConnection& operator=(const AgentConnection&) = delete;

  /// Per-run state, filled by the reader thread.
  struct Run {
    std::string plugin;
    std::string action;
    SampleCallback on_sample;
    std::function<void(std::string_view, std::string_view)> on_output;
    std::string record_path;  ///< ActionRequest::record_path, as sent
    mutable std::mutex mu;
    std::condition_variable cv;
    ActionOutcome outcome;
  };

  /// Sends a run request for `request` (its plugin loaded by the agent from
  /// the plugin's path; what it prints goes to request.output_path when
  /// set). The returned state ends (outcome.finished) when the result
  /// arrives or the agent dies.
  std::shared_ptr<Run> run(const std::string& id, ActionRequest request);
  /// Sends stop for a run (ignored when the agent is gone).
  void stop(const std::string& id);
  /// Ends a run here without its result (it stays stopped over there):
  /// for a shared agent that must go on serving other runs.
  void abandon_run(const std::string& id, const std::string& reason);
  /// Drops a finished run's state.
  void forget(const std::string& id);
  /// Sends `msg` with a fresh id and waits for the agent's reply of the
  /// same type and id (`clock`, `context`, `describe`); null when none came
  /// by `until_ns` or the agent is gone.
  nlohmann::json request(nlohmann::json msg, int64_t until_ns);
  /// How the agent ended ("killed by SIGKILL", "exited with status 1"), and
  /// the last lines of its stderr file; empty while it runs.
  std::string ended_how() const;
  /// The same without the label ("its agent (`ip netns exec x sonda
  /// agent`) exited with status 255: Cannot open network namespace ...").
  std::string ended_detail() const;
  /// Ends the channel without waiting: the agent exits on its own time
  /// and the reader thread reaps it (wait_all() waits for that).
  void close_async();
  /// SIGKILL to the agent's process group now; the reader reaps it.
  void kill();
  pid_t pid() const;
  /// True once the agent is gone (reaped).
  bool lost_already() const;
  /// The agent's hello ({protocol, sonda, git, pid}) once it arrived, null
  /// when it did not by `until_ns` or the agent is gone.
  nlohmann::json wait_hello(int64_t until_ns) const;

  /// Waits until every agent connection of this process has been reaped,
  /// until `until_ns`; then kills the process groups of those left and
  /// waits for them. The end of a run: nothing is left behind.
  static void wait_all(int64_t until_ns);

 private:
  static std::shared_ptr<AgentConnection> start_impl(const std::vector<std::string>& argv,
                                                     const std::string& stderr_path, const std::string& label,
                                                     bool local);
  AgentConnection() = default;
  void read_loop();
  /// Called once the channel ended: reaps the agent and ends open runs.
  void lost(const std::string& channel_error);

  std::unique_ptr<SpawnedProcess> process_;
  int fd_ = -1;
  pid_t pid_ = -1;
  std::string output_path_;
  bool local_ = false;  ///< made by this runner: shares its files, takes memfds
  std::unique_ptr<FrameWriter> writer_;

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  nlohmann::json hello_;
  bool gone_ = false;  // the reader has reaped the agent
  std::string refusal_;  // an error message without a run id (e.g. protocol mismatch)
  std::string label_;
  std::string argv_text_;
  std::string stderr_path_;
  std::string ended_how_;
  std::string ended_detail_;
  std::map<std::string, std::shared_ptr<Run>> runs_;
  uint64_t next_request_ = 0;
  std::map<std::string, nlohmann::json> replies_;  // request id -> reply (null while waiting)
};

/// One action in `agent`, which it owns from now on: the run's end closes
/// the channel (Executor's default isolation: one agent per action run).
std::unique_ptr<ActionRun> start_agent_run(std::shared_ptr<AgentConnection> agent, ActionRequest request);
/// One action on a shared agent (a host's), as run `id`: the run's end
/// leaves the agent serving; giving up on it stops it there.
std::unique_ptr<ActionRun> start_shared_agent_run(std::shared_ptr<AgentConnection> agent, const std::string& id,
                                                  ActionRequest request);

}  // namespace sonda
