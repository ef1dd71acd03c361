// Socket plumbing for the tcp_transport actions: connect with a timeout,
// apply tuning, exact reads/writes that name the peer in their errors, and a
// TCP_INFO snapshot.
#pragma once

#include <sonda_common/net.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "options.hpp"

namespace sonda::tcp {

/// Applies buffer sizes, TCP_NODELAY, congestion control and MSS to a socket.
/// Buffers above net.core.[rw]mem_max are requested with SO_*BUFFORCE (root)
/// and fall back to the capped request. Throws StepError naming the option.
void apply_tuning(int fd, const SocketTuning& tuning);

/// Opens a TCP socket to `target`, tuned, connected within `timeout_ns`.
/// Throws StepError "connect to <target>: <strerror>" with kind
/// connection_refused / timeout / unreachable.
common::Fd connect_to(const common::SockAddr& target, const std::string& target_text,
                      const SocketTuning& tuning, int64_t timeout_ns);

/// Sets SO_RCVTIMEO and SO_SNDTIMEO so blocking calls wake up to check the
/// stop flag and deadlines.
void set_io_timeout(int fd, int64_t timeout_ns);

/// sendfile: `size` bytes of `data` in a file that sendfile() hands to TCP
/// by reference, as iperf3 -Z does with a temporary file: the sending side
/// makes no copy. The file is never written again, so the pages a socket
/// still holds keep these bytes.
struct PayloadFile {
  common::Fd fd;
  /// Where it lives: "O_TMPFILE in /var/tmp" (or $TMPDIR, /tmp), else
  /// "memfd". A disk filesystem's page cache (ext4 here) holds it in large
  /// folios, which sendfile() moves at 1.3x the rate of a memfd's 4 KiB
  /// shmem pages (README Defaults).
  std::string where;
};
/// Throws StepError naming `what` (the peer).
PayloadFile payload_file(const char* data, size_t size, const std::string& what);

/// A stream sends with sendfile() when `sendfile` says so, and when it is
/// unset for writes of kSendfileMinBytes or more (not with MSG_ZEROCOPY):
/// at 64 KiB and up sendfile moved 1.5x the bytes of a copying send(), at 4
/// KiB 0.83x (README Defaults).
inline constexpr int64_t kSendfileMinBytes = 64 * 1024;
inline bool uses_sendfile(const std::optional<bool>& sendfile, int64_t write_bytes, bool zerocopy = false) {
  return sendfile.value_or(!zerocopy && write_bytes >= kSendfileMinBytes);
}

/// One sendfile() of the first `len` bytes of `file` (every call sends the
/// file from its start, as a send() of the same buffer would).
ssize_t send_file_prefix(int fd, int file, size_t len);

/// Writes all `len` bytes (MSG_NOSIGNAL). Throws StepError "send to <peer>"
/// (kind timeout when the socket send timeout expires).
void send_all(int fd, const void* buf, size_t len, const std::string& peer);

/// Reads exactly `len` bytes. Returns false on EOF before the first byte;
/// throws StepError on EOF mid-message, errors, or a stall longer than
/// `stall_ns` (the socket must have an I/O timeout set).
bool recv_exact(int fd, void* buf, size_t len, const std::string& peer, int64_t stall_ns);

/// How much a recv_mmap receiver maps per call at most.
inline constexpr size_t kMmapWindowBytes = 1024 * 1024;

/// The receive path that maps the payload instead of copying it
/// (TCP_ZEROCOPY_RECEIVE): whole, page-aligned pages of the socket's queue
/// are mapped read-only into a window of this process (each call replaces
/// the previous mapping); what the kernel cannot map (a piece of a page, or
/// pages it cannot lend, like the compound pages a local sender's copies
/// land in) is copied with recv(). Every byte received is either mapped or
/// copied, and the counts say which.
class MappedReceiver {
 public:

  /// Maps a window of `window_bytes` (whole pages) over the connected TCP
  /// socket `fd`. When the kernel refuses, usable() is false and refused()
  /// says why (the caller then copies with recv()).
  MappedReceiver(int fd, size_t window_bytes);
  ~MappedReceiver();
  MappedReceiver(const MappedReceiver&) = delete;
  MappedReceiver& operator=(const MappedReceiver&) = delete;

  bool usable() const { return refused_.empty(); }
  const std::string& refused() const { return refused_; }
  /// Takes at most `max_bytes` of what has arrived: mapped (up to the
  /// window), or copied into `buf` (up to `buf_len`), waiting up to
  /// `wait_ms` (-1: no limit) for some. Returns the count, 0 at the end of
  /// the stream, -1 with errno (EAGAIN: nothing within wait_ms).
  ssize_t receive(char* buf, size_t buf_len, uint64_t max_bytes, int wait_ms);
  uint64_t mapped_bytes() const { return mapped_; }
  uint64_t copied_bytes() const { return copied_; }

 private:
  int fd_;
  void* window_ = nullptr;
  size_t window_bytes_ = 0;
  std::string refused_;
  uint64_t mapped_ = 0;
  uint64_t copied_ = 0;
};

/// recv_mmap for one receive loop: a MappedReceiver when it was asked for
/// and the kernel maps (null otherwise: recv() copies), and, once the loop
/// is left however it ends (a throw too), `done(mapped, copied, refused)`:
/// the bytes the kernel mapped, the rest of `received` (copied), and why it
/// would not map at all ("" when it would). Nothing when not asked.
class MmapReceive {
 public:
  using Done = std::function<void(uint64_t mapped, uint64_t copied, const std::string& refused)>;
  MmapReceive(bool asked, int fd, const uint64_t& received, Done done);
  ~MmapReceive();
  MmapReceive(const MmapReceive&) = delete;
  MmapReceive& operator=(const MmapReceive&) = delete;
  MappedReceiver* receiver() { return mapped_ ? &*mapped_ : nullptr; }

 private:
  std::optional<MappedReceiver> mapped_;
  const uint64_t& received_;
  Done done_;
  std::string refused_;
};

/// TCP_INFO figures of one socket (units in names).
struct TcpInfoSnapshot {
  uint64_t total_retransmits = 0;
  uint64_t rtt_ns = 0;
  uint64_t rttvar_ns = 0;
  uint64_t snd_cwnd_segments = 0;
  uint64_t snd_mss_bytes = 0;
  uint64_t pacing_rate_bits_per_sec = 0;
  uint64_t bytes_acked = 0;
  uint64_t bytes_received = 0;
  bool valid = false;
  nlohmann::json to_json() const;
};

/// Reads TCP_INFO; `valid` false when the call fails (socket closed).
TcpInfoSnapshot read_tcp_info(int fd);

/// CPU time consumed by the calling thread, ns (CLOCK_THREAD_CPUTIME_ID).
int64_t thread_cpu_ns();

/// "38.2 Gbit/s" style text for summaries.
std::string format_bits_per_sec(double bits_per_sec);

}  // namespace sonda::tcp
