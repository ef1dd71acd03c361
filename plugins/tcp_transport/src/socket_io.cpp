#include "socket_io.hpp"

#include <linux/tcp.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <cstdio>
#include <ctime>
#include <sonda/plugin.hpp>
#include <vector>

namespace sonda::tcp {

using common::throw_sys;

namespace {

void set_buffer(int fd, int opt, int force_opt, int64_t bytes, const char* what) {
  const int value = static_cast<int>(bytes);
  // SO_*BUFFORCE ignores net.core.[rw]mem_max (needs CAP_NET_ADMIN); without
  // it the kernel silently caps the request, which is still worth doing.
  if (::setsockopt(fd, SOL_SOCKET, force_opt, &value, sizeof value) == 0) {
    return;
  }
  common::set_opt(fd, SOL_SOCKET, opt, value, what);
}

timeval to_timeval(int64_t ns) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
  tv.tv_usec = static_cast<suseconds_t>((ns % 1'000'000'000) / 1000);
  if (tv.tv_sec == 0 && tv.tv_usec == 0) {
    tv.tv_usec = 1;
  }
  return tv;
}

size_t page_bytes() {
  static const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  return page;
}

}  // namespace

MappedReceiver::MappedReceiver(int fd, size_t window_bytes) : fd_(fd) {
  const size_t page = page_bytes();
  window_bytes_ = std::max(page, window_bytes / page * page);
  void* w = ::mmap(nullptr, window_bytes_, PROT_READ, MAP_SHARED, fd, 0);
  if (w == MAP_FAILED) {
    refused_ = std::string("mmap of the socket: ") + std::strerror(errno);
    return;
  }
  window_ = w;
  // One call with nothing asked of it: the kernel says at once whether it
  // knows TCP_ZEROCOPY_RECEIVE (ENOPROTOOPT, EINVAL before 4.18).
  tcp_zerocopy_receive zc{};
  zc.address = reinterpret_cast<uintptr_t>(window_);
  socklen_t len = sizeof zc;
  if (::getsockopt(fd_, IPPROTO_TCP, TCP_ZEROCOPY_RECEIVE, &zc, &len) != 0 &&
      (errno == ENOPROTOOPT || errno == EINVAL || errno == EOPNOTSUPP)) {
    refused_ = std::string("TCP_ZEROCOPY_RECEIVE: ") + std::strerror(errno);
  }
}

MmapReceive::MmapReceive(bool asked, int fd, const uint64_t& received, Done done)
    : received_(received), done_(asked ? std::move(done) : nullptr) {
  if (asked) {
    mapped_.emplace(fd, kMmapWindowBytes);
    if (!mapped_->usable()) {
      refused_ = mapped_->refused();
      mapped_.reset();
    }
  }
}

MmapReceive::~MmapReceive() {
  if (done_) {
    const uint64_t mapped = mapped_ ? mapped_->mapped_bytes() : 0;
    done_(mapped, received_ - mapped, refused_);
  }
}

MappedReceiver::~MappedReceiver() {
  if (window_ != nullptr) {
    ::munmap(window_, window_bytes_);
  }
}

ssize_t MappedReceiver::receive(char* buf, size_t buf_len, uint64_t max_bytes, int wait_ms) {
  const size_t page = page_bytes();
  const auto map_len = static_cast<uint32_t>(std::min<uint64_t>(window_bytes_, max_bytes / page * page));
  const size_t len = static_cast<size_t>(std::min<uint64_t>(buf_len, max_bytes));
  bool waited = false;
  for (;;) {
    uint32_t hint = 0;
    if (map_len > 0) {
      tcp_zerocopy_receive zc{};
      zc.address = reinterpret_cast<uintptr_t>(window_);
      zc.length = map_len;
      socklen_t zl = sizeof zc;
      if (::getsockopt(fd_, IPPROTO_TCP, TCP_ZEROCOPY_RECEIVE, &zc, &zl) != 0) {
        // EIO: nothing left and the peer has closed. recv() tells the end
        // of the stream (0) from a reset, and says which.
        if (errno != EIO) {
          return -1;
        }
        const ssize_t n = ::recv(fd_, buf, len, MSG_DONTWAIT);
        copied_ += n > 0 ? static_cast<uint64_t>(n) : 0;
        return n;
      }
      if (zc.err != 0) {
        errno = zc.err < 0 ? -zc.err : zc.err;
        return -1;
      }
      if (zc.length > 0) {
        mapped_ += zc.length;
        return static_cast<ssize_t>(zc.length);
      }
      hint = zc.recv_skip_hint;
    }
    // Copied: what the kernel would not map (its hint); or everything, when
    // less than a page is wanted, or when a wait found data it did not
    // offer to map.
    if (hint > 0 || map_len == 0 || waited) {
      const ssize_t n = ::recv(fd_, buf, hint > 0 ? std::min<size_t>(len, hint) : len, waited ? MSG_DONTWAIT : 0);
      if (n > 0) {
        copied_ += static_cast<uint64_t>(n);
      }
      if (n >= 0 || !waited || errno != EAGAIN) {
        return n;
      }
    }
    pollfd p{fd_, POLLIN, 0};
    const int r = ::poll(&p, 1, wait_ms);
    if (r < 0) {
      return -1;
    }
    if (r == 0) {
      errno = EAGAIN;
      return -1;
    }
    waited = true;
  }
}

void apply_tuning(int fd, const SocketTuning& t) {
  if (const int64_t bytes = t.send_buffer_bytes.value_or(0); bytes > 0) {
    set_buffer(fd, SO_SNDBUF, SO_SNDBUFFORCE, bytes, "SO_SNDBUF (send_buffer)");
  }
  if (const int64_t bytes = t.recv_buffer_bytes.value_or(0); bytes > 0) {
    set_buffer(fd, SO_RCVBUF, SO_RCVBUFFORCE, bytes, "SO_RCVBUF (recv_buffer)");
  }
  if (t.nodelay) {
    common::set_opt(fd, IPPROTO_TCP, TCP_NODELAY, 1, "TCP_NODELAY (nodelay)");
  }
  if (t.congestion && !t.congestion->empty()) {
    const std::string& name = *t.congestion;
    if (::setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name.data(), static_cast<socklen_t>(name.size())) != 0) {
      throw_sys("setsockopt", "TCP_CONGESTION '" + name + "' (congestion; see net.ipv4.tcp_available_congestion_control)",
                errno);
    }
  }
  if (t.mss_bytes > 0) {
    common::set_opt(fd, IPPROTO_TCP, TCP_MAXSEG, static_cast<int>(t.mss_bytes), "TCP_MAXSEG (mss)");
  }
}

void set_io_timeout(int fd, int64_t timeout_ns) {
  const timeval tv = to_timeval(timeout_ns);
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
      ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0) {
    throw_sys("setsockopt", "SO_RCVTIMEO/SO_SNDTIMEO", errno);
  }
}

