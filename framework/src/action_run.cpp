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
    : isolation_(isolation), agent_binary_(std::move(agent_binary)) {}

std::unique_ptr<ActionRun> Executor::start(ActionRequest request) const {
  if (isolation_ == Isolation::kInProcess) {
    return std::make_unique<InProcessRun>(std::move(request));
  }
  return start_agent_run(agent_binary_, std::move(request));
}

std::string Executor::self_executable() {
  char buf[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string("sonda");
}

}  // namespace sonda
