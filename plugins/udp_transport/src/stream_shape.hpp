// What a stream sends, shared by the stream client and the server's reverse
// sender, and the threads that send it.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <vector>

#include "rate_spec.hpp"
#include "sender.hpp"
#include "sonda_common/net.hpp"

namespace sonda::udp {

/// The stream's parameters after validation.
struct StreamShape {
  uint64_t payload_bytes = 1400;
  RateSpec rate;
  int64_t duration_ns = 0;
  uint64_t count = 0;  // total over all flows; 0 = bounded by duration
  unsigned flows = 1;
  bool gso = false;
  int sndbuf_bytes = 4 << 20;
  int64_t max_lag_ns = 1'000'000;
  /// The receiver's clock minus the sender's, added to send times (0: one
  /// clock, or not known).
  int64_t clock_offset_ns = 0;

  nlohmann::json to_json() const;
  /// Throws StepError kind "protocol" on a malformed control message.
  static StreamShape from_json(const nlohmann::json& j);
};

/// One flow's result and the local address it sent from.
struct FlowSend {
  SendResult result;
  common::SockAddr local;
};

/// Sends `shape` to `target`, one thread and one connected socket per flow
/// (flow ids 0..flows-1). The total rate and count are split evenly across
/// flows. Blocks until all flows finish. `sndbuf_effective` receives the
/// send buffer size the kernel granted.
std::vector<FlowSend> send_flows(const common::SockAddr& target, const StreamShape& shape,
                                 const std::function<bool()>& should_stop, int* sndbuf_effective);

}  // namespace sonda::udp
