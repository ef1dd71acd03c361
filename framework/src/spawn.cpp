#include "spawn.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "step_task.hpp"

extern char** environ;

namespace sonda {

namespace {

std::mutex g_live_mu;
std::set<pid_t> g_live_groups;

void track(pid_t pgid) {
  std::lock_guard lock(g_live_mu);
  g_live_groups.insert(pgid);
}

void untrack(pid_t pgid) {
  std::lock_guard lock(g_live_mu);
  g_live_groups.erase(pgid);
}

std::string sys_error(const std::string& call) { return call + ": " + std::strerror(errno); }

/// Opens an output file for the child, close-on-exec in the parent.
/// `mode`: O_TRUNC or O_APPEND.
int open_output(const std::string& path, int mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | mode | O_CLOEXEC, 0644);
  if (fd < 0) {
    throw std::runtime_error(sys_error("open(" + path + ")"));
  }
  return fd;
}

/// Best effort at process exit: a normal exit path that skipped stop().
void kill_all_at_exit() { SpawnedProcess::kill_all_now(); }

}  // namespace

std::unique_ptr<SpawnedProcess> SpawnedProcess::start(const SpawnSpec& spec, const std::string& stdout_path,
                                                      const std::string& stderr_path) {
  const int out_fd = open_output(stdout_path, O_TRUNC);
  int err_fd;
  try {
    err_fd = open_output(stderr_path, O_TRUNC);
  } catch (...) {
    ::close(out_fd);
    throw;
  }
  return launch(spec, -1, out_fd, err_fd);
}

std::unique_ptr<SpawnedProcess> SpawnedProcess::start_with_fds(const SpawnSpec& spec, int out_fd, int err_fd) {
  return launch(spec, -1, out_fd, err_fd);
}

std::unique_ptr<SpawnedProcess> SpawnedProcess::start_with_stdio(const SpawnSpec& spec, int stdio_fd,
                                                                 const std::string& stderr_path) {
  static const bool registered = [] { return std::atexit(&kill_all_at_exit) == 0; }();
  (void)registered;
  if (spec.argv.empty()) {
    throw std::runtime_error("spawn: empty command");
  }
  // posix_spawn (clone with CLONE_VM|CLONE_VFORK in glibc): no copy of the
  // runner's page tables, which fork() pays for on every step. Same child
  // set-up as launch(): own group, default signals, empty mask.
  const int err_fd = stderr_path.empty() ? -1 : open_output(stderr_path, O_APPEND);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, stdio_fd, 0);
  posix_spawn_file_actions_adddup2(&actions, stdio_fd, 1);
  if (err_fd >= 0) {
    posix_spawn_file_actions_adddup2(&actions, err_fd, 2);
  }
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGPIPE);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  std::vector<char*> argv;
  for (const auto& a : spec.argv) {
    argv.push_back(const_cast<char*>(a.c_str()));
  }
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (err_fd >= 0) {
    ::close(err_fd);
  }
  if (rc != 0) {
    throw std::runtime_error("spawn " + spec.argv[0] + ": posix_spawnp: " + std::strerror(rc));
  }
  track(pid);
  return std::unique_ptr<SpawnedProcess>(new SpawnedProcess(pid));
}

std::unique_ptr<SpawnedProcess> SpawnedProcess::adopt(pid_t pid) {
  static const bool registered = [] { return std::atexit(&kill_all_at_exit) == 0; }();
  (void)registered;
  track(pid);
  return std::unique_ptr<SpawnedProcess>(new SpawnedProcess(pid));
}

