// One accepted connection of the `server` action: detects a sonda Hello and
// runs the requested session, else the configured mode.
#pragma once

#include <sonda_common/net.hpp>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "options.hpp"

namespace sonda::tcp {

/// What the server served, updated by every connection thread.
struct ServerCounters {
  std::atomic<uint64_t> connections{0};
  std::atomic<uint64_t> bytes_in{0};
  std::atomic<uint64_t> bytes_out{0};
  std::atomic<uint64_t> sink_sessions{0};
  std::atomic<uint64_t> source_sessions{0};
  std::atomic<uint64_t> sendfile_clients{0};   ///< sink sessions whose client sent with sendfile()
  std::atomic<uint64_t> sendfile_connections{0};  ///< connections sent to with sendfile() (source, hello or mode)
  std::atomic<uint64_t> rr_sessions{0};
  std::atomic<uint64_t> plain_connections{0};  ///< no sonda hello: configured mode
  std::atomic<uint64_t> resets{0};             ///< peers that reset the connection
  /// Sink sessions that asked to map the payload (recv_mmap), and how their
  /// bytes came: mapped by the kernel, or copied (what it could not map).
  std::atomic<uint64_t> mmap_sessions{0};
  std::atomic<uint64_t> mmap_mapped_bytes{0};
  std::atomic<uint64_t> mmap_copied_bytes{0};
  /// Why the kernel refused to map at all (the first reason), if it did.
  void note_mmap_refused(const std::string& why);

  /// Records a per-connection failure (the server itself keeps serving).
  void note_error(const std::string& message);
  nlohmann::json to_json() const;

 private:
  mutable std::mutex mu_;
  std::string mmap_refused_;
  uint64_t error_count_ = 0;
  std::vector<std::string> first_errors_;
};

/// Open connection sockets, so stopping the server can wake blocked threads
/// with shutdown(). Thread-safe.
class LiveSockets {
 public:
  /// False when the server is already stopping (caller closes at once).
  bool add(int fd);
  void remove(int fd);
  /// shutdown(SHUT_RDWR) on every live socket; later add()s fail.
  void shutdown_all();

 private:
  std::mutex mu_;
  std::set<int> fds_;
  bool stopping_ = false;
};

/// Serves one connection to completion. Never throws: failures go to
/// counters.note_error() with the peer named.
void serve_connection(common::Fd fd, const std::string& peer, const ServerOptions& options,
                      ServerCounters& counters, LiveSockets& live);

}  // namespace sonda::tcp
