#include "sonda_common/net.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <sonda/plugin.hpp>
#include <stdexcept>

namespace sonda::common {

Fd& Fd::operator=(Fd&& o) noexcept {
  if (this != &o) reset(o.release());
  return *this;
}
Fd::~Fd() { reset(); }
void Fd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

uint16_t SockAddr::port() const {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
  if (family() == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
  return 0;
}

std::string SockAddr::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family() == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr, buf, sizeof buf);
    return std::string(buf) + ":" + std::to_string(port());
  }
  if (family() == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr, buf, sizeof buf);
    return "[" + std::string(buf) + "]:" + std::to_string(port());
  }
  return "?";
}

std::pair<std::string, uint16_t> split_host_port(const std::string& text) {
  std::string host;
  std::string port;
  if (!text.empty() && text[0] == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos) throw std::invalid_argument("missing ']' in '" + text + "'");
    host = text.substr(1, close - 1);
    if (close + 1 >= text.size() || text[close + 1] != ':') {
      throw std::invalid_argument("expected ':port' after ']' in '" + text + "'");
    }
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos) {
      port = text;
    } else {
      host = text.substr(0, colon);
      port = text.substr(colon + 1);
      if (host.find(':') != std::string::npos) {
        throw std::invalid_argument("IPv6 address must be in brackets: '[" + host + "]:" + port + "'");
      }
    }
  }
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) {
    throw std::invalid_argument("bad port '" + port + "' in '" + text + "'");
  }
  const unsigned long p = std::stoul(port);
  if (p > 65535) throw std::invalid_argument("port " + port + " out of range in '" + text + "'");
  return {host, static_cast<uint16_t>(p)};
}

SockAddr resolve(const std::string& host, uint16_t port, int socktype, int family) {
  addrinfo hints{};
  hints.ai_family = family;
  hints.ai_socktype = socktype;
  hints.ai_flags = AI_NUMERICSERV | (host.empty() ? AI_PASSIVE : 0);
  std::string h = host;
  if (h.empty()) h = family == AF_INET6 ? "::" : "0.0.0.0";
  addrinfo* res = nullptr;
  const std::string service = std::to_string(port);
  const int rc = ::getaddrinfo(h.c_str(), service.c_str(), &hints, &res);
  if (rc != 0 || res == nullptr) {
    throw StepError("cannot resolve '" + h + "': " + gai_strerror(rc), "resolve");
  }
  SockAddr out;
  std::memcpy(&out.storage, res->ai_addr, res->ai_addrlen);
  out.len = res->ai_addrlen;
  ::freeaddrinfo(res);
  return out;
}

SockAddr resolve_endpoint(const std::string& endpoint, int socktype) {
  try {
    auto [host, port] = split_host_port(endpoint);
    return resolve(host, port, socktype);
  } catch (const std::invalid_argument& e) {
    throw StepError(std::string("bad endpoint: ") + e.what(), "bad_endpoint");
  }
}

std::string errno_text(const char* call, int err) {
  return std::string(call) + "(): " + std::strerror(err);
}

void throw_sys(const char* call, const std::string& what, int err) {
  const char* kind = "error";
  switch (err) {
    case EADDRINUSE: kind = "addr_in_use"; break;
    case ECONNREFUSED: kind = "connection_refused"; break;
    case ETIMEDOUT: kind = "timeout"; break;
    case EHOSTUNREACH:
    case ENETUNREACH: kind = "unreachable"; break;
    case ECONNRESET:
    case EPIPE: kind = "reset"; break;
    default: break;
  }
  throw StepError(std::string(call) + " " + what + ": " + std::strerror(err), kind,
                  {{"error", {{"errno", err}}}});
}

int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

void set_opt(int fd, int level, int name, int value, const char* what) {
  if (::setsockopt(fd, level, name, &value, sizeof value) != 0) {
    throw_sys("setsockopt", what, errno);
  }
}

}  // namespace sonda::common
