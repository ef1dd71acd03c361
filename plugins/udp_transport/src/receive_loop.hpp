// The receiving socket loop: recvmmsg batches (with UDP_GRO coalescing when
// enabled), each datagram accounted in a ReceiveTable or echoed back.
#pragma once

#include <cstdint>
#include <functional>

#include "receive_table.hpp"

namespace sonda::udp {

/// What the loop did besides filling the table.
struct ReceiveLoopStats {
  uint64_t echoed = 0;
  uint64_t echo_errors = 0;
  uint64_t batches = 0;
};

/// Reads `fd` until `should_stop()` (checked at least every 50 ms). Arrival
/// time is CLOCK_MONOTONIC read once per recvmmsg batch: datagrams read in
/// one batch (or coalesced by GRO) share it. When `echo` is set every
/// datagram is also sent back to its source (the socket must not have GRO
/// on), and the loop then waits for datagrams in recvmmsg (SO_RCVTIMEO
/// 50 ms) instead of poll() while no ReceiveTable::Reader is alive.
/// `on_tick` runs between batches, at least every 50 ms, without the table
/// lock held.
ReceiveLoopStats run_receive_loop(int fd, ReceiveTable& table, bool echo,
                                  const std::function<bool()>& should_stop,
                                  const std::function<void()>& on_tick);

}  // namespace sonda::udp
