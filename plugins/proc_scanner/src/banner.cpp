#include "banner.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <strings.h>

#include "sonda_common/net.hpp"

namespace sonda::proc_scanner {
namespace {

bool is_zero(const std::array<uint8_t, 16>& addr, size_t len) {
  return std::all_of(addr.begin(), addr.begin() + static_cast<long>(len),
                     [](uint8_t b) { return b == 0; });
}

// Waits for readability until deadline; reads what arrives. Returns false on
// timeout or error (with `error` set).
bool read_some(int fd, int64_t deadline_ns, std::string& data, std::string& error) {
  for (;;) {
    const int64_t left_ms = (deadline_ns - common::monotonic_ns()) / 1000000;
    if (left_ms <= 0) {
      error = "no data before the timeout";
      return false;
    }
    pollfd p{fd, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(left_ms));
    if (r < 0 && errno == EINTR) {
      continue;
    }
    if (r <= 0) {
      error = r == 0 ? "no data before the timeout" : common::errno_text("poll()", errno);
      return false;
    }
    char buf[1024];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      error = n == 0 ? "closed by the service" : common::errno_text("recv()", errno);
      return false;
    }
    data.append(buf, static_cast<size_t>(n));
    return true;
  }
}

std::string first_line(const std::string& s) {
  const auto end = s.find_first_of("\r\n");
  return s.substr(0, std::min<size_t>(end, 200));
}

std::string http_server_header(const std::string& reply) {
  size_t pos = 0;
  while ((pos = reply.find('\n', pos)) != std::string::npos) {
    ++pos;
    if (strncasecmp(reply.c_str() + pos, "server:", 7) == 0) {
      std::string value = first_line(reply.substr(pos + 7));
      value.erase(0, value.find_first_not_of(' '));
      return value;
    }
  }
  return first_line(reply);  // no Server: header; the status line still says HTTP
}

}  // namespace

BannerResult read_banner(const SocketEntry& listener, bool send_http_head, int64_t timeout_ns) {
  BannerResult result;
  const int64_t deadline_ns = common::monotonic_ns() + timeout_ns;
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (listener.family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(listener.local_port);
    std::memcpy(&a->sin6_addr, listener.local_addr.data(), 16);
    if (is_zero(listener.local_addr, 16)) {
      a->sin6_addr = in6addr_loopback;
    }
    len = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(listener.local_port);
    std::memcpy(&a->sin_addr, listener.local_addr.data(), 4);
    if (is_zero(listener.local_addr, 4)) {
      a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    }
    len = sizeof *a;
  }
  const std::string where = format_endpoint(listener.family, listener.local_addr, listener.local_port);
  common::Fd fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) {
    result.error = common::errno_text("socket()", errno);
    return result;
  }
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) < 0 && errno != EINPROGRESS) {
    result.error = common::errno_text("connect()", errno) + " to " + where;
    return result;
  }
  pollfd p{fd.get(), POLLOUT, 0};
  const int64_t left_ms = std::max<int64_t>(1, (deadline_ns - common::monotonic_ns()) / 1000000);
  int so_error = 0;
  socklen_t so_len = sizeof so_error;
  if (::poll(&p, 1, static_cast<int>(left_ms)) != 1 ||
      ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &so_error, &so_len) != 0 || so_error != 0) {
    result.error = "connect() to " + where + ": " +
                   (so_error != 0 ? std::strerror(so_error) : "no answer before the timeout");
    return result;
  }
  std::string data;
  const int64_t greeting_deadline_ns =
      send_http_head ? common::monotonic_ns() + timeout_ns / 2 : deadline_ns;
  std::string error;
  if (read_some(fd.get(), greeting_deadline_ns, data, error)) {
    result.text = first_line(data);
    return result;
  }
  if (!send_http_head || error != "no data before the timeout") {
    result.error = error + " from " + where;
    return result;
  }
  static constexpr char kHead[] = "HEAD / HTTP/1.0\r\n\r\n";
  if (::send(fd.get(), kHead, sizeof kHead - 1, MSG_NOSIGNAL) < 0) {
    result.error = common::errno_text("send(HEAD)", errno) + " to " + where;
    return result;
  }
  // Read until the headers end, the peer closes, or time runs out.
  while (data.find("\r\n\r\n") == std::string::npos &&
         read_some(fd.get(), deadline_ns, data, error)) {
  }
  if (data.compare(0, 5, "HTTP/") != 0) {
    result.error = (data.empty() ? error : "reply is not HTTP") + " from " + where;
    return result;
  }
  result.http = true;
  result.text = http_server_header(data);
  return result;
}

}  // namespace sonda::proc_scanner
