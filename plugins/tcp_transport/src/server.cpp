// `server`: a thread per connection, blocking I/O. A thread per connection
// keeps the receive path of a stream on its own core with nothing but recv()
// in the loop; threads are reused across connections (see AcceptorPool).
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <list>
#include <mutex>
#include <chrono>
#include <thread>

#include "actions.hpp"
#include "connection_handler.hpp"
#include "options.hpp"
#include "socket_io.hpp"

namespace sonda::tcp {
namespace {

/// Binds and listens; EADDRINUSE becomes kind "addr_in_use" with the port
/// so the runner can ask proc_scanner who holds it.
common::Fd open_listener(const ServerOptions& o, common::SockAddr& bound) {
  const common::SockAddr addr = common::resolve_endpoint(o.listen, SOCK_STREAM);
  common::Fd fd(::socket(addr.family(), SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP));
  if (!fd) {
    common::throw_sys("socket", "for listen " + o.listen, errno);
  }
  common::set_opt(fd.get(), SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
  // Accepted sockets inherit buffer sizes from the listener, and the window
  // scale is fixed at the handshake, so tune before listen().
  apply_tuning(fd.get(), o.tuning);
  try {
    if (::bind(fd.get(), addr.get(), addr.len) != 0) {
      common::throw_sys("bind", addr.to_string(), errno);
    }
    if (::listen(fd.get(), o.backlog) != 0) {
      common::throw_sys("listen", addr.to_string(), errno);
    }
  } catch (const StepError& e) {
    json details = e.details();
    details["port"] = addr.port();
    details["protocol"] = "tcp";
    details["address"] = addr.to_string();
    throw StepError(e.what(), e.kind(), details);
  }
  bound.len = sizeof bound.storage;
  if (::getsockname(fd.get(), bound.get(), &bound.len) != 0) {
    common::throw_sys("getsockname", o.listen, errno);
  }
  return fd;
}

/// Threads that block in accept() on the shared listener and serve the
/// connection they get themselves: no hand-off between an acceptor and a
/// worker, and no thread creation per connection once warm (crr). A worker
/// that takes the last idle slot starts a spare, so there is always a thread
/// in accept() whatever the number of long-lived streams.
class AcceptorPool {
 public:
  AcceptorPool(int listen_fd, std::string listen_text, const ServerOptions& o, ServerCounters& c, LiveSockets& l)
      : listen_fd_(listen_fd), listen_text_(std::move(listen_text)), o_(o), counters_(c), live_(l) {}

  void start() { spawn(); }

  /// Wakes every thread blocked in accept() (shutdown() on a listening
  /// socket makes accept() fail with EINVAL), ends live connections, joins.
  void stop() {
    stopping_.store(true);
    ::shutdown(listen_fd_, SHUT_RDWR);
    live_.shutdown_all();
    std::list<std::thread> threads;
    {
      std::lock_guard<std::mutex> lock(mu_);
      threads.swap(threads_);
    }
    for (std::thread& t : threads) {
      t.join();
    }
  }

 private:
  void spawn() {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_.load()) {
      return;
    }
    idle_.fetch_add(1);
    threads_.emplace_back([this] { run(); });
  }

  void run() {
    for (;;) {
      common::SockAddr peer;
      peer.len = sizeof peer.storage;
      const int fd = ::accept4(listen_fd_, peer.get(), &peer.len, SOCK_CLOEXEC);
      if (stopping_.load()) {
        if (fd >= 0) {
          ::close(fd);
        }
        return;
      }
      if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          counters_.note_error(common::errno_text("accept4", errno) + " on " + listen_text_);
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        continue;  // EINTR, ECONNABORTED: that client is gone, keep serving
      }
      if (idle_.fetch_sub(1) == 1) {
        spawn();
      }
      counters_.connections.fetch_add(1, std::memory_order_relaxed);
      serve_connection(common::Fd(fd), peer.to_string(), o_, counters_, live_);
      idle_.fetch_add(1);
    }
  }

  int listen_fd_;
  std::string listen_text_;
  const ServerOptions& o_;
  ServerCounters& counters_;
  LiveSockets& live_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> idle_{0};
  std::mutex mu_;
  std::list<std::thread> threads_;
};

}  // namespace

json serve(const ServerOptions& o, Context& ctx) {
  common::SockAddr bound;
  common::Fd listener = open_listener(o, bound);
  const std::string listen_text = bound.to_string();

  ServerCounters counters;
  LiveSockets live;
  AcceptorPool pool(listener.get(), listen_text, o, counters, live);
  const int64_t started_ns = common::monotonic_ns();
  pool.start();
  ctx.ready({{"listen", listen_text}, {"port", bound.port()}, {"mode", o.mode}});
  ctx.info("tcp server listening on " + listen_text + " (" + o.mode + ")");
  while (!ctx.should_stop()) {
    // 20 ms bounds how long a stop request waits.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  pool.stop();
  listener.reset();

  const double served_s = static_cast<double>(common::monotonic_ns() - started_ns) / 1e9;
  json record = counters.to_json();
  record["listen"] = listen_text;
  record["port"] = bound.port();
  record["mode"] = o.mode;
  record["served_ns"] = common::monotonic_ns() - started_ns;
  record["recv_trunc"] = o.recv_trunc;
  // null: unset, 64 KiB or 256 KiB per client (kSendfileRecvBytes).
  record["recv_size_bytes"] = o.recv_bytes ? json(*o.recv_bytes) : json(nullptr);
  record["summary"] = "server " + listen_text + " (" + o.mode + "): " +
                      std::to_string(record["connections"].get<uint64_t>()) + " connections, " +
                      std::to_string(record["bytes_in"].get<uint64_t>()) + " bytes in, " +
                      std::to_string(record["bytes_out"].get<uint64_t>()) + " bytes out in " +
                      std::to_string(static_cast<int64_t>(served_s * 10) / 10.0).substr(0, 6) + " s";
  return record;
}

}  // namespace sonda::tcp
