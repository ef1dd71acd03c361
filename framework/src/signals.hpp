// SIGINT/SIGTERM without doing work in a signal handler: the signals are
// blocked in every thread and a watcher thread takes them from a signalfd,
// then calls the runner (stop every step) and, on the second signal, kills
// the spawned children at once.
#pragma once

#include <functional>

namespace sonda {

/// Installs the handlers and starts the watcher while alive (RAII). One at a
/// time per process. The constructing thread blocks SIGINT/SIGTERM until
/// destruction, so create it before the threads of the run: they inherit the
/// mask. (A thread started earlier still reaches the watcher, through a
/// self-pipe handler.) `on_signal(count)` runs on the watcher thread with the
/// number of signals received so far (1 = first Ctrl-C).
class SignalWatcher {
 public:
  explicit SignalWatcher(std::function<void(int count)> on_signal);
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

  /// Signals received so far (thread-safe).
  int count() const;
};

}  // namespace sonda
