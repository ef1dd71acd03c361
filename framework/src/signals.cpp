#include "signals.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
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

/// Async-signal-safe: one write(2), errno preserved.
void on_signal_raw(int sig) {
  const int saved = errno;
  const char byte = static_cast<char>(sig);
  ssize_t ignored = write(g_pipe[1], &byte, 1);
  (void)ignored;
  errno = saved;
}

}  // namespace

SignalWatcher::SignalWatcher(std::function<void(int count)> on_signal) {
  if (pipe2(g_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
  }
  g_count = 0;
  // Only the watcher thread takes SIGINT/SIGTERM: this thread blocks them
  // before starting it, and every thread the runner starts later inherits
  // the mask. The kernel then delivers to the watcher, which sits in read(2).
  // Otherwise the signal may land on any thread; a sanitizer (TSan) defers a
  // handler until that thread leaves a call it does not count as blocking,
  // which for a thread parked in a 60 s step meant a Ctrl-C seen only at the
  // end of the run. Spawned programs and agents get an empty mask (spawn.cpp).
  const sigset_t set = stop_signals();
  pthread_sigmask(SIG_BLOCK, &set, &g_old_mask);
  g_watcher = std::thread([cb = std::move(on_signal), set] {
    pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
    char byte = 0;
    for (;;) {
      const ssize_t n = read(g_pipe[0], &byte, 1);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0 || byte == 0) {
        return;  // 0 = shutdown request from the destructor
      }
      const int count = ++g_count;
      cb(count);
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
  // Unblock first, while our handler is still installed: a signal that came
  // in meanwhile still goes through the pipe.
  pthread_sigmask(SIG_SETMASK, &g_old_mask, nullptr);
  sigaction(SIGINT, &g_old_int, nullptr);
  sigaction(SIGTERM, &g_old_term, nullptr);
  const char stop = 0;
  ssize_t ignored = write(g_pipe[1], &stop, 1);
  (void)ignored;
  if (g_watcher.joinable()) {
    g_watcher.join();
  }
  close(g_pipe[0]);
  close(g_pipe[1]);
  g_pipe[0] = g_pipe[1] = -1;
}

int SignalWatcher::count() const { return g_count.load(); }

}  // namespace sonda
