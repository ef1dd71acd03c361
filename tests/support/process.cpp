#include "process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace sonda::testing {
namespace {

[[noreturn]] void throw_errno(const std::string& call) {
  throw std::runtime_error(call + ": " + std::strerror(errno));
}

int exit_code_of(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

/// fork + execvp with stdout (and stderr when `err` is given) on pipes. In
/// the child: own process group, stdin from `in` when >= 0.
pid_t spawn(const std::vector<std::string>& argv, int out[2], int err[2], int in[2]) {
  std::vector<char*> args;
  for (const std::string& a : argv) {
    args.push_back(const_cast<char*>(a.c_str()));
  }
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    throw_errno("fork()");
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    ::dup2(out[1], STDOUT_FILENO);
    if (err != nullptr) {
      ::dup2(err[1], STDERR_FILENO);
    }
    if (in != nullptr) {
      ::dup2(in[0], STDIN_FILENO);
    }
    ::execvp(args[0], args.data());
    ::dprintf(STDERR_FILENO, "cannot start %s: %s\n", args[0], std::strerror(errno));
    ::_exit(127);
  }
  return pid;
}

}  // namespace

CommandResult run_command(const std::string& command) {
  int out[2];
  int err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
    throw_errno("pipe2()");
  }
  const pid_t pid = spawn({"/bin/sh", "-c", command}, out, err, nullptr);
  ::close(out[1]);
  ::close(err[1]);
  CommandResult r;
  // Both pipes at once: a command filling one while we block on the other
  // would never finish.
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  std::string* sinks[2] = {&r.out, &r.err};
  int open_fds = 2;
  while (open_fds > 0) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) {
        continue;
      }
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) {
        continue;
      }
      char buf[4096];
      const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.exit_code = exit_code_of(status);
  return r;
}

std::string check_command(const std::string& command) {
  CommandResult r = run_command(command);
  if (r.exit_code != 0) {
    throw std::runtime_error("`" + command + "` exited " + std::to_string(r.exit_code) + ": " + r.err);
  }
  return std::move(r.out);
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv) {
  int out[2];
  int in[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(in, O_CLOEXEC) != 0) {
    throw_errno("pipe2()");
  }
  pid_ = spawn(argv, out, nullptr, in);
  group_ = pid_;
  ::close(out[1]);
  ::close(in[0]);
  stdout_fd_ = out[0];
  stdin_fd_ = in[1];
}

ChildProcess::~ChildProcess() { stop(); }

void ChildProcess::stop() {
  if (group_ > 0) {
    ::kill(-group_, SIGKILL);  // the group: grandchildren too
    group_ = -1;
  }
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
  for (int* fd : {&stdout_fd_, &stdin_fd_}) {
    if (*fd >= 0) {
      ::close(*fd);
      *fd = -1;
    }
  }
}

std::optional<int> ChildProcess::wait(int timeout_ms) {
  if (pid_ <= 0) {
    return std::nullopt;
  }
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return exit_code_of(status);
    }
    if (std::chrono::steady_clock::now() >= until) {
      return std::nullopt;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

std::string ChildProcess::read_line(int timeout_ms) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    const auto nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return line;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    pollfd p{stdout_fd_, POLLIN, 0};
    if (stdout_fd_ < 0 || left.count() < 0 || ::poll(&p, 1, static_cast<int>(left.count())) != 1) {
      return "";
    }
    char buf[512];
    const ssize_t n = ::read(stdout_fd_, buf, sizeof buf);
    if (n <= 0) {
      return "";
    }
    buffer_.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace sonda::testing
