#include "signals.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>

namespace sonda {

namespace {

int g_pipe[2] = {-1, -1};
int g_sigfd = -1;
std::atomic<int> g_count{0};
std::thread g_watcher;
struct sigaction g_old_int {};
struct sigaction g_old_term {};
sigset_t g_old_mask;

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

/// Async-signal-safe: one write(2), errno preserved. Only reached by a thread
/// that does not block the signals (one started before the watcher).
void on_signal_raw(int sig) {
  const int saved = errno;
  const char byte = static_cast<char>(sig);
  ssize_t ignored = write(g_pipe[1], &byte, 1);
  (void)ignored;
  errno = saved;
}

}  // namespace

SignalWatcher::SignalWatcher(std::function<void(int count)> on_signal) {
  // SIGINT/SIGTERM are blocked in this thread and so in every thread started
  // after it (the mask is inherited); the watcher takes them from a signalfd.
  // No handler runs on an arbitrary thread: under TSan a handler is deferred
  // until its thread leaves a call TSan does not count as blocking (read(2) on
  // an agent's socket, for a whole 60 s step), and the Ctrl-C came too late.
  // The handler below only catches signals delivered to a thread that was
  // already running with them unblocked. Spawned programs and agents get an
  // empty mask and default dispositions (spawn.cpp).
  const sigset_t set = stop_signals();
  pthread_sigmask(SIG_BLOCK, &set, &g_old_mask);
  if (pipe2(g_pipe, O_CLOEXEC) != 0) {
    const std::string why = std::string("pipe2: ") + std::strerror(errno);
    pthread_sigmask(SIG_SETMASK, &g_old_mask, nullptr);
    throw std::runtime_error(why);
  }
  g_sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (g_sigfd < 0) {
    const std::string why = std::string("signalfd: ") + std::strerror(errno);
    close(g_pipe[0]);
    close(g_pipe[1]);
    pthread_sigmask(SIG_SETMASK, &g_old_mask, nullptr);
    throw std::runtime_error(why);
  }
  g_count = 0;
  g_watcher = std::thread([cb = std::move(on_signal)] {
    for (;;) {
      pollfd fds[2] = {{g_sigfd, POLLIN, 0}, {g_pipe[0], POLLIN, 0}};
      if (poll(fds, 2, -1) < 0) {
        if (errno == EINTR) {
          continue;
        }
        return;
      }
      if ((fds[0].revents & POLLIN) != 0) {
        signalfd_siginfo info{};
        while (read(g_sigfd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
          cb(++g_count);
        }
      }
      if ((fds[1].revents & (POLLIN | POLLHUP)) != 0) {
        char byte = 0;
        const ssize_t n = read(g_pipe[0], &byte, 1);
        if (n < 0 && errno == EINTR) {
          continue;
        }
        if (n <= 0 || byte == 0) {
          return;  // 0 = shutdown request from the destructor
        }
        cb(++g_count);
      }
    }
  });
  struct sigaction sa {};
  sa.sa_handler = &on_signal_raw;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, &g_old_int);
  sigaction(SIGTERM, &sa, &g_old_term);
}

SignalWatcher::~SignalWatcher() {
  const char stop = 0;
  ssize_t ignored = write(g_pipe[1], &stop, 1);
  (void)ignored;
  if (g_watcher.joinable()) {
    g_watcher.join();
  }
  // A signal still pending goes to the old disposition once unblocked, as it
  // would have without the watcher.
  sigaction(SIGINT, &g_old_int, nullptr);
  sigaction(SIGTERM, &g_old_term, nullptr);
  pthread_sigmask(SIG_SETMASK, &g_old_mask, nullptr);
  close(g_sigfd);
  close(g_pipe[0]);
  close(g_pipe[1]);
  g_sigfd = g_pipe[0] = g_pipe[1] = -1;
}

int SignalWatcher::count() const { return g_count.load(); }

}  // namespace sonda
