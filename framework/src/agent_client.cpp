#include "agent_client.hpp"

#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "agent_channel.hpp"
#include "logging.hpp"
#include "version.hpp"

namespace sonda {

namespace {

/// After the channel ends, how long the agent may take to exit by itself.
constexpr int64_t kExitWaitNs = 1'000'000'000;

/// "SIGSEGV" for 11.
std::string signal_name(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev != nullptr ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

std::chrono::steady_clock::time_point steady_at(int64_t until_ns) {
  return std::chrono::steady_clock::now() + std::chrono::nanoseconds(until_ns - monotonic_now_ns());
}

}  // namespace

std::shared_ptr<AgentConnection> AgentConnection::start(const std::vector<std::string>& argv,
                                                        const std::string& output_path) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    throw std::runtime_error(std::string("socketpair: ") + std::strerror(errno));
  }
  std::shared_ptr<AgentConnection> c(new AgentConnection());
  c->output_path_ = output_path;
  SpawnSpec spec;
  spec.argv = argv;
  try {
    c->process_ = SpawnedProcess::start_with_stdio(spec, sv[1], output_path);
  } catch (...) {
    ::close(sv[0]);
    ::close(sv[1]);
    throw;
  }
  ::close(sv[1]);
  c->fd_ = sv[0];
  c->pid_ = c->process_->pid();
  c->writer_ = std::make_unique<FrameWriter>(c->fd_);
  // Our hello goes first without waiting for the agent's: the agent checks
  // it before anything else, and a refusal arrives as an `error`.
  c->writer_->write({{"type", "hello"}, {"protocol", kAgentProtocolVersion}, {"sonda", kSondaVersion}});
  c->reader_ = std::thread([c = c.get()] { c->read_loop(); });
  return c;
}

AgentConnection::~AgentConnection() {
  close(kExitWaitNs);
  if (reader_.joinable()) {
    reader_.join();
  }
  if (fd_ >= 0) {
    ::close(fd_);
  }
  // Keep the plugin's output only when it printed something.
  std::error_code ec;
  if (!output_path_.empty() && std::filesystem::is_regular_file(output_path_, ec) &&
      std::filesystem::file_size(output_path_, ec) == 0 && !ec) {
    std::filesystem::remove(output_path_, ec);
  }
}

pid_t AgentConnection::pid() const { return pid_; }

std::shared_ptr<AgentConnection::Run> AgentConnection::run(const std::string& id, const std::string& plugin,
                                                           const std::string& action,
                                                           const nlohmann::json& params, int64_t timeout_ns,
                                                           SampleCallback on_sample) {
  auto r = std::make_shared<Run>();
  r->plugin = plugin;
  r->action = action;
  r->on_sample = std::move(on_sample);
  {
    std::lock_guard lock(mu_);
    runs_[id] = r;
  }
  writer_->write({{"type", "run"},
                  {"id", id},
                  {"plugin", plugin},
                  {"action", action},
                  {"params", params},
                  {"timeout_ns", timeout_ns}});
  // A failed write means the agent is gone: the reader ends the run.
  return r;
}

void AgentConnection::stop(const std::string& id) { writer_->write({{"type", "stop"}, {"id", id}}); }

void AgentConnection::kill() { ::kill(-pid_, SIGKILL); }

void AgentConnection::close(int64_t grace_ns) {
  std::unique_lock lock(mu_);
  if (gone_) {
    return;
  }
  ::shutdown(fd_, SHUT_WR);
  if (!cv_.wait_until(lock, steady_at(monotonic_now_ns() + grace_ns), [&] { return gone_; })) {
    kill();
    cv_.wait(lock, [&] { return gone_; });
  }
}

void AgentConnection::read_loop() {
  FrameReader in(fd_);
  Frame f;
  while (in.next(f)) {
    const std::string type = f.type();
    const std::string id = f.header.value("id", std::string());
    std::shared_ptr<Run> r;
    {
      std::lock_guard lock(mu_);
      auto it = runs_.find(id);
      if (it != runs_.end()) {
        r = it->second;
      } else if (type == "error") {
        refusal_ = f.header.value("message", std::string("agent error"));
      }
    }
    if (r == nullptr) {
      continue;  // hello, bye, or a message for a run nobody waits for
    }
    if (type == "sample") {
      nlohmann::json sample = std::move(f.header["sample"]);
      if (r->on_sample) {
        r->on_sample(sample);
      }
      std::lock_guard lock(r->mu);
      r->outcome.samples.push_back(std::move(sample));
    } else if (type == "log") {
      const int level = std::clamp(f.header.value("level", 2), 0, 4);
      plugin_logger(r->plugin)->log(static_cast<spdlog::level::level_enum>(level), "{}",
                                    f.header.value("message", std::string()));
    } else if (type == "ready") {
      std::lock_guard lock(r->mu);
      if (!r->outcome.ready_info) {
        r->outcome.ready_info = std::move(f.header["info"]);
      }
      r->cv.notify_all();
    } else if (type == "record") {
      std::string problem;
      StepRecord record = StepRecord::from_text(std::move(f.payload), problem);
      std::lock_guard lock(r->mu);
      r->outcome.record = std::move(record);
      r->outcome.record_problem = std::move(problem);
    } else if (type == "result" || type == "error") {
      std::lock_guard lock(r->mu);
      r->outcome.finished = true;
      r->outcome.rc = type == "result" ? 0 : f.header.value("rc", 1);
      if (type == "error") {
        r->outcome.error = f.header.value("message", std::string());
      }
      r->cv.notify_all();
    }
  }
  lost(in.error());
}

