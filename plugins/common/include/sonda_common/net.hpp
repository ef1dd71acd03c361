// Small socket helpers shared by the transport plugins.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <utility>

namespace sonda::common {

/// Owns a file descriptor; closes it on destruction. Move-only.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd();
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  explicit operator bool() const { return fd_ >= 0; }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

/// A resolved socket address.
struct SockAddr {
  sockaddr_storage storage{};
  socklen_t len = 0;
  int family() const { return storage.ss_family; }
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  sockaddr* get() { return reinterpret_cast<sockaddr*>(&storage); }
  uint16_t port() const;
  /// "127.0.0.1:80" or "[::1]:80".
  std::string to_string() const;
};

/// Splits "host:port" / "[v6]:port" / ":port" / "port". Throws
/// std::invalid_argument with a reason on bad input.
std::pair<std::string, uint16_t> split_host_port(const std::string& text);

/// Resolves an endpoint (numeric or name, via getaddrinfo). An empty host
/// means the wildcard ("::" when family is AF_INET6 else "0.0.0.0").
/// Throws sonda::StepError naming the endpoint.
SockAddr resolve(const std::string& host, uint16_t port, int socktype, int family = AF_UNSPEC);
SockAddr resolve_endpoint(const std::string& endpoint, int socktype);

/// "bind(): Address already in use" style message for errno.
std::string errno_text(const char* call, int err);

/// Throws sonda::StepError("<call> <what>: <strerror>") with kind derived from
/// errno (addr_in_use, connection_refused, timeout, unreachable, reset, error).
[[noreturn]] void throw_sys(const char* call, const std::string& what, int err);

/// Monotonic clock, nanoseconds.
int64_t monotonic_ns();

/// Sets an int socket option, throwing on failure.
void set_opt(int fd, int level, int name, int value, const char* what);

}  // namespace sonda::common
