#include "agent_zygote.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "commands.hpp"
#include "logging.hpp"

#if defined(__SANITIZE_THREAD__)
#define SONDA_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SONDA_TSAN 1
#endif
#endif

namespace sonda {

namespace {

std::mutex g_zygote_mu;
std::shared_ptr<AgentZygote> g_zygote;

/// The zygote's end of the control socket, moved here before it closes the
/// rest of the runner's descriptors.
constexpr int kControlFd = 3;

[[maybe_unused]] int count_threads() {
  DIR* d = opendir("/proc/self/task");
  if (d == nullptr) return -1;
  int n = 0;
  while (const dirent* e = readdir(d)) {
    n += e->d_name[0] != '.' ? 1 : 0;
  }
  closedir(d);
  return n;
}

void default_signals() {
  for (int sig : {SIGINT, SIGTERM, SIGPIPE, SIGCHLD, SIGHUP, SIGQUIT}) {
    signal(sig, SIG_DFL);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

char* g_argv_begin = nullptr;
char* g_argv_end = nullptr;

/// Rewrites the argument area in place (as nginx and PostgreSQL retitle
/// their workers) to "<argv[0]>\0agent\0", so ps, ss -p and sonda's own
/// proc_scanner show what the process is. Left alone when it does not fit.
void retitle_as_agent() {
  if (g_argv_begin == nullptr) return;
  const size_t room = static_cast<size_t>(g_argv_end - g_argv_begin);
  const size_t argv0 = std::strlen(g_argv_begin);
  static const char kAgent[] = "agent";
  if (argv0 + 1 + sizeof kAgent > room) return;
  std::memset(g_argv_begin + argv0 + 1, 0, room - argv0 - 1);
  std::memcpy(g_argv_begin + argv0 + 1, kAgent, sizeof kAgent);
}

/// The runner's registry, as start() was given it: every agent forked from
/// this image (the first, and the zygote's) has these plugins loaded.
const Registry* g_inherited_plugins = nullptr;

/// The agent: the same code `sonda agent` runs, on the channel it was given.
[[noreturn]] void become_agent(int channel_fd, int err_fd) {
  setpgid(0, 0);
  retitle_as_agent();
  default_signals();
  dup2(channel_fd, 0);
  dup2(channel_fd, 1);
  if (err_fd >= 0) {
    dup2(err_fd, 2);
  }
  // Nothing else of the runner's (or the zygote's) stays open in an agent.
  close_range(3, ~0U, 0);
  init_logging(0);  // what `sonda agent` without -v/-q logs
  AgentCommand cmd;
  cmd.inherited = g_inherited_plugins;
  _exit(agent_command(cmd));
}

/// One request: an agent on the descriptors received. Replies its pid, or
/// minus the errno of what failed.
void serve_one(int channel_fd, int err_fd) {
  int32_t reply = 0;
  int pid_pipe[2];
  if (pipe2(pid_pipe, O_CLOEXEC) != 0) {
    reply = -errno;
  } else {
    const pid_t middle = fork();
    if (middle == 0) {
      // Forks the agent and exits, so the agent is orphaned to the runner
      // (its child subreaper) before the zygote replies.
      ::close(pid_pipe[0]);
      const pid_t agent = fork();
      if (agent == 0) {
        ::close(pid_pipe[1]);
        become_agent(channel_fd, err_fd);
      }
      const int32_t got = agent > 0 ? agent : -errno;
      if (agent > 0) setpgid(agent, agent);  // before anyone can signal its group
      (void)!::write(pid_pipe[1], &got, sizeof got);
      _exit(0);
    }
    ::close(pid_pipe[1]);
    if (middle < 0) {
      reply = -errno;
    } else {
      int32_t got = -EPIPE;
      if (::read(pid_pipe[0], &got, sizeof got) != sizeof got) got = -EPIPE;
      while (waitpid(middle, nullptr, 0) < 0 && errno == EINTR) {
      }
      reply = got;
    }
    ::close(pid_pipe[0]);
  }
  ::close(channel_fd);
  if (err_fd >= 0) ::close(err_fd);
  (void)!::send(kControlFd, &reply, sizeof reply, MSG_NOSIGNAL);
}

[[maybe_unused]] [[noreturn]] void zygote_main(int control_fd, pid_t runner) {
  setpgid(0, 0);  // a terminal's Ctrl-C is for the runner to handle
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != runner) _exit(0);
  default_signals();
  if (control_fd != kControlFd) {
    dup2(control_fd, kControlFd);
  }
  close_range(kControlFd + 1, ~0U, 0);
  // Nobody reads what the zygote itself prints; agents get their own fd 2.
  const int dev_null = ::open("/dev/null", O_RDWR);
  if (dev_null >= 0) {
    dup2(dev_null, 0);
    dup2(dev_null, 1);
    if (dev_null > 2) ::close(dev_null);
  }
  for (;;) {
    char byte = 0;
    iovec iov{&byte, 1};
    alignas(cmsghdr) char control[CMSG_SPACE(2 * sizeof(int))];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t n = recvmsg(kControlFd, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) _exit(0);  // the runner is gone or done
    int fds[2] = {-1, -1};
    size_t got = 0;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
        got = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        std::memcpy(fds, CMSG_DATA(c), std::min(got, size_t{2}) * sizeof(int));
      }
    }
    if (got == 0 || fds[0] < 0) {
      const int32_t reply = -EINVAL;
      (void)!::send(kControlFd, &reply, sizeof reply, MSG_NOSIGNAL);
      continue;
    }
    serve_one(fds[0], byte == 'e' ? fds[1] : -1);
  }
}

}  // namespace

