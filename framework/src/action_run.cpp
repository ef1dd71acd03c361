#include "action_run.hpp"

#include <unistd.h>

#include <climits>

#include "agent_client.hpp"

namespace sonda {

const char* to_string(Isolation isolation) {
  return isolation == Isolation::kAgent ? "agent" : "in-process";
}

namespace {

/// An action on a thread of this process (ActionTask).
class InProcessRun final : public ActionRun {
 public:
  explicit InProcessRun(ActionRequest r)
      : task_(std::move(r.plugin), std::move(r.action), std::move(r.params), r.deadline_ns,
              std::move(r.on_sample)) {
    task_.start();
  }
  void request_stop() override { task_.request_stop(); }
  bool wait_ready(int64_t until_ns) override { return task_.wait_ready(until_ns); }
  bool wait_done(int64_t until_ns) override { return task_.wait_done(until_ns); }
  void abandon() override { task_.request_stop(); }  // the destructor detaches the thread
  ActionOutcome outcome() const override { return task_.outcome(); }

 private:
  ActionTask task_;
};

}  // namespace

Executor::Executor(Isolation isolation, std::string agent_binary)
    : isolation_(isolation), agent_binary_(std::move(agent_binary)) {
  replenish();
}

Executor::~Executor() { drain(monotonic_now_ns()); }

void Executor::replenish() const {
  if (isolation_ != Isolation::kAgent) {
    return;
  }
  std::lock_guard lock(mu_);
  if (spare_ != nullptr) {
    return;
  }
  try {
    spare_ = AgentConnection::start({agent_binary_, "agent"});
  } catch (const std::exception&) {
    // start() will try again and report why.
  }
}

std::unique_ptr<ActionRun> Executor::start(ActionRequest request) const {
  if (isolation_ == Isolation::kInProcess) {
    return std::make_unique<InProcessRun>(std::move(request));
  }
  std::shared_ptr<AgentConnection> agent;
  {
    std::lock_guard lock(mu_);
    agent = std::move(spare_);
  }
  if (agent == nullptr || agent->lost_already()) {
    agent = AgentConnection::start({agent_binary_, "agent"});
  }
  auto run = start_agent_run(std::move(agent), std::move(request));
  // The next step's agent starts now, beside this run: ~5 ms of one core
  // once, so that a step that follows a run of more than that finds its
  // agent ready (an exec of sonda is ~6 ms here, a fork of the runner more).
  replenish();
  return run;
}

void Executor::drain(int64_t until_ns) const {
  if (isolation_ != Isolation::kAgent) {
    return;
  }
  std::shared_ptr<AgentConnection> spare;
  {
    std::lock_guard lock(mu_);
    spare = std::move(spare_);
  }
  if (spare != nullptr) {
    spare->close_async();
  }
  AgentConnection::wait_all(until_ns);
}

std::string Executor::self_executable() {
  char buf[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string("sonda");
}

}  // namespace sonda
