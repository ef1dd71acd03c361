#include "clock_sync.hpp"

#include <cstdlib>
#include <exception>
#include <limits>

#include "control_channel.hpp"
#include "udp_socket.hpp"

namespace sonda::udp {

int64_t wire_clock_skew_ns() {
  static const int64_t skew = [] {
    const char* v = std::getenv("SONDA_UDP_TEST_CLOCK_SKEW_NS");
    return v != nullptr ? std::strtoll(v, nullptr, 10) : 0LL;
  }();
  return skew;
}

int64_t wire_now_ns() { return common::monotonic_ns() + wire_clock_skew_ns(); }

std::string clock_identity() {
  const int64_t skew = wire_clock_skew_ns();
  return skew == 0 ? boot_id() : boot_id() + "+skew" + std::to_string(skew);
}

nlohmann::json ClockSync::to_json() const {
  switch (basis) {
    case Basis::kShared:
      return {{"basis", "one clock"}, {"why", "sender and receiver share a kernel (same boot_id)"}};
    case Basis::kCorrected:
      return {{"basis", "corrected"},
              {"offset_ns", offset_ns},
              {"uncertainty_ns", uncertainty_ns},
              {"min_rtt_ns", min_rtt_ns},
              {"samples", samples},
              {"why", "send times written in the receiver's clock, offset measured over the control connection"}};
    case Basis::kUnavailable:
      break;
  }
  return {{"basis", "unavailable"}, {"why", note}};
}

ClockSync sync_clock(const common::SockAddr& target, int64_t connect_timeout_ns, int rounds) {
  ClockSync s;
  s.unreachable = true;  // until connected
  try {
    ControlChannel ch = ControlChannel::connect_to(target, connect_timeout_ns);
    s.unreachable = false;
    const std::string ours = clock_identity();
    int64_t best_rtt = std::numeric_limits<int64_t>::max();
    for (int i = 0; i < rounds; ++i) {
      const int64_t t0 = wire_now_ns();
      ch.send({{"op", "clock"}});
      const nlohmann::json reply = ch.receive(common::monotonic_ns() + connect_timeout_ns, [] { return false; });
      const int64_t t1 = wire_now_ns();
      if (reply.contains("error") || !reply.contains("now_ns")) {
        s.note = "the server does not tell its clock: " + reply.dump();
        return s;
      }
      if (reply.value("clock", std::string()) == ours) {
        ch.send({{"op", "done"}});
        s.basis = ClockSync::Basis::kShared;
        return s;
      }
      ++s.samples;
      if (t1 - t0 < best_rtt) {
        best_rtt = t1 - t0;
        s.offset_ns = reply["now_ns"].get<int64_t>() - (t0 + (t1 - t0) / 2);
      }
    }
    ch.send({{"op", "done"}});
    s.basis = ClockSync::Basis::kCorrected;
    s.min_rtt_ns = best_rtt;
    s.uncertainty_ns = (best_rtt + 1) / 2;
  } catch (const std::exception& e) {
    s.note = std::string("no clock from the server: ") + e.what();
    s.basis = ClockSync::Basis::kUnavailable;
  }
  return s;
}

}  // namespace sonda::udp
