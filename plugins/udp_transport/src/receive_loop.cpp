#include "receive_loop.hpp"

#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "sonda_common/net.hpp"

#ifndef UDP_GRO
#define UDP_GRO 104
#endif

namespace sonda::udp {
namespace {

constexpr size_t kBatch = 64;
constexpr size_t kSlotBytes = 65536;  // a GRO-coalesced buffer can be this big
constexpr int kPollMs = 50;

/// Reusable recvmmsg buffers.
struct RecvBuffers {
  std::vector<uint8_t> data = std::vector<uint8_t>(kBatch * kSlotBytes);
  std::vector<iovec> iov = std::vector<iovec>(kBatch);
  std::vector<mmsghdr> hdr = std::vector<mmsghdr>(kBatch);
  std::vector<sockaddr_storage> from = std::vector<sockaddr_storage>(kBatch);
  std::vector<uint8_t> cmsg = std::vector<uint8_t>(kBatch * CMSG_SPACE(sizeof(int)));

  void arm() {
    for (size_t i = 0; i < kBatch; ++i) {
      iov[i] = {data.data() + i * kSlotBytes, kSlotBytes};
      msghdr& m = hdr[i].msg_hdr;
      m = msghdr{};
      m.msg_name = &from[i];
      m.msg_namelen = sizeof(sockaddr_storage);
      m.msg_iov = &iov[i];
      m.msg_iovlen = 1;
      m.msg_control = cmsg.data() + i * CMSG_SPACE(sizeof(int));
      m.msg_controllen = CMSG_SPACE(sizeof(int));
    }
  }
};

/// The GRO segment size of a coalesced read, 0 when it holds one datagram.
size_t gro_segment_size(msghdr& m) {
  for (cmsghdr* c = CMSG_FIRSTHDR(&m); c != nullptr; c = CMSG_NXTHDR(&m, c)) {
    if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
      int size = 0;
      std::memcpy(&size, CMSG_DATA(c), sizeof size);
      return size > 0 ? static_cast<size_t>(size) : 0;
    }
  }
  return 0;
}

/// Accounts the `n` datagrams of one recvmmsg batch; the caller holds the
/// table lock.
void account_batch(ReceiveTable& table, RecvBuffers& bufs, int n, int64_t arrival) {
  for (int i = 0; i < n; ++i) {
    msghdr& m = bufs.hdr[i].msg_hdr;
    const size_t len = bufs.hdr[i].msg_len;
    const uint8_t* base = bufs.data.data() + static_cast<size_t>(i) * kSlotBytes;
    const size_t seg = gro_segment_size(m);
    if (seg == 0 || seg >= len) {
      table.on_datagram(bufs.from[i], base, len, arrival);
      continue;
    }
    for (size_t off = 0; off < len; off += seg) {
      table.on_datagram(bufs.from[i], base + off, std::min(seg, len - off), arrival);
    }
  }
}

/// Sends the batch back to where each datagram came from, reusing the
/// received buffers as the replies. Leaves the batch as recvmmsg left it
/// (lengths and control data), for account_batch after it.
void echo_batch(int fd, RecvBuffers& bufs, int n, ReceiveLoopStats& stats) {
  std::array<std::pair<void*, size_t>, kBatch> control;
  std::array<unsigned, kBatch> length;
  for (int i = 0; i < n; ++i) {
    msghdr& m = bufs.hdr[i].msg_hdr;
    control[i] = {m.msg_control, m.msg_controllen};
    length[i] = bufs.hdr[i].msg_len;
    bufs.iov[i].iov_len = bufs.hdr[i].msg_len;
    m.msg_control = nullptr;  // a received UDP_GRO message is not one to send
    m.msg_controllen = 0;
  }
  int done = 0;
  while (done < n) {
    const int s = ::sendmmsg(fd, bufs.hdr.data() + done, static_cast<unsigned>(n - done), 0);
    if (s <= 0) {
      stats.echo_errors += static_cast<uint64_t>(n - done);
      break;
    }
    done += s;
    stats.echoed += static_cast<uint64_t>(s);
  }
  for (int i = 0; i < n; ++i) {
    bufs.hdr[i].msg_hdr.msg_control = control[i].first;
    bufs.hdr[i].msg_hdr.msg_controllen = control[i].second;
    bufs.hdr[i].msg_len = length[i];
  }
}

}  // namespace

