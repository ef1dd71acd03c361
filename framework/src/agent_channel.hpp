// The agent protocol's framing: one JSON object per line (the header), and
// for a message that carries a record, exactly `bytes` raw bytes after the
// line. Big records (a 19 000-socket scan is ~9 MB) cross as they are: no
// escaping into a JSON string, no re-parse on the way. Reference:
// docs/AGENT_PROTOCOL.md.
#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace sonda {

/// Version of the agent protocol; both ends refuse another one, naming both.
inline constexpr int kAgentProtocolVersion = 1;

/// A descriptor owned by whoever holds it (closed at destruction).
class OwnedFd {
 public:
  OwnedFd() = default;
  explicit OwnedFd(int fd) : fd_(fd) {}
  OwnedFd(OwnedFd&& o) noexcept : fd_(o.release()) {}
  OwnedFd& operator=(OwnedFd&& o) noexcept;
  OwnedFd(const OwnedFd&) = delete;
  OwnedFd& operator=(const OwnedFd&) = delete;
  ~OwnedFd() { reset(); }
  int get() const { return fd_; }
  int release() { const int fd = fd_; fd_ = -1; return fd; }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

/// One message: its header and, when the header has "bytes", the payload;
/// when it has "memfd", the descriptor that came with it.
struct Frame {
  nlohmann::json header;
  std::string payload;
  OwnedFd fd;
  /// header["type"], "" when absent.
  std::string type() const;
};

/// Reads frames from a file descriptor it does not own. One reader thread.
/// On a UNIX socket it also takes the descriptors that come with the bytes
/// (SCM_RIGHTS), in order, and hands each to the frame whose header says
/// "memfd"; any left over are closed with the reader.
class FrameReader {
 public:
  explicit FrameReader(int fd) : fd_(fd) {}
  ~FrameReader();
  FrameReader(const FrameReader&) = delete;
  FrameReader& operator=(const FrameReader&) = delete;
  /// The next frame. False at end of input or on an error (error() says
  /// which; empty at a clean end of input).
  bool next(Frame& frame);
  const std::string& error() const { return error_; }

 private:
  /// Fills buf_ with more input; false at EOF or error.
  bool fill();
  int fd_;
  bool socket_ = true;  ///< recvmsg until it says ENOTSOCK (a pipe: ssh, docker exec)
  /// Bytes read, [0, size_), of which [pos_, size_) are not yet consumed.
  /// Not a std::string: growing one zero-fills the room before each read,
  /// a 64 KiB memset and, the first time, 16 page faults in every agent and
  /// in the runner's reader of each.
  std::unique_ptr<char[]> buf_;
  size_t size_ = 0;
  size_t capacity_ = 0;
  size_t pos_ = 0;
  std::deque<int> fds_;  ///< received, not yet handed to a frame
  std::string error_;
};

/// Writes frames to a file descriptor it does not own. Thread-safe: a frame
/// (header and payload) is never interleaved with another.
class FrameWriter {
 public:
  explicit FrameWriter(int fd) : fd_(fd) {}
  /// Writes `header` as one line, with "bytes" set when `payload` is given.
  /// False when the peer is gone (EPIPE and the like); never raises SIGPIPE
  /// on a socket.
  bool write(nlohmann::json header);
  bool write(nlohmann::json header, std::string_view payload);
  /// Writes `header` as one line with `fd` attached (SCM_RIGHTS); only on a
  /// UNIX socket. The caller keeps `fd`.
  bool write_with_fd(nlohmann::json header, int fd);
  int fd() const { return fd_; }

 private:
  bool write_all(std::string_view a, std::string_view b, int attach_fd = -1);
  int fd_;
  std::mutex mu_;
};

}  // namespace sonda
