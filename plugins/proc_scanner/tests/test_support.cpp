#include "test_support.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace sonda::proc_scanner::testing {
namespace {

socklen_t make_addr(int family, const std::string& address, uint16_t port, sockaddr_storage& ss) {
  std::memset(&ss, 0, sizeof ss);
  if (family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    if (inet_pton(AF_INET6, address.c_str(), &a->sin6_addr) != 1) {
      throw std::runtime_error("bad IPv6 address " + address);
    }
    return sizeof *a;
  }
  auto* a = reinterpret_cast<sockaddr_in*>(&ss);
  a->sin_family = AF_INET;
  a->sin_port = htons(port);
  if (inet_pton(AF_INET, address.c_str(), &a->sin_addr) != 1) {
    throw std::runtime_error("bad IPv4 address " + address);
  }
  return sizeof *a;
}

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

}  // namespace

int bound_socket(int family, int type, const std::string& address, uint16_t port,
                 int listen_backlog) {
  const int fd = ::socket(family, type | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    fail("socket()");
  }
  sockaddr_storage ss{};
  const socklen_t len = make_addr(family, address, port, ss);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    ::close(fd);
    fail("bind(" + address + ":" + std::to_string(port) + ")");
  }
  if (listen_backlog > 0 && ::listen(fd, listen_backlog) != 0) {
    ::close(fd);
    fail("listen()");
  }
  return fd;
}

uint16_t local_port(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    fail("getsockname()");
  }
  return ss.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port)
                                  : ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
}

int connected_socket(int family, int type, const std::string& from_address,
                     const std::string& to_address, uint16_t port) {
  const int fd = bound_socket(family, type, from_address, 0);
  sockaddr_storage ss{};
  const socklen_t len = make_addr(family, to_address, port, ss);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    ::close(fd);
    fail("connect(" + to_address + ":" + std::to_string(port) + ")");
  }
  return fd;
}

std::string python3() {
  return ::access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
}

uint16_t free_tcp_port() {
  const int fd = bound_socket(AF_INET, SOCK_STREAM, "127.0.0.1", 0);
  const uint16_t port = local_port(fd);
  ::close(fd);
  return port;
}

void close_all(std::vector<int>& fds) {
  for (const int fd : fds) {
    ::close(fd);
  }
  fds.clear();
}

TempDir::TempDir(const std::string& prefix) {
  std::string pattern = "/tmp/" + prefix + "-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("mkdtemp(" + pattern + "): " + std::strerror(errno));
  }
  path_ = pattern;
}

TempDir::~TempDir() { run_command("rm -rf '" + path_ + "'"); }

}  // namespace sonda::proc_scanner::testing
