#include "stream_worker.hpp"

#include <linux/errqueue.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <sonda/plugin.hpp>

namespace sonda::tcp {
namespace {

[[noreturn]] void stalled(const char* call, const std::string& target, int64_t timeout_ns) {
  throw StepError(std::string(call) + " " + target + ": no progress for " + std::to_string(timeout_ns / 1'000'000) +
                      " ms",
                  "timeout");
}

/// Reads the MSG_ZEROCOPY completion notifications queued on the socket's
/// error queue, waiting up to `wait_ms` for the first (0: what is there).
void reap_zerocopy(StreamConnection& s, int wait_ms) {
  for (;;) {
    if (wait_ms > 0) {
      pollfd p{s.fd.get(), 0, 0};  // POLLERR is always reported
      ::poll(&p, 1, wait_ms);
      wait_ms = 0;
    }
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(sock_extended_err) + sizeof(sockaddr_in6))];
    msghdr msg{};
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    if (::recvmsg(s.fd.get(), &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) {
      return;  // EAGAIN: nothing (more) queued
    }
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      const bool recverr = (c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) ||
                           (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR);
      if (!recverr) {
        continue;
      }
      sock_extended_err err{};
      std::memcpy(&err, CMSG_DATA(c), sizeof err);
      if (err.ee_origin != SO_EE_ORIGIN_ZEROCOPY || err.ee_errno != 0) {
        continue;
      }
      // One notification covers the sends numbered ee_info..ee_data (a
      // 32-bit counter that wraps).
      const uint64_t count = static_cast<uint64_t>(static_cast<uint32_t>(err.ee_data - err.ee_info)) + 1;
      s.zc_completed += count;
      if ((err.ee_code & SO_EE_CODE_ZEROCOPY_COPIED) != 0) {
        s.zc_copied += count;
      }
    }
  }
}

void send_loop(StreamConnection& s, const StreamOptions& o, int64_t end_ns, const std::atomic<bool>& stop) {
  std::vector<char> buf(static_cast<size_t>(o.message_bytes));
  for (size_t i = 0; i < buf.size(); ++i) {
    buf[i] = static_cast<char>(i * 131 + 7);
  }
  const PayloadFile file =
      uses_sendfile(o.sendfile, o.message_bytes, o.zerocopy) ? payload_file(buf.data(), buf.size(), s.target_text)
                                                             : PayloadFile{};
  s.payload_where = file.where;
  int send_flags = MSG_NOSIGNAL;
  if (o.zerocopy) {
    const int one = 1;
    if (::setsockopt(s.fd.get(), SOL_SOCKET, SO_ZEROCOPY, &one, sizeof one) != 0) {
      common::throw_sys("setsockopt(SO_ZEROCOPY)", "on the connection to " + s.target_text, errno);
    }
    // The buffer is never written again, so a send needs no wait for the
    // kernel to release the previous one's pages.
    send_flags |= MSG_ZEROCOPY;
  }
  uint64_t sent = 0;
  int64_t progress_ns = common::monotonic_ns();
  // The receiver's reports come back on this socket. They are read here,
  // between sends, by the thread that holds the socket: read by another
  // thread, whose recv() needs the socket lock that this thread holds for
  // most of each send, they cost ~1800 sleeps on that lock a second and a
  // third thread on the two cores of a loopback stream (README, "Where the
  // time goes"). A peer that is no sonda server (an echo server) is read
  // after every send, so its copy of our bytes never stalls it.
  int64_t next_drain_ns = progress_ns;
  // Without the hello nothing tells a sonda server from another peer: what
  // comes back is read and discarded after every send, like an echo
  // server's copy of our bytes with the hello on.
  s.foreign_peer = s.foreign_peer || !o.handshake;
  const auto drain = [&](int64_t now) {
    if (!s.final_report && (s.foreign_peer || now >= next_drain_ns)) {
      s.drain_reports(0);
      next_drain_ns = now + kReportDrainNs;
    }
  };
  for (;;) {
    if (stop.load(std::memory_order_relaxed)) {
      break;
    }
    size_t len = buf.size();
    if (s.quota_bytes != 0) {
      if (sent >= s.quota_bytes) {
        break;
      }
      len = static_cast<size_t>(std::min<uint64_t>(len, s.quota_bytes - sent));
    } else if (common::monotonic_ns() >= end_ns) {
      break;
    }
    const ssize_t n = file.fd ? send_file_prefix(s.fd.get(), file.fd.get(), len)
                           : ::send(s.fd.get(), buf.data(), len, send_flags);
    if (n > 0) {
      sent += static_cast<uint64_t>(n);
      s.bytes.store(sent, std::memory_order_relaxed);
      progress_ns = common::monotonic_ns();
      if (o.zerocopy) {
        ++s.zc_sends;
        reap_zerocopy(s, 0);
      }
      drain(progress_ns);
      continue;
    }
    if (errno == EINTR) {
      continue;
    }
    if (errno == ENOBUFS && o.zerocopy) {
      reap_zerocopy(s, 10);  // too many notifications unread (optmem): read them
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      // SO_SNDTIMEO woke us to look at the clock, the stop flag and the
      // peer (an echo server waits for us to read before it reads on).
      const int64_t now = common::monotonic_ns();
      if (now - progress_ns > o.timeout_ns) {
        stalled("send to", s.target_text, o.timeout_ns);
      }
      drain(now);
      continue;
    }
    common::throw_sys(file.fd ? "sendfile" : "send", "to " + s.target_text, errno);
  }
  s.last_byte_ns = common::monotonic_ns();
  // EOF tells a sonda server to send its final report.
  ::shutdown(s.fd.get(), SHUT_WR);
  if (o.zerocopy) {
    // The kernel may still hold the buffer's pages: it is freed only once
    // every send is released (or the stall timeout has passed).
    const int64_t give_up_ns = common::monotonic_ns() + o.timeout_ns;
    while (s.zc_completed < s.zc_sends && common::monotonic_ns() < give_up_ns) {
      reap_zerocopy(s, 20);
    }
  }
}