common::Fd connect_to(const common::SockAddr& target, const std::string& target_text,
                      const SocketTuning& tuning, int64_t timeout_ns) {
  common::Fd fd(::socket(target.family(), SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP));
  if (!fd) {
    throw_sys("socket", "for " + target_text, errno);
  }
  // Buffer sizes and MSS must be set before connect() to shape the window
  // scale and the SYN's MSS option.
  apply_tuning(fd.get(), tuning);
  // A blocking connect() honours SO_SNDTIMEO and fails with EINPROGRESS when
  // it expires.
  set_io_timeout(fd.get(), timeout_ns);
  if (::connect(fd.get(), target.get(), target.len) != 0) {
    const int err = errno == EINPROGRESS ? ETIMEDOUT : errno;
    throw_sys("connect", "to " + target_text, err);
  }
  return fd;
}

namespace {

/// Writes all of `data` into `fd` from offset 0; false (errno set) when it
/// cannot (a full or read-only filesystem).
bool write_payload(int fd, const char* data, size_t size) {
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pwrite(fd, data + done, size - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      errno = n < 0 ? errno : ENOSPC;
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

PayloadFile payload_file(const char* data, size_t size, const std::string& what) {
  // An unnamed file in a disk filesystem first (nothing to clean up: it
  // goes with its descriptor), then memory. A directory that will not take
  // the whole payload (full, read-only, no O_TMPFILE) passes to the next.
  std::vector<std::string> dirs;
  if (const char* t = ::getenv("TMPDIR"); t != nullptr && *t != '\0') {
    dirs.emplace_back(t);
  }
  dirs.emplace_back("/var/tmp");
  dirs.emplace_back("/tmp");
  for (const std::string& dir : dirs) {
    PayloadFile out{common::Fd(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)), "O_TMPFILE in " + dir};
    if (out.fd && write_payload(out.fd.get(), data, size)) {
      return out;
    }
  }
  PayloadFile out{common::Fd(::memfd_create("sonda-stream-payload", MFD_CLOEXEC)), "memfd"};
  if (!out.fd) {
    throw_sys("memfd_create", "for sendfile to " + what, errno);
  }
  if (!write_payload(out.fd.get(), data, size)) {
    throw_sys("write", "the sendfile payload for " + what + " (memfd)", errno);
  }
  return out;
}

ssize_t send_file_prefix(int fd, int file, size_t len) {
  // sendfile() has no MSG_NOSIGNAL: to a peer that has gone it raises
  // SIGPIPE, which would end the whole process (the agent, or a test). The
  // signal is blocked for the call, and the one it raised is taken back.
  sigset_t pipe;
  sigset_t old;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  ::pthread_sigmask(SIG_BLOCK, &pipe, &old);
  off_t from = 0;
  const ssize_t n = ::sendfile(fd, file, &from, len);
  const int err = errno;
  // The signal can come with a short count as well as with EPIPE (sent
  // bytes first, then the peer's reset): whenever less than asked went out.
  sigset_t pending;
  if ((n < 0 || static_cast<size_t>(n) < len) && sigismember(&old, SIGPIPE) == 0 && ::sigpending(&pending) == 0 &&
      sigismember(&pending, SIGPIPE) == 1) {
    const timespec now{};
    ::sigtimedwait(&pipe, nullptr, &now);
  }
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = err;
  return n;
}

void send_all(int fd, const void* buf, size_t len, const std::string& peer) {
  const char* p = static_cast<const char*>(buf);
  while (len > 0) {
    const ssize_t n = ::send(fd, p, len, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw_sys("send", "to " + peer, errno == EAGAIN ? ETIMEDOUT : errno);
    }
    p += n;
    len -= static_cast<size_t>(n);
  }
}

bool recv_exact(int fd, void* buf, size_t len, const std::string& peer, int64_t stall_ns) {
  char* p = static_cast<char*>(buf);
  size_t got = 0;
  int64_t last_progress_ns = common::monotonic_ns();
  while (got < len) {
    const ssize_t n = ::recv(fd, p + got, len - got, 0);
    if (n > 0) {
      got += static_cast<size_t>(n);
      last_progress_ns = common::monotonic_ns();
      continue;
    }
    if (n == 0) {
      if (got == 0) {
        return false;
      }
      throw StepError("recv from " + peer + ": connection closed mid-message (" + std::to_string(got) + " of " +
                          std::to_string(len) + " bytes)",
                      "reset");
    }
    if (errno == EINTR) {
      continue;
    }
    if ((errno == EAGAIN || errno == EWOULDBLOCK) && common::monotonic_ns() - last_progress_ns < stall_ns) {
      continue;
    }
    throw_sys("recv", "from " + peer, errno == EAGAIN ? ETIMEDOUT : errno);
  }
  return true;
}

nlohmann::json TcpInfoSnapshot::to_json() const {
  return {{"retransmits", total_retransmits},
          {"rtt_ns", rtt_ns},
          {"rttvar_ns", rttvar_ns},
          {"snd_cwnd_segments", snd_cwnd_segments},
          {"snd_mss_bytes", snd_mss_bytes},
          {"pacing_rate_bits_per_sec", pacing_rate_bits_per_sec},
          {"bytes_acked", bytes_acked},
          {"bytes_received", bytes_received}};
}

TcpInfoSnapshot read_tcp_info(int fd) {
  TcpInfoSnapshot s;
  tcp_info info{};
  socklen_t len = sizeof info;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) {
    return s;
  }
  s.valid = true;
  s.total_retransmits = info.tcpi_total_retrans;
  s.rtt_ns = static_cast<uint64_t>(info.tcpi_rtt) * 1000;
  s.rttvar_ns = static_cast<uint64_t>(info.tcpi_rttvar) * 1000;
  s.snd_cwnd_segments = info.tcpi_snd_cwnd;
  s.snd_mss_bytes = info.tcpi_snd_mss;
  // tcpi_pacing_rate is bytes per second; ~0 means "no pacing".
  s.pacing_rate_bits_per_sec = info.tcpi_pacing_rate == ~0ULL ? 0 : info.tcpi_pacing_rate * 8;
  s.bytes_acked = info.tcpi_bytes_acked;
  s.bytes_received = info.tcpi_bytes_received;
  return s;
}

int64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::string format_bits_per_sec(double bps) {
  char buf[64];
  if (bps >= 1e9) {
    std::snprintf(buf, sizeof buf, "%.2f Gbit/s", bps / 1e9);
  } else if (bps >= 1e6) {
    std::snprintf(buf, sizeof buf, "%.2f Mbit/s", bps / 1e6);
  } else {
    std::snprintf(buf, sizeof buf, "%.0f kbit/s", bps / 1e3);
  }
  return buf;
}

}  // namespace sonda::tcp
