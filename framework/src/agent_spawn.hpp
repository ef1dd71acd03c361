// A program the runner asked an agent to start: a spawn step on a host
// (docs/HOSTS.md). The agent, not the runner, owns it, so it is stopped the
// same way wherever the host is (SIGTERM to its group, SIGKILL after the
// grace) and dies with the agent's channel. Its stdout and stderr travel
// back as `output` frames; its pid is the run's `ready`; its end is the
// run's record ({pid, wait_status}) and `result`.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "spawn.hpp"

namespace sonda {

class FrameWriter;

class AgentSpawn {
 public:
  /// Starts `params` = {argv, env, cwd, grace_ns} and reports as run `id`
  /// on `out`. Throws std::runtime_error when it cannot be started.
  AgentSpawn(FrameWriter* out, std::string id, const nlohmann::json& params);
  /// Stops it now (grace 0) if still running and joins its threads.
  ~AgentSpawn();
  AgentSpawn(const AgentSpawn&) = delete;
  AgentSpawn& operator=(const AgentSpawn&) = delete;

  /// SIGTERM to its group, SIGKILL after the grace. Idempotent.
  void request_stop();
  /// True once it has ended and its result was sent.
  bool wait_done(int64_t until_ns);

 private:
  void watch();
  void pump(int fd, const char* stream);

  FrameWriter* out_;
  std::string id_;
  int64_t grace_ns_ = 2'000'000'000;
  std::unique_ptr<SpawnedProcess> process_;
  std::thread stdout_pump_;
  std::thread stderr_pump_;
  std::thread watcher_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool done_ = false;
};

}  // namespace sonda
