#include "signals.hpp"

#include <fcntl.h>
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
  g_watcher = std::thread([cb = std::move(on_signal)] {
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
