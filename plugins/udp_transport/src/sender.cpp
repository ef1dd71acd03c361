#include "sender.hpp"

#include "clock_sync.hpp"

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <vector>

#include "sonda_common/net.hpp"
#include "wire_header.hpp"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

namespace sonda::udp {
namespace {

constexpr size_t kPlainBatch = 64;     // datagrams per sendmmsg without GSO
constexpr size_t kGsoMessages = 8;     // GSO messages per sendmmsg
constexpr size_t kGsoMaxSegments = 64; // UDP_MAX_SEGMENTS on older kernels
constexpr size_t kGsoMaxBytes = 65000; // below the 65507-byte UDP payload limit

void sleep_until(int64_t t_ns) {
  timespec ts{static_cast<time_t>(t_ns / 1'000'000'000), static_cast<long>(t_ns % 1'000'000'000)};
  while (::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

/// Prebuilt messages for one sendmmsg call.
class SendBatch {
 public:
  SendBatch(uint64_t payload_bytes, bool gso)
      : payload_(payload_bytes),
        segs_per_msg_(gso ? std::max<size_t>(1, std::min(kGsoMaxSegments, kGsoMaxBytes / payload_bytes)) : 1),
        msgs_(gso ? kGsoMessages : kPlainBatch),
        buf_(msgs_ * segs_per_msg_ * payload_bytes, 0),
        iov_(msgs_),
        hdrs_(msgs_),
        cmsg_(msgs_ * CMSG_SPACE(sizeof(uint16_t)), 0) {}

  size_t capacity() const { return msgs_ * segs_per_msg_; }

  /// Fills `n` datagrams starting at `seq`; returns how many messages.
  size_t fill(uint32_t flow, uint64_t seq, size_t n, int64_t now_ns) {
    WireHeader h{flow, seq, now_ns};
    size_t msgs = 0;
    for (size_t done = 0; done < n; ++msgs) {
      const size_t segs = std::min(segs_per_msg_, n - done);
      uint8_t* base = buf_.data() + msgs * segs_per_msg_ * payload_;
      for (size_t s = 0; s < segs; ++s) {
        h.seq = seq + done + s;
        write_header(h, base + s * payload_);
      }
      iov_[msgs] = {base, segs * payload_};
      msghdr& m = hdrs_[msgs].msg_hdr;
      m = msghdr{};
      m.msg_iov = &iov_[msgs];
      m.msg_iovlen = 1;
      if (segs > 1) {
        char* c = reinterpret_cast<char*>(cmsg_.data()) + msgs * CMSG_SPACE(sizeof(uint16_t));
        m.msg_control = c;
        m.msg_controllen = CMSG_SPACE(sizeof(uint16_t));
        cmsghdr* cm = CMSG_FIRSTHDR(&m);
        cm->cmsg_level = SOL_UDP;
        cm->cmsg_type = UDP_SEGMENT;
        cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        const uint16_t gso_size = static_cast<uint16_t>(payload_);
        std::memcpy(CMSG_DATA(cm), &gso_size, sizeof gso_size);
      }
      seg_counts_[msgs] = segs;
      done += segs;
    }
    return msgs;
  }
  mmsghdr* headers() { return hdrs_.data(); }
  size_t segments_in(size_t msg) const { return seg_counts_[msg]; }

 private:
  uint64_t payload_;
  size_t segs_per_msg_;
  size_t msgs_;
  std::vector<uint8_t> buf_;
  std::vector<iovec> iov_;
  std::vector<mmsghdr> hdrs_;
  std::vector<uint8_t> cmsg_;
  size_t seg_counts_[kPlainBatch] = {};
};

}  // namespace

SendResult run_sender(int fd, const SendPlan& plan, const std::function<bool()>& should_stop) {
  SendResult r;
  r.flow_id = plan.flow_id;
  r.gso_used = plan.gso && plan.payload_bytes <= kGsoMaxBytes / 2;
  r.target_packets_per_sec = plan.interval_ns > 0 ? 1e9 / plan.interval_ns : 0;
  SendBatch batch(plan.payload_bytes, r.gso_used);
  const bool paced = plan.interval_ns > 0;
  // Send times on the wire: our wire clock, shifted into the receiver's.
  const int64_t wire_skew = wire_clock_skew_ns() + plan.clock_offset_ns;
  r.start_ns = common::monotonic_ns();
  uint64_t next_slot = 0;
  int64_t now = r.start_ns;
  // Checking the stop flag is an atomic load plus a clock read; once per
  // batch is plenty.
  while (!should_stop()) {
    now = common::monotonic_ns();
    if (plan.duration_ns > 0 && now - r.start_ns >= plan.duration_ns) {
      break;
    }
    if (plan.count > 0 && r.sent >= plan.count) {
      break;
    }
    size_t want = batch.capacity();
    if (paced) {
      // Absolute clock: slot k is due at start + k * interval, independent of
      // how late earlier sends were.
      const double elapsed = static_cast<double>(now - r.start_ns);
      const int64_t slot_time = r.start_ns + static_cast<int64_t>(static_cast<double>(next_slot) * plan.interval_ns);
      if (now < slot_time) {
        const int64_t wake = plan.duration_ns > 0 ? std::min(slot_time, r.start_ns + plan.duration_ns) : slot_time;
        sleep_until(wake);
        continue;
      }
      if (now - slot_time > plan.max_lag_ns) {
        // A stall (preemption, full buffer): abandon the missed slots instead
        // of bursting them out, which would distort what the receiver sees.
        const auto resume = static_cast<uint64_t>(std::ceil((elapsed - static_cast<double>(plan.max_lag_ns)) / plan.interval_ns));
        if (resume > next_slot) {
          r.skipped_slots += resume - next_slot;
          next_slot = resume;
        }
      }
      const auto due_through = static_cast<uint64_t>(std::floor(elapsed / plan.interval_ns));
      const uint64_t due = due_through >= next_slot ? due_through + 1 - next_slot : 0;
      want = static_cast<size_t>(std::min<uint64_t>(due, want));
      if (want == 0) {
        continue;
      }
    }
    if (plan.count > 0) {
      want = static_cast<size_t>(std::min<uint64_t>(want, plan.count - r.sent));
    }
    const size_t msgs = batch.fill(plan.flow_id, r.sent, want, now + wire_skew);
    const int n = ::sendmmsg(fd, batch.headers(), static_cast<unsigned>(msgs), 0);
    if (n < 0) {
      const int err = errno;
      if (err == EAGAIN || err == EINTR) {
        continue;
      }
      if (r.gso_used && (err == EIO || err == EINVAL || err == EOPNOTSUPP)) {
        // No GSO on this route/device: fall back to one datagram per message.
        r.gso_used = false;
        batch = SendBatch(plan.payload_bytes, false);
        continue;
      }
      if (r.send_errors++ == 0) {
        r.first_error = common::errno_text("sendmmsg", err);
      }
      if (paced) {
        next_slot += want;  // the slots are used up, not retried in a burst
      }
      continue;
    }
    uint64_t sent_now = 0;
    for (int i = 0; i < n; ++i) {
      sent_now += batch.segments_in(static_cast<size_t>(i));
    }
    r.sent += sent_now;
    r.sent_bytes += sent_now * plan.payload_bytes;
    next_slot += sent_now;
  }
  r.end_ns = common::monotonic_ns();
  if (plan.duration_ns > 0) {
    r.end_ns = std::min(r.end_ns, r.start_ns + plan.duration_ns);
  } else if (paced) {
    r.end_ns = r.start_ns + static_cast<int64_t>(static_cast<double>(next_slot) * plan.interval_ns);
  }
  return r;
}

}  // namespace sonda::udp
