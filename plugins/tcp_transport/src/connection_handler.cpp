#include "connection_handler.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <sonda/plugin.hpp>

#include "socket_io.hpp"
#include "wire.hpp"

namespace sonda::tcp {
namespace {

/// How long a connection whose first bytes look like the start of a Hello may
/// take to send the rest, and how long a source server waits for a Hello
/// before it starts sending. Clients send the hello right after connect().
constexpr int kHelloWaitMs = 200;

bool wait_readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) > 0;
}

bool is_peer_gone(int err) { return err == ECONNRESET || err == EPIPE; }

/// One connection's work; throws StepError on failure, caught by
/// serve_connection.
class ConnectionSession {
 public:
  ConnectionSession(int fd, const std::string& peer, const ServerOptions& o, ServerCounters& c)
      : fd_(fd), peer_(peer), o_(o), c_(c) {}

  void run() {
    std::vector<char> prefix;
    wire::Hello hello;
    if (read_hello(prefix, hello)) {
      switch (hello.op) {
        case wire::Op::kSink:
          c_.sink_sessions.fetch_add(1, std::memory_order_relaxed);
          return sink(prefix, hello.report_interval_ms, true, (hello.flags & wire::kFlagRecvTrunc) != 0,
                      (hello.flags & wire::kFlagRecvMmap) != 0, (hello.flags & wire::kFlagSendfile) != 0);
        case wire::Op::kSource:
          c_.source_sessions.fetch_add(1, std::memory_order_relaxed);
          return source((hello.flags & wire::kFlagSendfile) != 0);
        case wire::Op::kRr:
          c_.rr_sessions.fetch_add(1, std::memory_order_relaxed);
          return request_response(prefix, hello.request_bytes, hello.response_bytes);
      }
    }
    c_.plain_connections.fetch_add(1, std::memory_order_relaxed);
    if (o_.mode == "sink") {
      return sink(prefix, 0, false, o_.recv_trunc, o_.recv_mmap, false);
    }
    if (o_.mode == "source") {
      c_.bytes_in.fetch_add(prefix.size(), std::memory_order_relaxed);
      return source(uses_sendfile(o_.sendfile, o_.message_bytes));
    }
    return echo(prefix);
  }