void AgentConnection::lost(const std::string& channel_error) {
  // The agent's input may still be open (it broke its channel, or a plugin
  // closed it): it is of no use any more, so it gets kExitWaitNs and then
  // SIGKILL. Only this thread reaps it.
  ::shutdown(fd_, SHUT_RDWR);
  const int64_t until = monotonic_now_ns() + kExitWaitNs;
  std::optional<int> status;
  while (!(status = process_->poll_exit()) && monotonic_now_ns() < until) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  const int wait_status = process_->stop(0);  // kills what is left of its group, reaps
  nlohmann::json crash = {{"signal", nullptr},
                          {"exit_code", nullptr},
                          {"agent_pid", pid_},
                          {"stderr_tail", tail_lines(output_path_, 10)},
                          {"output", output_path_}};
  std::string how;
  if (WIFSIGNALED(wait_status)) {
    crash["signal"] = signal_name(WTERMSIG(wait_status));
    how = "crashed: " + crash["signal"].get<std::string>();
  } else {
    crash["exit_code"] = WEXITSTATUS(wait_status);
    how = "ended its agent with exit status " + std::to_string(WEXITSTATUS(wait_status));
  }
  std::map<std::string, std::shared_ptr<Run>> runs;
  {
    std::lock_guard lock(mu_);
    runs = runs_;
  }
  for (auto& [id, r] : runs) {
    std::lock_guard lock(r->mu);
    if (r->outcome.finished) {
      continue;
    }
    r->outcome.finished = true;
    r->outcome.rc = -1;
    if (!refusal_.empty()) {
      r->outcome.error = "agent refused: " + refusal_;
    } else {
      r->outcome.error = "plugin " + r->plugin + ": action " + r->action + " " + how;
      if (!channel_error.empty()) {
        r->outcome.error += " (agent channel: " + channel_error + ")";
      }
      r->outcome.crash = crash;
    }
    r->cv.notify_all();
  }
  std::lock_guard lock(mu_);
  gone_ = true;
  cv_.notify_all();
}

namespace {

/// One action in its own agent: the connection lives as long as the run.
class AgentRun final : public ActionRun {
 public:
  AgentRun(std::shared_ptr<AgentConnection> agent, std::shared_ptr<AgentConnection::Run> run)
      : agent_(std::move(agent)), run_(std::move(run)) {}
  ~AgentRun() override { agent_->close(kExitWaitNs); }

  void request_stop() override { agent_->stop(kRunId); }
  bool wait_ready(int64_t until_ns) override {
    std::unique_lock lock(run_->mu);
    run_->cv.wait_until(lock, steady_at(until_ns),
                        [&] { return run_->outcome.ready_info.has_value() || run_->outcome.finished; });
    return run_->outcome.ready_info.has_value();
  }
  bool wait_done(int64_t until_ns) override {
    std::unique_lock lock(run_->mu);
    auto done = [&] { return run_->outcome.finished; };
    if (until_ns == 0) {
      run_->cv.wait(lock, done);
      return true;
    }
    return run_->cv.wait_until(lock, steady_at(until_ns), done);
  }
  void abandon() override {
    agent_->kill();
    wait_done(0);  // the reader reaps it and ends the run
  }
  ActionOutcome outcome() const override {
    std::lock_guard lock(run_->mu);
    return run_->outcome;
  }

  static constexpr const char* kRunId = "1";

 private:
  std::shared_ptr<AgentConnection> agent_;
  std::shared_ptr<AgentConnection::Run> run_;
};

}  // namespace

std::unique_ptr<ActionRun> start_agent_run(const std::string& agent_binary, ActionRequest request) {
  auto agent = AgentConnection::start({agent_binary, "agent", "--plugin", request.plugin->path},
                                      request.output_path.empty() ? "/dev/null" : request.output_path);
  const int64_t timeout_ns =
      request.deadline_ns == 0 ? 0 : std::max<int64_t>(1, request.deadline_ns - monotonic_now_ns());
  auto run = agent->run(AgentRun::kRunId, request.plugin->name(), request.action, request.params, timeout_ns,
                        std::move(request.on_sample));
  return std::make_unique<AgentRun>(std::move(agent), std::move(run));
}

}  // namespace sonda
