// The `rr` action: one UDP request outstanding at a time, each with its own
// timeout. The reply must echo our header (any echo server does); latency is
// measured from our own send time, never from the echoed timestamp.
#include <sys/time.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <random>
#include <vector>

#include "actions.hpp"
#include "sonda_common/histogram.hpp"
#include "udp_socket.hpp"
#include "wire_header.hpp"

namespace sonda::udp {
namespace {

/// Counters of one rr run.
struct RrCounts {
  uint64_t requests = 0;
  uint64_t replies = 0;
  uint64_t lost = 0;
  uint64_t late = 0;
  uint64_t malformed = 0;
  uint64_t foreign_session = 0;
  uint64_t refused = 0;
  uint64_t send_errors = 0;
};

enum class ReplyKind { kMatch, kLate, kMalformed, kForeign };

ReplyKind classify(const uint8_t* data, size_t len, size_t want_len, uint32_t session, uint64_t seq) {
  WireHeader h;
  if (parse_header(data, len, &h) != ParseStatus::kOk || len != want_len) {
    return ReplyKind::kMalformed;
  }
  if (h.flow_id != session) {
    return ReplyKind::kForeign;
  }
  if (h.seq < seq) {
    return ReplyKind::kLate;
  }
  return h.seq == seq ? ReplyKind::kMatch : ReplyKind::kMalformed;
}

/// The socket's SO_RCVTIMEO: the request timeout, at most 100 ms so a stop
/// is seen soon while a reply is awaited. Shortened to what is left of a
/// request's timeout on the rare wake-up that found nothing, and set back
/// after that request: the common path makes no extra system call.
class RecvWait {
 public:
  RecvWait(int fd, int64_t timeout_ns) : fd_(fd), base_ns_(std::min<int64_t>(timeout_ns, kMaxWaitNs)) { set(base_ns_); }
  void at_most(int64_t left_ns) {
    if (left_ns > 0 && left_ns < current_ns_) set(left_ns);
  }
  void reset() {
    if (current_ns_ != base_ns_) set(base_ns_);
  }

 private:
  static constexpr int64_t kMaxWaitNs = 100'000'000;
  void set(int64_t ns) {
    timeval tv{static_cast<time_t>(ns / 1'000'000'000), static_cast<suseconds_t>((ns % 1'000'000'000) / 1000)};
    if (tv.tv_sec == 0 && tv.tv_usec == 0) tv.tv_usec = 1;  // 0 would mean "wait forever"
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    current_ns_ = ns;
  }
  int fd_;
  int64_t base_ns_;
  int64_t current_ns_ = -1;
};

}  // namespace

void check_rr_params(const RrParams& p) {
  if (p.warmup_ns > 0 && p.duration_ns > 0 && p.warmup_ns >= p.duration_ns) {
    invalid_param("warmup", "must be shorter than duration");
  }
}