std::unique_ptr<SpawnedProcess> SpawnedProcess::launch(const SpawnSpec& spec, int in_fd, int out_fd,
                                                       int err_fd) {
  static const bool registered = [] { return std::atexit(&kill_all_at_exit) == 0; }();
  (void)registered;
  auto close_fds = [&] {
    for (int fd : {in_fd, out_fd, err_fd}) {
      if (fd >= 0) {
        ::close(fd);
      }
    }
  };
  if (spec.argv.empty()) {
    close_fds();
    throw std::runtime_error("spawn: empty command");
  }
  // Everything the child needs is built before fork(): after fork() in a
  // threaded process only async-signal-safe calls are allowed.
  std::vector<char*> argv;
  for (const auto& a : spec.argv) {
    argv.push_back(const_cast<char*>(a.c_str()));
  }
  argv.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    const std::string key = entry.substr(0, entry.find('='));
    if (spec.env.count(key) == 0) {
      env_strings.push_back(entry);
    }
  }
  for (const auto& [k, v] : spec.env) {
    env_strings.push_back(k + "=" + v);
  }
  std::vector<char*> envp;
  for (auto& e : env_strings) {
    envp.push_back(e.data());
  }
  envp.push_back(nullptr);

  int exec_pipe[2];
  if (pipe2(exec_pipe, O_CLOEXEC) != 0) {
    const std::string why = sys_error("pipe2");
    close_fds();
    throw std::runtime_error(why);
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    const std::string why = sys_error("fork");
    close_fds();
    ::close(exec_pipe[0]);
    ::close(exec_pipe[1]);
    throw std::runtime_error(why);
  }
  if (pid == 0) {
    // Child: own group (so stop() reaches grandchildren), die with the host
    // as a last resort, default signal dispositions, then exec.
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) {
      _exit(127);
    }
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    const int dev_null = in_fd >= 0 ? in_fd : ::open("/dev/null", O_RDONLY);
    if (dev_null >= 0) {
      dup2(dev_null, 0);
    }
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    // {stage, errno}: stage 1 = chdir, 2 = exec.
    int failure[2] = {1, 0};
    if (!spec.cwd.empty() && chdir(spec.cwd.c_str()) != 0) {
      failure[1] = errno;
    } else {
      execvpe(argv[0], argv.data(), envp.data());
      failure[0] = 2;
      failure[1] = errno;
    }
    ssize_t ignored = write(exec_pipe[1], failure, sizeof failure);
    (void)ignored;
    _exit(127);
  }
  // Parent: set the group here too, so a kill right after start reaches it.
  setpgid(pid, pid);
  track(pid);
  close_fds();
  ::close(exec_pipe[1]);
  // The pipe closes on a successful exec; data means chdir or exec failed.
  int failure[2] = {0, 0};
  ssize_t n;
  do {
    n = read(exec_pipe[0], failure, sizeof failure);
  } while (n < 0 && errno == EINTR);
  ::close(exec_pipe[0]);
  auto proc = std::unique_ptr<SpawnedProcess>(new SpawnedProcess(pid));
  if (n == static_cast<ssize_t>(sizeof failure)) {
    proc->stop(0);
    throw std::runtime_error(failure[0] == 1 ? "spawn " + spec.argv[0] + ": chdir(" + spec.cwd +
                                                   "): " + std::strerror(failure[1])
                                             : "spawn " + spec.argv[0] + ": execvp: " +
                                                   std::strerror(failure[1]));
  }
  return proc;
}

SpawnedProcess::~SpawnedProcess() { stop(0); }

std::optional<int> SpawnedProcess::poll_exit() {
  if (status_) {
    return status_;
  }
  int status = 0;
  const pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    status_ = status;
    // The leader is gone; its group may still hold children. stop() kills it.
  }
  return status_;
}

int SpawnedProcess::stop(int64_t grace_ns) {
  const bool group_alive = ::kill(-pid_, 0) == 0;
  if (status_ && !group_alive) {
    untrack(pid_);
    return *status_;
  }
  if (!status_) {
    ::kill(-pid_, SIGTERM);
    const int64_t until = monotonic_now_ns() + grace_ns;
    while (!poll_exit() && monotonic_now_ns() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  // Whatever is left of the group (the leader, or grandchildren it left).
  ::kill(-pid_, SIGKILL);
  if (!status_) {
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    status_ = status;
  }
  untrack(pid_);
  return *status_;
}

void SpawnedProcess::kill_all_now() {
  std::lock_guard lock(g_live_mu);
  for (pid_t pgid : g_live_groups) {
    ::kill(-pgid, SIGKILL);
  }
}

std::string SpawnedProcess::describe_status(int wait_status) {
  if (WIFEXITED(wait_status)) {
    return "exited with status " + std::to_string(WEXITSTATUS(wait_status));
  }
  if (WIFSIGNALED(wait_status)) {
    const int sig = WTERMSIG(wait_status);
    return "killed by signal " + std::to_string(sig) + " (" + strsignal(sig) + ")";
  }
  return "wait status " + std::to_string(wait_status);
}

std::string tail_lines(const std::string& path, size_t max_lines) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return "";
  }
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  const std::streamoff from = size > 4096 ? size - 4096 : 0;
  in.seekg(from);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
    text.pop_back();
  }
  size_t pos = text.size();
  for (size_t lines = 0; lines < max_lines && pos != std::string::npos && pos > 0; ++lines) {
    pos = text.rfind('\n', pos - 1);
  }
  return pos == std::string::npos || pos == 0 ? text : text.substr(pos + 1);
}

}  // namespace sonda
