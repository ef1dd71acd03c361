#include "agent_client.hpp"

#include "agent_zygote.hpp"

#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
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

/// Every connection whose reader thread still runs, by agent pid.
std::mutex g_live_mu;
std::condition_variable g_live_cv;
std::map<pid_t, AgentConnection*> g_live;

}  // namespace

void AgentConnection::wait_all(int64_t until_ns) {
  std::unique_lock lock(g_live_mu);
  if (!g_live_cv.wait_until(lock, steady_at(until_ns), [] { return g_live.empty(); })) {
    for (auto& [pid, c] : g_live) {
      c->kill();
    }
    g_live_cv.wait(lock, [] { return g_live.empty(); });
  }
}

std::shared_ptr<AgentConnection> AgentConnection::start_local(const std::string& agent_binary) {
  return start_impl({agent_binary, "agent"}, "", "", true);
}

std::shared_ptr<AgentConnection> AgentConnection::start(const std::vector<std::string>& argv,
                                                        const std::string& stderr_path, const std::string& label) {
  return start_impl(argv, stderr_path, label, false);
}

std::shared_ptr<AgentConnection> AgentConnection::start_impl(const std::vector<std::string>& argv,
                                                             const std::string& stderr_path,
                                                             const std::string& label, bool local) {
  std::shared_ptr<AgentConnection> c(new AgentConnection());
  c->label_ = label;
  for (const auto& a : argv) {
    c->argv_text_ += (c->argv_text_.empty() ? "" : " ") + a;
  }
  c->stderr_path_ = stderr_path;
  c->output_path_ = stderr_path;
  c->local_ = local;
  const auto zygote = local ? agent_zygote() : nullptr;
  pid_t first_pid = -1;
  int first_fd = -1;
  if (zygote != nullptr && zygote->take_first(first_pid, first_fd)) {
    c->process_ = SpawnedProcess::adopt(first_pid);
    c->fd_ = first_fd;
  } else {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
      throw std::runtime_error(std::string("socketpair: ") + std::strerror(errno));
    }
    SpawnSpec spec;
    spec.argv = argv;
    try {
      if (zygote != nullptr && zygote->forks()) {
        c->process_ = SpawnedProcess::adopt(zygote->fork_agent(sv[1], -1));
      } else {
        c->process_ = SpawnedProcess::start_with_stdio(spec, sv[1], stderr_path);
      }
    } catch (...) {
      ::close(sv[0]);
      ::close(sv[1]);
      throw;
    }
    ::close(sv[1]);
    c->fd_ = sv[0];
  }
  c->pid_ = c->process_->pid();
  c->writer_ = std::make_unique<FrameWriter>(c->fd_);
  // Our hello goes first without waiting for the agent's: the agent checks
  // it before anything else, and a refusal arrives as an `error`.
  // A local agent is on the other end of this very socket pair, so it may
  // hand large records over as memfds (docs/AGENT_PROTOCOL.md).
  nlohmann::json hello = {{"type", "hello"}, {"protocol", kAgentProtocolVersion}, {"sonda", kSondaVersion}};
  if (local) {
    hello["fd_records"] = true;
  }
  c->writer_->write(std::move(hello));
  {
    std::lock_guard lock(g_live_mu);
    g_live[c->pid_] = c.get();
  }
  // The reader owns the connection too, until it has reaped the agent: a
  // step can end (close_async) without waiting for its agent to exit.
  // When the reader holds the last reference, the connection is destroyed
  // before wait_all() can return: its destructor touches process-wide state
  // (the spawn table) that the runner's exit tears down.
  std::thread([c]() mutable {
    c->read_loop();
    std::lock_guard lock(g_live_mu);
    g_live.erase(c->pid_);
    c.reset();
    g_live_cv.notify_all();
  }).detach();
  return c;
}

