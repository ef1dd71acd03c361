#include "spawn_handle.hpp"

#include <signal.h>

#include <cstdio>
#include <stdexcept>

#include "spawn.hpp"
#include "step_task.hpp"

namespace sonda {

std::string SpawnHandle::describe_status(int wait_status) const {
  return SpawnedProcess::describe_status(wait_status);
}

namespace {

class LocalSpawn final : public SpawnHandle {
 public:
  explicit LocalSpawn(std::unique_ptr<SpawnedProcess> p) : p_(std::move(p)) {}
  pid_t pid() const override { return p_->pid(); }
  std::optional<int> poll_exit() override { return p_->poll_exit(); }
  int stop(int64_t grace_ns) override { return p_->stop(grace_ns); }

 private:
  std::unique_ptr<SpawnedProcess> p_;
};

/// Files the agent's reader thread appends the program's output to.
struct OutputFiles {
  std::FILE* out = nullptr;
  std::FILE* err = nullptr;
  ~OutputFiles() {
    for (std::FILE* f : {out, err}) {
      if (f != nullptr) {
        std::fclose(f);
      }
    }
  }
};

class HostSpawn final : public SpawnHandle {
 public:
  HostSpawn(std::unique_ptr<ActionRun> run, pid_t pid, std::string host)
      : run_(std::move(run)), pid_(pid), host_(std::move(host)) {}
  ~HostSpawn() override {
    if (run_ != nullptr && !run_->wait_done(monotonic_now_ns())) {
      stop(0);
    }
  }
  pid_t pid() const override { return pid_; }
  std::optional<int> poll_exit() override {
    if (!run_->wait_done(monotonic_now_ns())) {
      return std::nullopt;
    }
    return status();
  }
  int stop(int64_t grace_ns) override {
    run_->request_stop();
    // The agent gives it grace_ns, then SIGKILLs its group and reports.
    if (!run_->wait_done(monotonic_now_ns() + grace_ns + kReportNs)) {
      run_->abandon();
    }
    return status();
  }
  std::string describe_status(int wait_status) const override {
    return lost_.empty() ? SpawnedProcess::describe_status(wait_status) : lost_;
  }

 private:
  /// Time for the agent's report after it has killed the group.
  static constexpr int64_t kReportNs = 2'000'000'000;

  int status() {
    const ActionOutcome o = run_->outcome();
    const nlohmann::json rec = o.record.tree();
    if (o.rc == 0 && rec.is_object() && rec.contains("wait_status")) {
      return rec["wait_status"].get<int>();
    }
    lost_ = o.error.empty() ? "ended on host " + host_ + " without a report" : o.error;
    return SIGKILL;  // a wait status the runner treats as "did not exit by itself"
  }

  std::unique_ptr<ActionRun> run_;
  pid_t pid_;
  std::string host_;
  std::string lost_;
};

std::FILE* open_or_throw(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "we");
  if (f == nullptr) {
    throw std::runtime_error("cannot write " + path);
  }
  return f;
}

}  // namespace

std::unique_ptr<SpawnHandle> start_local_spawn(const SpawnSpec& spec, const std::string& stdout_path,
                                               const std::string& stderr_path) {
  return std::make_unique<LocalSpawn>(SpawnedProcess::start(spec, stdout_path, stderr_path));
}

std::unique_ptr<SpawnHandle> start_host_spawn(const Executor& executor, const std::string& host,
                                              const SpawnSpec& spec, const std::string& stdout_path,
                                              const std::string& stderr_path, int64_t until_ns) {
  auto files = std::make_shared<OutputFiles>();
  files->out = open_or_throw(stdout_path);
  files->err = open_or_throw(stderr_path);
  ActionRequest request;
  request.action = "spawn";  // no plugin: the agent's built-in run
  request.params = {{"argv", spec.argv}, {"env", spec.env}, {"cwd", spec.cwd}, {"grace_ns", spec.stop_grace_ns}};
  request.on_output = [files](std::string_view stream, std::string_view bytes) {
    std::FILE* f = stream == "stderr" ? files->err : files->out;
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fflush(f);
  };
  std::unique_ptr<ActionRun> run = executor.start(std::move(request), host);
  if (!run->wait_ready(until_ns)) {
    const ActionOutcome o = run->outcome();
    if (!o.finished) {
      run->abandon();
    }
    throw std::runtime_error("on host " + host + ": " +
                             (o.error.empty() ? std::string("no pid from its agent in time") : o.error));
  }
  const nlohmann::json info = *run->outcome().ready_info;
  return std::make_unique<HostSpawn>(std::move(run), info.value("pid", pid_t{-1}), host);
}

}  // namespace sonda
