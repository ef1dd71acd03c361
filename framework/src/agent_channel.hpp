// The agent protocol's framing: one JSON object per line (the header), and
// for a message that carries a record, exactly `bytes` raw bytes after the
// line. Big records (a 19 000-socket scan is ~9 MB) cross as they are: no
// escaping into a JSON string, no re-parse on the way. Reference:
// docs/AGENT_PROTOCOL.md.
#pragma once

#include <cstddef>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace sonda {

/// Version of the agent protocol; both ends refuse another one, naming both.
inline constexpr int kAgentProtocolVersion = 1;

/// One message: its header and, when the header has "bytes", the payload.
struct Frame {
  nlohmann::json header;
  std::string payload;
  /// header["type"], "" when absent.
  std::string type() const;
};

/// Reads frames from a file descriptor it does not own. One reader thread.
class FrameReader {
 public:
  explicit FrameReader(int fd) : fd_(fd) {}
  /// The next frame. False at end of input or on an error (error() says
  /// which; empty at a clean end of input).
  bool next(Frame& frame);
  const std::string& error() const { return error_; }

 private:
  /// Fills buf_ with more input; false at EOF or error.
  bool fill();
  int fd_;
  std::string buf_;
  size_t pos_ = 0;
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

 private:
  bool write_all(std::string_view a, std::string_view b);
  int fd_;
  std::mutex mu_;
};

}  // namespace sonda