std::shared_ptr<AgentZygote> AgentZygote::start(size_t planned_runs, std::string& why,
                                                const Registry* plugins) {
  g_inherited_plugins = plugins;
  const char* mode = std::getenv("SONDA_AGENT_START");
  if (mode != nullptr && std::strcmp(mode, "exec") == 0) {
    why = "SONDA_AGENT_START=exec";
    return nullptr;
  }
#ifdef SONDA_TSAN
  (void)planned_runs;
  why = "a ThreadSanitizer build";
  return nullptr;
#else
  if (planned_runs == 0) {
    why = "the scenario has no local action run";
    return nullptr;
  }
  const int threads = count_threads();
  if (threads != 1) {
    why = "the process has " + std::to_string(threads) + " threads already";
    return nullptr;
  }
  std::shared_ptr<AgentZygote> z(new AgentZygote());
  // The first agent: forked from this process directly, now, so it is
  // ready by the time the first step wants it (one fork, no round trip
  // through the zygote, no middle process).
  int first[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, first) != 0) {
    why = std::string("socketpair: ") + std::strerror(errno);
    return nullptr;
  }
  const pid_t agent = fork();
  if (agent < 0) {
    why = std::string("fork: ") + std::strerror(errno);
    ::close(first[0]);
    ::close(first[1]);
    return nullptr;
  }
  if (agent == 0) {
    become_agent(first[1], -1);
  }
  setpgid(agent, agent);  // before anyone can signal its group
  ::close(first[1]);
  z->first_pid_ = agent;
  z->first_fd_ = first[0];
  if (planned_runs == 1) {
    return z;  // nothing will ask for a second agent: no zygote
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    why = std::string("socketpair: ") + std::strerror(errno);
    return z;  // later agents are exec'd
  }
  // Agents are orphaned to us by the zygote: we wait for them and read
  // their exit status as if we had spawned them.
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
    why = std::string("prctl(PR_SET_CHILD_SUBREAPER): ") + std::strerror(errno);
    ::close(sv[0]);
    ::close(sv[1]);
    return z;
  }
  const pid_t runner = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    why = std::string("fork: ") + std::strerror(errno);
    ::close(sv[0]);
    ::close(sv[1]);
    return z;
  }
  if (pid == 0) {
    ::close(sv[0]);
    zygote_main(sv[1], runner);
  }
  ::close(sv[1]);
  z->pid_ = pid;
  z->fd_ = sv[0];
  return z;
#endif
}

bool AgentZygote::take_first(pid_t& pid, int& fd) {
  std::lock_guard lock(mu_);
  if (first_pid_ <= 0) return false;
  pid = std::exchange(first_pid_, -1);
  fd = std::exchange(first_fd_, -1);
  return true;
}

AgentZygote::~AgentZygote() {
  // An unused first agent and the zygote both exit when their input ends.
  for (auto [pid, fd] : {std::pair{first_pid_, first_fd_}, std::pair{pid_, fd_}}) {
    if (pid <= 0) continue;
    ::close(fd);
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
}

pid_t AgentZygote::fork_agent(int channel_fd, int err_fd) {
  if (pid_ <= 0) {
    throw std::runtime_error("agent zygote: not started (one local run was planned)");
  }
  char byte = err_fd >= 0 ? 'e' : 'a';
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(2 * sizeof(int))] = {};
  const int fds[2] = {channel_fd, err_fd};
  const size_t count = err_fd >= 0 ? 2 : 1;
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = CMSG_SPACE(count * sizeof(int));
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(count * sizeof(int));
  std::memcpy(CMSG_DATA(c), fds, count * sizeof(int));
  std::lock_guard lock(mu_);
  ssize_t n;
  do {
    n = sendmsg(fd_, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n != 1) {
    throw std::runtime_error(std::string("agent zygote: sendmsg: ") + std::strerror(errno));
  }
  int32_t reply = 0;
  do {
    n = ::recv(fd_, &reply, sizeof reply, 0);
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(sizeof reply)) {
    throw std::runtime_error(n == 0 ? "agent zygote: it exited" : std::string("agent zygote: recv: ") + std::strerror(errno));
  }
  if (reply <= 0) {
    throw std::runtime_error(std::string("agent zygote: fork: ") + std::strerror(-reply));
  }
  return static_cast<pid_t>(reply);
}

void remember_argv(int argc, char** argv) {
  if (argc < 1 || argv == nullptr || argv[0] == nullptr) return;
  // The arguments are one contiguous area, each followed by its NUL.
  char* end = argv[0] + std::strlen(argv[0]) + 1;
  for (int i = 1; i < argc; ++i) {
    if (argv[i] != end) return;  // not contiguous: leave the title alone
    end = argv[i] + std::strlen(argv[i]) + 1;
  }
  g_argv_begin = argv[0];
  g_argv_end = end;
}

void set_agent_zygote(std::shared_ptr<AgentZygote> zygote) {
  std::lock_guard lock(g_zygote_mu);
  g_zygote = std::move(zygote);
}

std::shared_ptr<AgentZygote> agent_zygote() {
  std::lock_guard lock(g_zygote_mu);
  return g_zygote;
}

}  // namespace sonda