 private:
  /// Reads the first bytes of the connection. True when they start with a
  /// Hello (decoded into `hello`); `rest` then holds what followed it,
  /// else every byte read, which all belong to the payload. The first read
  /// takes whatever has arrived, so an echoed request is not split.
  bool read_hello(std::vector<char>& rest, wire::Hello& hello) {
    rest.resize(64 * 1024);
    size_t have = 0;
    if (o_.mode == "source" && !wait_readable(fd_, kHelloWaitMs)) {
      rest.clear();
      return false;
    }
    for (;;) {
      const ssize_t n = ::recv(fd_, rest.data() + have, rest.size() - have, 0);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        break;  // EOF or error: the mode's loop sees it again and reports it.
      }
      have += static_cast<size_t>(n);
      if (std::memcmp(rest.data(), wire::kHelloMagic.data(), std::min<size_t>(have, 8)) != 0 ||
          have >= wire::kHelloBytes || !wait_readable(fd_, kHelloWaitMs)) {
        break;
      }
    }
    rest.resize(have);
    if (have >= wire::kHelloBytes && wire::decode(rest.data(), hello)) {
      rest.erase(rest.begin(), rest.begin() + wire::kHelloBytes);
      return true;
    }
    return false;
  }

  void send_report(const wire::Report& r) {
    const auto b = wire::encode(r);
    send_all(fd_, b.data(), b.size(), peer_);
  }

  void sink(const std::vector<char>& prefix, uint32_t report_interval_ms, bool session, bool recv_trunc,
            bool recv_mmap, bool sendfile_sender) {
    if (sendfile_sender) {
      c_.sendfile_clients.fetch_add(1, std::memory_order_relaxed);
    }
    const int64_t size = o_.recv_bytes.value_or(sendfile_sender ? kSendfileRecvBytes : kDefaultRecvBytes);
    std::vector<char> buf(static_cast<size_t>(size));
    const int flags = recv_trunc && !recv_mmap ? MSG_TRUNC : 0;
    uint64_t bytes = prefix.size();
    MmapReceive mmap(recv_mmap, fd_, bytes, [this](uint64_t mapped, uint64_t copied, const std::string& refused) {
      c_.mmap_sessions.fetch_add(1, std::memory_order_relaxed);
      c_.mmap_mapped_bytes.fetch_add(mapped, std::memory_order_relaxed);
      c_.mmap_copied_bytes.fetch_add(copied, std::memory_order_relaxed);
      if (!refused.empty()) {
        c_.note_mmap_refused(refused);
      }
    });
    MappedReceiver* const mapped = mmap.receiver();
    const int64_t cpu_start_ns = thread_cpu_ns();
    const int64_t report_every_ns = static_cast<int64_t>(report_interval_ms) * 1'000'000;
    // Payload that arrived with the hello starts the clock and the reports.
    int64_t first_ns = bytes > 0 ? common::monotonic_ns() : 0;
    int64_t next_report_ns = (first_ns != 0 && report_every_ns > 0) ? first_ns + report_every_ns : INT64_MAX;
    wire::Report report;
    for (;;) {
      const ssize_t n = mapped != nullptr ? mapped->receive(buf.data(), buf.size(), UINT64_MAX, -1)
                               : ::recv(fd_, buf.data(), buf.size(), flags);
      if (n > 0) {
        bytes += static_cast<uint64_t>(n);
        const int64_t now = common::monotonic_ns();
        if (first_ns == 0) {
          first_ns = now;
          next_report_ns = report_every_ns > 0 ? now + report_every_ns : INT64_MAX;
        }
        if (now >= next_report_ns) {
          report.elapsed_ns = static_cast<uint64_t>(now - first_ns);
          report.bytes = bytes;
          report.cpu_ns = static_cast<uint64_t>(thread_cpu_ns() - cpu_start_ns);
          send_report(report);
          ++report.seq;
          next_report_ns += report_every_ns;
          if (next_report_ns <= now) {
            next_report_ns = now + report_every_ns;
          }
        }
        continue;
      }
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n < 0) {
        c_.bytes_in.fetch_add(bytes, std::memory_order_relaxed);
        common::throw_sys("recv", "from " + peer_, errno);
      }
      break;
    }
    c_.bytes_in.fetch_add(bytes, std::memory_order_relaxed);
    if (session) {
      report.final = true;
      report.elapsed_ns = first_ns == 0 ? 0 : static_cast<uint64_t>(common::monotonic_ns() - first_ns);
      report.bytes = bytes;
      report.cpu_ns = static_cast<uint64_t>(thread_cpu_ns() - cpu_start_ns);
      send_report(report);
    }
  }

  void source(bool sendfile) {
    std::vector<char> buf(static_cast<size_t>(o_.message_bytes), 'x');
    const PayloadFile file = sendfile ? payload_file(buf.data(), buf.size(), peer_) : PayloadFile{};
    if (sendfile) {
      c_.sendfile_connections.fetch_add(1, std::memory_order_relaxed);
    }
    uint64_t bytes = 0;
    for (;;) {
      const ssize_t n = file.fd ? send_file_prefix(fd_, file.fd.get(), buf.size())
                             : ::send(fd_, buf.data(), buf.size(), MSG_NOSIGNAL);
      if (n > 0) {
        bytes += static_cast<uint64_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) {
        continue;
      }
      break;  // The client closing (EPIPE/ECONNRESET) is how a source session ends.
    }
    c_.bytes_out.fetch_add(bytes, std::memory_order_relaxed);
  }

  void echo(const std::vector<char>& prefix) {
    c_.bytes_in.fetch_add(prefix.size(), std::memory_order_relaxed);
    if (!prefix.empty()) {
      send_all(fd_, prefix.data(), prefix.size(), peer_);
      c_.bytes_out.fetch_add(prefix.size(), std::memory_order_relaxed);
    }
    std::vector<char> buf(std::min<size_t>(static_cast<size_t>(o_.message_bytes), 64 * 1024));
    for (;;) {
      const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
      if (n == 0) {
        return;
      }
      if (n < 0) {
        if (errno == EINTR) {
          continue;
        }
        common::throw_sys("recv", "from " + peer_, errno);
      }
      c_.bytes_in.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
      send_all(fd_, buf.data(), static_cast<size_t>(n), peer_);
      c_.bytes_out.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
    }
  }

  void request_response(const std::vector<char>& early, uint32_t request_bytes, uint32_t response_bytes) {
    if (request_bytes == 0) {
      throw StepError("rr session from " + peer_ + ": request size 0 in hello", "protocol");
    }
    std::vector<char> request(request_bytes);
    std::vector<char> response(response_bytes, 'r');
    // Requests that arrived with the hello (a pipelining client): answer
    // the complete ones, keep the partial one's length.
    size_t pending = early.size();
    while (pending >= request_bytes) {
      pending -= request_bytes;
      c_.bytes_in.fetch_add(request_bytes, std::memory_order_relaxed);
      send_all(fd_, response.data(), response.size(), peer_);
      c_.bytes_out.fetch_add(response_bytes, std::memory_order_relaxed);
    }
    if (pending > 0 && !recv_exact(fd_, request.data(), request_bytes - pending, peer_, INT64_MAX)) {
      throw StepError("rr session from " + peer_ + ": closed mid-request", "reset");
    }
    if (pending > 0) {
      c_.bytes_in.fetch_add(request_bytes, std::memory_order_relaxed);
      send_all(fd_, response.data(), response.size(), peer_);
      c_.bytes_out.fetch_add(response_bytes, std::memory_order_relaxed);
    }
    // No stall limit here: a client may pause between requests (rate).
    while (recv_exact(fd_, request.data(), request.size(), peer_, INT64_MAX)) {
      c_.bytes_in.fetch_add(request_bytes, std::memory_order_relaxed);
      send_all(fd_, response.data(), response.size(), peer_);
      c_.bytes_out.fetch_add(response_bytes, std::memory_order_relaxed);
    }
  }

  int fd_;
  const std::string& peer_;
  const ServerOptions& o_;
  ServerCounters& c_;
};

}  // namespace