ReceiveLoopStats run_receive_loop(int fd, ReceiveTable& table, bool echo,
                                  const std::function<bool()>& should_stop,
                                  const std::function<void()>& on_tick) {
  ReceiveLoopStats stats;
  RecvBuffers bufs;
  int64_t last_tick = common::monotonic_ns();
  struct Batch {
    int n = 0;             ///< datagrams taken (0: the socket was empty, or a wait timed out)
    int64_t arrival = 0;   ///< when they were taken
  };
  // Takes one batch out of the socket (recvmmsg with `flags`), accounts it
  // and echoes it.
  auto take_batch = [&](int flags) -> Batch {
    bufs.arm();
    Batch b;
    {
      // The lock spans taking the batch out of the socket and accounting
      // it: a report that finds the socket queue empty under this lock
      // knows every datagram that was queued is in the table (none is in
      // flight between the two), so nothing still queued is called lost.
      std::lock_guard<std::mutex> lock(table.mutex());
      const int n = ::recvmmsg(fd, bufs.hdr.data(), kBatch, flags, nullptr);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNREFUSED) {
          return b;
        }
        common::throw_sys("recvmmsg", "udp receive socket", errno);
      }
      b = {n, common::monotonic_ns()};
      // Echoed before it is accounted: the flow table's work then overlaps
      // the reply's trip instead of delaying it (an RR client waits for
      // each reply: ~1 us of its round trip against a recvfrom/sendto echo).
      if (echo) {
        echo_batch(fd, bufs, b.n, stats);
      }
      account_batch(table, bufs, b.n, b.arrival);
    }
    ++stats.batches;
    return b;
  };
  // Reads until the socket is empty, or for at most one tick interval so a
  // flood cannot starve the ticks (or the final drain never end).
  auto drain = [&]() {
    for (;;) {
      const Batch b = take_batch(MSG_DONTWAIT);
      if (static_cast<size_t>(b.n) < kBatch || b.arrival - last_tick > kPollMs * 1'000'000LL) {
        return;
      }
    }
  };
  // An echo server answers one request at a time (an RR client waits for
  // each reply), so it waits for datagrams in recvmmsg itself
  // (MSG_WAITFORONE, bounded by SO_RCVTIMEO): recvmmsg + sendmmsg per
  // request, two system calls as sockperf's server makes, not three with a
  // poll() first. It holds the table lock while it waits, like every batch
  // (take_batch), so it does that only while no other thread reads the table.
  const timeval wait{kPollMs / 1000, (kPollMs % 1000) * 1000};
  const bool wait_in_recv = echo && ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait) == 0;
  while (!should_stop()) {
    if (wait_in_recv && !table.has_readers()) {
      const Batch b = take_batch(MSG_WAITFORONE);
      const int64_t now = b.n > 0 ? b.arrival : common::monotonic_ns();
      if (now - last_tick >= kPollMs * 1'000'000LL || b.n == 0) {
        last_tick = now;
        on_tick();
      }
      continue;
    }
    pollfd p{fd, POLLIN, 0};
    const int pr = ::poll(&p, 1, kPollMs);
    if (pr < 0 && errno != EINTR) {
      common::throw_sys("poll", "udp receive socket", errno);
    }
    if (pr > 0) {
      drain();
    }
    const int64_t now = common::monotonic_ns();
    if (now - last_tick >= kPollMs * 1'000'000LL || pr == 0) {
      last_tick = now;
      on_tick();
    }
  }
  // Datagrams that arrived before the stop still count.
  last_tick = common::monotonic_ns();
  drain();
  return stats;
}

}  // namespace sonda::udp