nlohmann::json rr(const RrParams& p, Context& ctx) {
  const auto size = static_cast<size_t>(p.payload_bytes);
  const int64_t duration_ns = p.duration_ns;
  const auto count = static_cast<uint64_t>(p.count);
  const int64_t timeout_ns = p.timeout_ns;
  const common::SockAddr target = common::resolve_endpoint(p.target, SOCK_DGRAM);
  common::Fd fd = open_udp(target.family());
  if (::connect(fd.get(), target.get(), target.len) != 0) {
    common::throw_sys("connect", "udp " + target.to_string(), errno);
  }
  // A random session id in the flow-id field tells our replies apart from
  // stray datagrams of an earlier run reaching the same port.
  const uint32_t session = std::random_device{}();
  RecvWait wait(fd.get(), timeout_ns);
  std::vector<uint8_t> request(size, 0);
  std::vector<uint8_t> reply(65536);
  common::LatencyHistogram latency;
  RrCounts c;
  const int64_t start = common::monotonic_ns();
  // Warm-up (as sockperf does by default): the first `warmup` of the run
  // goes through the same loop and then is forgotten: every figure of the
  // record counts from its end; only how many transactions it took is kept.
  const int64_t warmup_end = start + p.warmup_ns;
  bool warming = p.warmup_ns > 0;
  uint64_t warmup_transactions = 0;
  uint64_t next_seq = 0;
  int64_t measured_from = start;
  int64_t now = start;
  while (!ctx.should_stop() && (count == 0 || c.requests < count) &&
         (duration_ns <= 0 || now - start < duration_ns)) {
    if (warming && now >= warmup_end) {
      warming = false;
      warmup_transactions = c.requests;
      c = RrCounts{};
      latency.reset();
      measured_from = now;
    }
    const uint64_t seq = next_seq++;  // never restarts: a warm-up reply cannot match a later request
    ++c.requests;
    const int64_t sent_at = common::monotonic_ns();
    write_header({session, seq, sent_at}, request.data());
    if (::send(fd.get(), request.data(), size, 0) < 0) {
      ++(errno == ECONNREFUSED ? c.refused : c.send_errors);
    }
    const int64_t deadline = sent_at + timeout_ns;
    bool answered = false;
    while (!answered) {
      // One blocking recv per reply, as sockperf waits: a poll() before a
      // non-blocking recv was a second system call and a second trip
      // through the scheduler's wake-up path on every transaction. The
      // socket's receive timeout bounds the wait (RecvWait).
      const ssize_t n = ::recv(fd.get(), reply.data(), reply.size(), 0);
      const int64_t got_at = common::monotonic_ns();
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
          if (got_at >= deadline || ctx.should_stop()) {
            break;
          }
          wait.at_most(deadline - got_at);
          continue;
        }
        // ICMP port unreachable for this request: it is lost, not retried.
        c.refused += errno == ECONNREFUSED ? 1 : 0;
        if (got_at >= deadline) {
          break;
        }
        continue;
      }
      switch (classify(reply.data(), static_cast<size_t>(n), size, session, seq)) {
        case ReplyKind::kMatch:
          latency.record(static_cast<uint64_t>(got_at - sent_at));
          ++c.replies;
          answered = true;
          break;
        case ReplyKind::kLate: ++c.late; break;
        case ReplyKind::kForeign: ++c.foreign_session; break;
        case ReplyKind::kMalformed: ++c.malformed; break;
      }
    }
    if (!answered) {
      ++c.lost;
    }
    wait.reset();
    now = common::monotonic_ns();
  }
  const int64_t elapsed = now - measured_from;
  const double tps = elapsed > 0 ? static_cast<double>(c.replies) * 1e9 / static_cast<double>(elapsed) : 0.0;
  nlohmann::json rec = {
      {"target", target.to_string()},
      {"payload_bytes", size},
      {"timeout_ns", timeout_ns},
      {"duration_ns", elapsed},
      {"requests", c.requests},
      {"replies", c.replies},
      {"lost", c.lost},
      {"loss_ratio", c.requests > 0 ? static_cast<double>(c.lost) / static_cast<double>(c.requests) : 0.0},
      {"late_replies", c.late},
      {"malformed", c.malformed},
      {"foreign_session", c.foreign_session},
      {"refused", c.refused},
      {"send_errors", c.send_errors},
      {"transactions_per_sec", tps},
      {"latency", latency.summary("_ns")},
      {"warmup", {{"duration_ns", p.warmup_ns}, {"transactions", warmup_transactions}}}};
  char summary[256];
  std::snprintf(summary, sizeof summary,
                "udp rr %zu B to %s: %llu/%llu replies, %llu lost, %.0f trans/s, p50 %.1f us, p99 %.1f us",
                size, target.to_string().c_str(), static_cast<unsigned long long>(c.replies),
                static_cast<unsigned long long>(c.requests), static_cast<unsigned long long>(c.lost), tps,
                static_cast<double>(latency.percentile(50)) / 1000.0,
                static_cast<double>(latency.percentile(99)) / 1000.0);
  rec["summary"] = summary;
  if (c.requests > 0 && c.replies == 0) {
    throw StepError(std::string("no replies from ") + target.to_string() + " (" + std::to_string(c.requests) +
                        " requests, " + std::to_string(c.refused) + " refused)",
                    c.refused > 0 ? "connection_refused" : "no_replies", rec);
  }
  return rec;
}

}  // namespace sonda::udp
