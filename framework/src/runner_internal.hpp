// Pieces shared by runner.cpp and background.cpp; not part of the host API.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "results.hpp"
#include "runner.hpp"
#include "spawn.hpp"
#include "spawn_handle.hpp"
#include "step_task.hpp"
#include "action_run.hpp"

namespace sonda {

/// A started action that Runner::interrupt() reaches until this handle is
/// destroyed (which first unregisters it, then ends its agent).
class Runner::Launched {
 public:
  Launched(Runner& runner, std::unique_ptr<ActionRun> run, bool background)
      : runner_(runner), run_(std::move(run)) {
    runner_.watch(run_.get(), true, background);
  }
  ~Launched() { runner_.watch(run_.get(), false); }
  Launched(const Launched&) = delete;
  Launched& operator=(const Launched&) = delete;
  ActionRun& operator*() { return *run_; }
  ActionRun* operator->() { return run_.get(); }

 private:
  Runner& runner_;
  std::unique_ptr<ActionRun> run_;
};

/// A step that lives until its group ends: a BACKGROUND action or a spawned
/// program. Owned by the group's BackgroundList.
struct Runner::Background {
  StepResult result;
  int64_t start_ns = 0;
  nlohmann::json ready_info = nlohmann::json::object();
  std::unique_ptr<Launched> task;     // action steps
  std::unique_ptr<SpawnHandle> process;  // spawn steps, here or on a host
  int64_t stop_grace_ns = 0;
};

/// How long after a deadline an action may still return before it is
/// abandoned as timed out.
inline constexpr int64_t kDeadlineGraceNs = 2'000'000'000;
/// After Ctrl-C, how long a running step may take to honour its stop flag.
inline constexpr int64_t kInterruptGraceNs = 500'000'000;
/// Default wait for a background step's ready() when it has no timeout.
inline constexpr int64_t kDefaultReadyTimeoutNs = 10'000'000'000;
/// How long preflight waits for every host's agent (ssh can be slow).
inline constexpr int64_t kHostTimeoutNs = 15'000'000'000;
/// Polling slice while waiting on tasks and children.
inline constexpr int64_t kPollSliceNs = 20'000'000;

/// "2.5s" style text for reasons.
std::string seconds_text(int64_t ns);

}  // namespace sonda
