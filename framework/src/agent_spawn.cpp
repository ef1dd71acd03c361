#include "agent_spawn.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "agent_channel.hpp"
#include "step_task.hpp"

namespace sonda {

namespace {

/// How often the watcher looks for the program's exit.
constexpr int64_t kPollNs = 10'000'000;
/// After the program's group is gone, how long its pipes may take to drain.
constexpr int kDrainMs = 500;

}  // namespace

AgentSpawn::AgentSpawn(FrameWriter* out, std::string id, const nlohmann::json& params)
    : out_(out), id_(std::move(id)) {
  SpawnSpec spec;
  spec.argv = params.value("argv", std::vector<std::string>{});
  spec.env = params.value("env", std::map<std::string, std::string>{});
  spec.cwd = params.value("cwd", std::string());
  grace_ns_ = params.value("grace_ns", grace_ns_);
  int out_pipe[2];
  int err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
  }
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    const int e = errno;
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    throw std::runtime_error(std::string("pipe2: ") + std::strerror(e));
  }
  try {
    process_ = SpawnedProcess::start_with_fds(spec, out_pipe[1], err_pipe[1]);  // closes the write ends
  } catch (...) {
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    throw;
  }
  out_->write({{"type", "ready"}, {"id", id_}, {"info", {{"pid", process_->pid()}}}});
  stdout_pump_ = std::thread([this, fd = out_pipe[0]] { pump(fd, "stdout"); });
  stderr_pump_ = std::thread([this, fd = err_pipe[0]] { pump(fd, "stderr"); });
  watcher_ = std::thread([this] { watch(); });
}

AgentSpawn::~AgentSpawn() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    grace_ns_ = 0;
  }
  cv_.notify_all();
  watcher_.join();
}

void AgentSpawn::request_stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
}

bool AgentSpawn::wait_done(int64_t until_ns) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, std::chrono::nanoseconds(std::max<int64_t>(0, until_ns - monotonic_now_ns())),
                      [&] { return done_; });
}

void AgentSpawn::pump(int fd, const char* stream) {
  // Until EOF, which comes when the program's whole group has closed the
  // pipe; after the group is killed, at most kDrainMs more (a descendant
  // that left the group may still hold it).
  char buf[16384];
  bool draining = false;
  for (;;) {
    {
      std::lock_guard lock(mu_);
      draining = done_;
    }
    pollfd p{fd, POLLIN, 0};
    const int r = ::poll(&p, 1, draining ? kDrainMs : 100);
    if (r < 0 && errno == EINTR) {
      continue;
    }
    if (r == 0) {
      if (draining) {
        break;
      }
      continue;
    }
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    out_->write({{"type", "output"}, {"id", id_}, {"stream", stream}}, std::string_view(buf, static_cast<size_t>(n)));
  }
  ::close(fd);
}

void AgentSpawn::watch() {
  std::optional<int> status;
  std::unique_lock lock(mu_);
  while (!stop_ && !(status = process_->poll_exit())) {
    cv_.wait_for(lock, std::chrono::nanoseconds(kPollNs));
  }
  const int64_t grace = grace_ns_;
  lock.unlock();
  // Stopped, or its leader exited: what is left of its group goes too, as a
  // local spawn's would when its step ends.
  const int wait_status = process_->stop(status ? 0 : grace);
  lock.lock();
  done_ = true;
  lock.unlock();
  cv_.notify_all();
  stdout_pump_.join();
  stderr_pump_.join();
  out_->write({{"type", "record"}, {"id", id_}},
              nlohmann::json({{"pid", process_->pid()}, {"wait_status", wait_status}}).dump());
  out_->write({{"type", "result"}, {"id", id_}});
}

}  // namespace sonda
