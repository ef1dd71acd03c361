// All flows one receiving socket has seen, told apart by (source address,
// flow id), plus the datagrams that were not sonda's.
#pragma once

#include <sys/socket.h>

#include <array>
#include <atomic>
#include <functional>
#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "flow_receiver.hpp"

namespace sonda::udp {

/// Identity of a flow: who sent it (address and port) and its flow id.
struct FlowKey {
  std::array<uint8_t, 16> addr{};
  uint16_t port = 0;
  uint16_t family = 0;
  uint32_t flow_id = 0;
  bool operator==(const FlowKey&) const = default;
  static FlowKey from(const sockaddr_storage& src, uint32_t flow_id);
  /// "127.0.0.1:5000".
  std::string source() const;
};

struct FlowKeyHash {
  size_t operator()(const FlowKey& k) const;
};

/// Thread-safety: every method but mutex() expects the caller to hold
/// mutex(); the receive loop takes it once per batch, the control thread to
/// read and remove flows.
class ReceiveTable {
 public:
  /// `interval_ns`: per-interval sample width for new flows (0 = none).
  explicit ReceiveTable(int64_t interval_ns) : interval_ns_(interval_ns) {}

  std::mutex& mutex() { return mutex_; }

  /// Alive while a thread other than the receive loop reads the table (a
  /// stream report): an echo loop, which otherwise holds mutex() while it
  /// waits in recvmmsg, then waits in poll() without it, so the reader
  /// waits at most one receive timeout (50 ms) for the lock, once.
  class Reader {
   public:
    explicit Reader(ReceiveTable& table) : table_(table) { table_.readers_.fetch_add(1); }
    ~Reader() { table_.readers_.fetch_sub(1); }
    Reader(const Reader&) = delete;
    Reader& operator=(const Reader&) = delete;

   private:
    ReceiveTable& table_;
  };
  bool has_readers() const { return readers_.load() > 0; }

  /// Parses and accounts one datagram from `from`.
  void on_datagram(const sockaddr_storage& from, const uint8_t* data, size_t len, int64_t arrival_ns);

  /// The flow, or nullptr if nothing valid came from it.
  const FlowReceiver* find(const FlowKey& key) const;
  /// Removes the flow (after its report went out), so a later stream reusing
  /// the same source port starts clean.
  void erase(const FlowKey& key);

  uint64_t datagrams() const { return datagrams_; }
  uint64_t too_short() const { return too_short_; }
  uint64_t foreign_magic() const { return foreign_magic_; }
  /// Valid-looking datagrams of new flows refused because kMaxFlows are
  /// already tracked (each flow costs ~80 KiB: duplicate window + histogram).
  uint64_t too_many_flows() const { return too_many_flows_; }
  static constexpr size_t kMaxFlows = 1024;
  /// Figures of every flow still held plus the malformed counters.
  nlohmann::json to_json(bool shared_clock, uint64_t wire_overhead) const;
  /// {packets, bytes} accepted since the last call (for interval samples).
  std::pair<uint64_t, uint64_t> take_interval();

 private:
  std::mutex mutex_;
  std::atomic<int> readers_{0};
  int64_t interval_ns_;
  std::unordered_map<FlowKey, std::unique_ptr<FlowReceiver>, FlowKeyHash> flows_;
  // Most datagrams come from the flow the previous one came from.
  FlowKey last_key_{};
  FlowReceiver* last_flow_ = nullptr;
  uint64_t datagrams_ = 0;
  uint64_t too_short_ = 0;
  uint64_t foreign_magic_ = 0;
  uint64_t too_many_flows_ = 0;
  uint64_t interval_packets_ = 0;
  uint64_t interval_bytes_ = 0;
};

/// Waits until the receiving socket `fd` has nothing queued and everything
/// it held is in the table (checked under the table lock, which the receive
/// loop holds from recvmmsg until the batch is accounted), and then until
/// none of `keys` has delivered a datagram for `quiet_ns`; or until
/// `max_wait_ns` passed, or `should_stop()`. Without the first part a
/// receiver starved of CPU reported datagrams still sitting in its socket
/// buffer as lost. Takes the table lock itself.
void wait_until_quiet(ReceiveTable& table, int fd, const std::vector<FlowKey>& keys,
                      int64_t quiet_ns, int64_t max_wait_ns,
                      const std::function<bool()>& should_stop);

/// True when `fd` has no datagram queued (SO_MEMINFO receive memory is 0;
/// FIONREAD where SO_MEMINFO is missing).
bool receive_queue_empty(int fd);

}  // namespace sonda::udp