void ServerCounters::note_error(const std::string& message) {
  std::lock_guard<std::mutex> lock(mu_);
  ++error_count_;
  if (first_errors_.size() < 5) {
    first_errors_.push_back(message);
  }
}

void ServerCounters::note_mmap_refused(const std::string& why) {
  std::lock_guard<std::mutex> lock(mu_);
  if (mmap_refused_.empty()) {
    mmap_refused_ = why;
  }
}

nlohmann::json ServerCounters::to_json() const {
  std::lock_guard<std::mutex> lock(mu_);
  nlohmann::json j = {{"connections", connections.load()},
          {"bytes_in", bytes_in.load()},
          {"bytes_out", bytes_out.load()},
          {"sessions",
           {{"sink", sink_sessions.load()},
            {"source", source_sessions.load()},
            {"rr", rr_sessions.load()},
            {"plain", plain_connections.load()}}},
          {"resets", resets.load()},
          {"sendfile_connections", sendfile_connections.load()},
          {"sendfile_clients", sendfile_clients.load()},
          {"connection_errors", error_count_},
          {"first_errors", first_errors_}};
  if (mmap_sessions.load() > 0) {
    j["mmap_receive"] = {{"sessions", mmap_sessions.load()},
                         {"mapped_bytes", mmap_mapped_bytes.load()},
                         {"copied_bytes", mmap_copied_bytes.load()},
                         {"refused", mmap_refused_.empty() ? nlohmann::json(nullptr) : nlohmann::json(mmap_refused_)}};
  }
  return j;
}

bool LiveSockets::add(int fd) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) {
    return false;
  }
  fds_.insert(fd);
  return true;
}

void LiveSockets::remove(int fd) {
  std::lock_guard<std::mutex> lock(mu_);
  fds_.erase(fd);
}

void LiveSockets::shutdown_all() {
  std::lock_guard<std::mutex> lock(mu_);
  stopping_ = true;
  for (int fd : fds_) {
    ::shutdown(fd, SHUT_RDWR);
  }
}

void serve_connection(common::Fd fd, const std::string& peer, const ServerOptions& options,
                      ServerCounters& counters, LiveSockets& live) {
  if (!live.add(fd.get())) {
    return;
  }
  try {
    ConnectionSession(fd.get(), peer, options, counters).run();
  } catch (const StepError& e) {
    if (e.details().contains("error") && e.details()["error"].contains("errno") &&
        is_peer_gone(e.details()["error"]["errno"].get<int>())) {
      counters.resets.fetch_add(1, std::memory_order_relaxed);
    } else {
      counters.note_error(e.what());
    }
  } catch (const std::exception& e) {
    counters.note_error(std::string("connection from ") + peer + ": " + e.what());
  }
  // Remove before the Fd closes so shutdown_all() never touches a reused fd.
  live.remove(fd.get());
}

}  // namespace sonda::tcp
