// `server`: a thread per connection, blocking I/O. A thread per connection
// keeps the receive path of a stream on its own core with nothing but recv()
// in the loop; crr pays a thread creation per connection (reported by crr).
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <list>
#include <mutex>
#include <set>
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
  common::Fd fd(::socket(addr.family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_TCP));
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

struct Connection {
  std::thread thread;
  std::atomic<bool> done{false};
};

}  // namespace

json run_server(const json& params, Context& ctx) {
  const ServerOptions o = parse_server_options(params);
  common::SockAddr bound;
  common::Fd listener = open_listener(o, bound);
  const std::string listen_text = bound.to_string();

  ServerCounters counters;
  LiveSockets live;
  std::list<Connection> connections;
  ctx.ready({{"listen", listen_text}, {"port", bound.port()}, {"mode", o.mode}});
  ctx.info("tcp server listening on " + listen_text + " (" + o.mode + ")");

  const int64_t started_ns = common::monotonic_ns();
  while (!ctx.should_stop()) {
    pollfd pfd{listener.get(), POLLIN, 0};
    // 50 ms bounds how long a stop request waits; an arriving connection
    // wakes poll() at once.
    if (::poll(&pfd, 1, 50) < 0 && errno != EINTR) {
      common::throw_sys("poll", "listener " + listen_text, errno);
    }
    for (;;) {
      common::SockAddr peer;
      peer.len = sizeof peer.storage;
      const int cfd = ::accept4(listener.get(), peer.get(), &peer.len, SOCK_CLOEXEC);
      if (cfd < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
          break;
        }
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          counters.note_error(common::errno_text("accept4", errno) + " on " + listen_text);
          break;
        }
        // ECONNABORTED and friends: that client is gone, keep serving.
        continue;
      }
      counters.connections.fetch_add(1, std::memory_order_relaxed);
      Connection& c = connections.emplace_back();
      c.thread = std::thread([&o, &counters, &live, &c, cfd, peer] {
        serve_connection(common::Fd(cfd), peer.to_string(), o, counters, live);
        c.done.store(true, std::memory_order_release);
      });
    }
    // Reap finished connections so a long crr run does not pile up threads.
    for (auto it = connections.begin(); it != connections.end();) {
      if (it->done.load(std::memory_order_acquire)) {
        it->thread.join();
        it = connections.erase(it);
      } else {
        ++it;
      }
    }
  }
  listener.reset();
  live.shutdown_all();
  for (Connection& c : connections) {
    c.thread.join();
  }

  const double served_s = static_cast<double>(common::monotonic_ns() - started_ns) / 1e9;
  json record = counters.to_json();
  record["listen"] = listen_text;
  record["port"] = bound.port();
  record["mode"] = o.mode;
  record["served_ns"] = common::monotonic_ns() - started_ns;
  record["recv_trunc"] = o.recv_trunc;
  record["summary"] = "server " + listen_text + " (" + o.mode + "): " +
                      std::to_string(record["connections"].get<uint64_t>()) + " connections, " +
                      std::to_string(record["bytes_in"].get<uint64_t>()) + " bytes in, " +
                      std::to_string(record["bytes_out"].get<uint64_t>()) + " bytes out in " +
                      std::to_string(static_cast<int64_t>(served_s * 10) / 10.0).substr(0, 6) + " s";
  return record;
}

}  // namespace sonda::tcp