void recv_loop(StreamConnection& s, const StreamOptions& o, int64_t end_ns, const std::atomic<bool>& stop) {
  std::vector<char> buf(static_cast<size_t>(o.recv_bytes));
  const int flags = o.recv_trunc ? MSG_TRUNC : 0;
  uint64_t got = 0;
  MmapReceive mmap(o.recv_mmap, s.fd.get(), got, [&s](uint64_t mapped, uint64_t copied, const std::string& refused) {
    s.mmap_mapped = mapped;
    s.mmap_copied = copied;
    s.mmap_refused = refused;
  });
  MappedReceiver* const mapped = mmap.receiver();
  int64_t progress_ns = common::monotonic_ns();
  for (;;) {
    if (stop.load(std::memory_order_relaxed)) {
      break;
    }
    size_t len = buf.size();
    if (s.quota_bytes != 0) {
      if (got >= s.quota_bytes) {
        break;
      }
      len = static_cast<size_t>(std::min<uint64_t>(len, s.quota_bytes - got));
    } else if (progress_ns >= end_ns) {
      break;
    }
    const ssize_t n =
        mapped != nullptr ? mapped->receive(buf.data(), buf.size(), s.quota_bytes != 0 ? s.quota_bytes - got : UINT64_MAX,
                                 static_cast<int>(kStreamWakeNs / 1'000'000))
               : ::recv(s.fd.get(), buf.data(), len, flags);
    if (n > 0) {
      got += static_cast<uint64_t>(n);
      s.bytes.store(got, std::memory_order_relaxed);
      progress_ns = common::monotonic_ns();
      if (s.first_byte_ns == 0) {
        s.first_byte_ns = progress_ns;
      }
      s.last_byte_ns = progress_ns;
      continue;
    }
    if (n == 0) {
      throw StepError("recv from " + s.target_text + ": server closed the stream after " + std::to_string(got) +
                          " bytes",
                      "reset");
    }
    if (errno == EINTR) {
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      const int64_t now = common::monotonic_ns();
      if (now - progress_ns > o.timeout_ns) {
        stalled("recv from", s.target_text, o.timeout_ns);
      }
      if (s.quota_bytes == 0 && now >= end_ns) {
        break;
      }
      continue;
    }
    common::throw_sys("recv", "from " + s.target_text, errno);
  }
  s.tcp_info = read_tcp_info(s.fd.get());
  // The server sends until we go: closing with unread data resets the
  // connection, which is how a source session ends.
  ::shutdown(s.fd.get(), SHUT_RDWR);
}

}  // namespace

void StreamConnection::run(const StreamOptions& o, int64_t end_ns, const std::atomic<bool>& stop) {
  const int64_t cpu_start_ns = thread_cpu_ns();
  try {
    if (forward) {
      send_loop(*this, o, end_ns, stop);
    } else {
      recv_loop(*this, o, end_ns, stop);
    }
  } catch (...) {
    error = std::current_exception();
  }
  cpu_ns = thread_cpu_ns() - cpu_start_ns;
}

void StreamConnection::drain_reports(int64_t wait_ns) {
  const int64_t give_up_ns = common::monotonic_ns() + wait_ns;
  if (wait_ns == 0) {
    // tcp_poll() looks at the queue without the socket lock, which recv()
    // would take from the sender even to find nothing.
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) {
      return;
    }
  }
  // Reports are 40 bytes, but an echo server returns everything we send.
  char buf[64 * 1024];
  while (!final_report) {
    const int flags = wait_ns == 0 ? MSG_DONTWAIT : 0;
    const ssize_t n = ::recv(fd.get(), buf, sizeof buf, flags);
    if (n > 0 && foreign_peer) {
      foreign_bytes += static_cast<uint64_t>(n);
      continue;
    }
    if (n > 0) {
      report_bytes.insert(report_bytes.end(), buf, buf + n);
      size_t off = 0;
      while (report_bytes.size() - off >= wire::kReportBytes) {
        wire::Report r;
        if (!wire::decode(report_bytes.data() + off, r)) {
          if (!have_report) {
            // Not a sonda server: typically an echo server sending our own
            // bytes back. Keep reading them so it never stalls.
            foreign_peer = true;
            foreign_bytes += report_bytes.size() - off;
            report_bytes.clear();
            off = 0;
            break;
          }
          throw StepError("stream " + target_text + ": peer sent bytes that are not a sonda report", "protocol");
        }
        latest_report = r;
        have_report = true;
        final_report = r.final;
        reported_bytes.store(r.bytes, std::memory_order_relaxed);
        reported.store(true, std::memory_order_release);
        off += wire::kReportBytes;
      }
      report_bytes.erase(report_bytes.begin(), report_bytes.begin() + static_cast<ptrdiff_t>(off));
      continue;
    }
    if (n == 0) {
      return;  // closed without a final report
    }
    if (errno == EINTR) {
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (wait_ns == 0 || common::monotonic_ns() >= give_up_ns) {
        return;
      }
      continue;
    }
    common::throw_sys("recv", "report from " + target_text, errno);
  }
}

}  // namespace sonda::tcp