AgentConnection::~AgentConnection() {
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

nlohmann::json AgentConnection::wait_hello(int64_t until_ns) const {
  std::unique_lock lock(mu_);
  cv_.wait_until(lock, steady_at(until_ns), [&] { return !hello_.is_null() || gone_; });
  return hello_;
}

bool AgentConnection::lost_already() const {
  std::lock_guard lock(mu_);
  return gone_;
}

std::shared_ptr<AgentConnection::Run> AgentConnection::run(const std::string& id, ActionRequest request) {
  auto r = std::make_shared<Run>();
  // No plugin: the agent's built-in run (action "spawn": a program).
  r->plugin = request.plugin ? request.plugin->name() : "";
  r->action = request.action;
  r->on_sample = std::move(request.on_sample);
  r->on_output = std::move(request.on_output);
  // Only an agent this runner made shares its files (a host's agent is on
  // another machine: its records come over the channel).
  r->record_path = local_ ? request.record_path : "";
  {
    std::lock_guard lock(mu_);
    if (gone_) {
      r->outcome.finished = true;
      r->outcome.rc = -1;
      r->outcome.error = ended_how_;
      return r;
    }
    runs_[id] = r;
    if (!request.output_path.empty()) {
      output_path_ = request.output_path;
    }
  }
  const int64_t timeout_ns =
      request.deadline_ns == 0 ? 0 : std::max<int64_t>(1, request.deadline_ns - monotonic_now_ns());
  nlohmann::json msg = {{"type", "run"},
                        {"id", id},
                        {"plugin", r->plugin},
                        {"path", request.plugin ? request.plugin->path : ""},
                        {"action", request.action},
                        {"params", std::move(request.params)},
                        {"timeout_ns", timeout_ns}};
  if (!request.output_path.empty()) {
    msg["output"] = request.output_path;
  }
  if (!r->record_path.empty()) {
    msg["record_file"] = r->record_path;
  }
  writer_->write(std::move(msg));
  // A failed write means the agent is gone: the reader ends the run.
  return r;
}

void AgentConnection::stop(const std::string& id) { writer_->write({{"type", "stop"}, {"id", id}}); }

void AgentConnection::abandon_run(const std::string& id, const std::string& reason) {
  std::shared_ptr<Run> r;
  {
    std::lock_guard lock(mu_);
    auto it = runs_.find(id);
    if (it == runs_.end()) {
      return;
    }
    r = it->second;
  }
  stop(id);
  std::lock_guard lock(r->mu);
  if (!r->outcome.finished) {
    r->outcome.finished = true;
    r->outcome.rc = -1;
    r->outcome.error = reason;
    r->cv.notify_all();
  }
}

void AgentConnection::forget(const std::string& id) {
  std::lock_guard lock(mu_);
  runs_.erase(id);
}

nlohmann::json AgentConnection::request(nlohmann::json msg, int64_t until_ns) {
  std::string id;
  {
    std::lock_guard lock(mu_);
    if (gone_) {
      return nullptr;
    }
    id = "q" + std::to_string(++next_request_);
    replies_[id] = nullptr;
  }
  msg["id"] = id;
  writer_->write(std::move(msg));
  std::unique_lock lock(mu_);
  cv_.wait_until(lock, steady_at(until_ns), [&] { return !replies_[id].is_null() || gone_; });
  nlohmann::json reply = std::move(replies_[id]);
  replies_.erase(id);
  return reply;
}

std::string AgentConnection::ended_how() const {
  std::lock_guard lock(mu_);
  return ended_how_;
}

std::string AgentConnection::ended_detail() const {
  std::lock_guard lock(mu_);
  return ended_detail_;
}

void AgentConnection::kill() {
  std::lock_guard lock(mu_);
  if (!gone_) {
    ::kill(-pid_, SIGKILL);
  }
}

void AgentConnection::close_async() { ::shutdown(fd_, SHUT_WR); }

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
      } else if (type == "hello") {
        hello_ = std::move(f.header);
        cv_.notify_all();
      } else if (auto q = replies_.find(id); q != replies_.end()) {
        q->second = std::move(f.header);
        cv_.notify_all();
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
    } else if (type == "output") {
      if (r->on_output) {
        r->on_output(f.header.value("stream", std::string()), f.payload);
      }
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
      StepRecord record;
      if (f.header.contains("file")) {
        // Written and checked by the agent where this run asked; any other
        // path is refused.
        if (r->record_path.empty() || f.header["file"] != r->record_path) {
          problem = "the agent named a record file this run did not ask for: " + f.header["file"].dump();
        } else {
          record = StepRecord::from_file(r->record_path, f.header.value("size", size_t{0}),
                                         std::move(f.header["skeleton"]), problem);
        }
      } else {
        record = f.fd.get() >= 0
                     ? StepRecord::from_memfd(f.fd.get(), f.header.value("memfd", size_t{0}), problem)
                     : StepRecord::from_text(std::move(f.payload), problem);
      }
      f.fd.reset();
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
  std::string output_path;
  {
    std::lock_guard lock(mu_);
    output_path = output_path_;
  }
  nlohmann::json crash = {{"signal", nullptr},
                          {"exit_code", nullptr},
                          {"agent_pid", pid_},
                          {"stderr_tail", output_path.empty() ? "" : tail_lines(output_path, 10)},
                          {"output", output_path}};
  std::string how;
  std::string agent_how;  // the agent's end, for a shared (host) agent
  if (WIFSIGNALED(wait_status)) {
    crash["signal"] = signal_name(WTERMSIG(wait_status));
    how = "crashed: " + crash["signal"].get<std::string>();
    agent_how = "killed by " + crash["signal"].get<std::string>();
  } else {
    crash["exit_code"] = WEXITSTATUS(wait_status);
    how = "ended its agent with exit status " + std::to_string(WEXITSTATUS(wait_status));
    agent_how = "exited with status " + std::to_string(WEXITSTATUS(wait_status));
  }
  if (!label_.empty()) {
    // `ip netns exec` or ssh started the agent: its exit is theirs.
    std::string tail = stderr_path_.empty() ? "" : tail_lines(stderr_path_, 3);
    std::replace(tail.begin(), tail.end(), '\n', ' ');
    how = "its agent (`" + argv_text_ + "`) " + agent_how + (tail.empty() ? "" : ": " + tail);
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
    } else if (!label_.empty()) {
      r->outcome.error = label_ + " lost: " + how + " while " +
                         (r->plugin.empty() ? "its spawned program" : "plugin " + r->plugin + ": action " + r->action) +
                         " ran";
      r->outcome.crash = crash;
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
  ended_how_ = label_.empty() ? how : label_ + " lost: " + how;
  ended_detail_ = how;
  gone_ = true;
  cv_.notify_all();
}

namespace {

/// One action in an agent: its own (the connection lives as long as the
/// run), or a host's shared one (the run is one of several on it).
class AgentRun final : public ActionRun {
 public:
  AgentRun(std::shared_ptr<AgentConnection> agent, std::string id, std::shared_ptr<AgentConnection::Run> run,
           bool owns_agent)
      : agent_(std::move(agent)), id_(std::move(id)), run_(std::move(run)), owns_agent_(owns_agent) {}
  ~AgentRun() override {
    if (owns_agent_) {
      agent_->close_async();
    } else {
      agent_->forget(id_);
    }
  }

  void request_stop() override { agent_->stop(id_); }
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
    if (owns_agent_) {
      agent_->kill();
    } else {
      agent_->abandon_run(id_, "abandoned: stopped, and no longer waited for");
    }
    wait_done(0);  // the reader (or abandon_run) ends the run
  }
  ActionOutcome outcome() const override {
    std::lock_guard lock(run_->mu);
    return run_->outcome;
  }

 private:
  std::shared_ptr<AgentConnection> agent_;
  std::string id_;
  std::shared_ptr<AgentConnection::Run> run_;
  bool owns_agent_;
};

}  // namespace

std::unique_ptr<ActionRun> start_agent_run(std::shared_ptr<AgentConnection> agent, ActionRequest request) {
  auto run = agent->run("1", std::move(request));
  return std::make_unique<AgentRun>(std::move(agent), "1", std::move(run), true);
}

std::unique_ptr<ActionRun> start_shared_agent_run(std::shared_ptr<AgentConnection> agent, const std::string& id,
                                                  ActionRequest request) {
  request.output_path.clear();  // what it prints stays in the host's stderr file
  auto run = agent->run(id, std::move(request));
  return std::make_unique<AgentRun>(std::move(agent), id, std::move(run), false);
}

}  // namespace sonda
