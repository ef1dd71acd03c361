// One TCP connection of a `stream` run: its send or receive loop, and the
// receiver reports a sonda server writes back on it.
#pragma once

#include <sonda_common/net.hpp>

#include <atomic>
#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include "options.hpp"
#include "socket_io.hpp"
#include "wire.hpp"

namespace sonda::tcp {

/// How often a stream's blocked send or receive looks at the clock and the
/// stop flag: the connections' SO_*TIMEO, and a recv_mmap receiver's wait.
inline constexpr int64_t kStreamWakeNs = 100'000'000;

/// How often a forward stream's send loop reads the receiver's reports
/// (they come every report_interval_ms, at least 10 ms apart).
inline constexpr int64_t kReportDrainNs = 20'000'000;

/// State of one stream connection. The worker thread owns the data loop and,
/// sending, reads the receiver's reports; while it runs the orchestrating
/// thread reads only the atomics (`bytes`, `reported`, `reported_bytes`).
struct StreamConnection {
  bool forward = true;  ///< true: this client sends; false: it receives
  common::Fd fd;
  std::string target_text;
  uint64_t quota_bytes = 0;  ///< 0 = until end_ns
  std::atomic<uint64_t> bytes{0};  ///< sent (forward) or received (reverse) by this client
  int64_t first_byte_ns = 0;       ///< reverse: first byte received
  int64_t last_byte_ns = 0;        ///< reverse: last byte received; forward: send loop end
  int64_t cpu_ns = 0;              ///< worker thread CPU time
  TcpInfoSnapshot tcp_info;        ///< at the end of the stream
  /// zerocopy: sends made with MSG_ZEROCOPY, and what the kernel's completion
  /// notifications (the socket's error queue) said of them.
  uint64_t zc_sends = 0;
  uint64_t zc_completed = 0;  ///< sends whose pages the kernel has released
  uint64_t zc_copied = 0;     ///< of those, sends it copied anyway (SO_EE_CODE_ZEROCOPY_COPIED)
  /// recv_mmap, receiving: bytes the kernel mapped, bytes copied, and why
  /// it would not map at all (empty when it would).
  uint64_t mmap_mapped = 0;
  uint64_t mmap_copied = 0;
  std::string mmap_refused;
  /// sendfile, sending: where its payload file lives (PayloadFile::where).
  std::string payload_where;
  std::exception_ptr error;

  // Receiver reports (forward + handshake): read by the send loop while it
  // runs, then by the orchestrator once it has joined the worker. While the
  // worker runs, the orchestrator reads only these two.
  std::atomic<bool> reported{false};           ///< a report has arrived
  std::atomic<uint64_t> reported_bytes{0};     ///< the latest report's byte count
  std::vector<char> report_bytes;
  wire::Report latest_report;
  bool have_report = false;
  bool final_report = false;
  /// The peer is not a sonda server (e.g. an echo server that returned our
  /// hello): what it sends is read and discarded so it never blocks, and the
  /// totals fall back to TCP_INFO bytes_acked.
  bool foreign_peer = false;
  uint64_t foreign_bytes = 0;  ///< bytes the foreign peer sent back

  /// Runs the send (forward) or receive (reverse) loop until `end_ns`, the
  /// quota, or `stop`; records errors in `error`. Runs on its own thread.
  void run(const StreamOptions& o, int64_t end_ns, const std::atomic<bool>& stop);

  /// Reads the reports that have arrived without blocking (`wait_ns` 0), or
  /// blocks up to `wait_ns` for the final one. Throws StepError on a
  /// malformed report.
  void drain_reports(int64_t wait_ns);
};

}  // namespace sonda::tcp
