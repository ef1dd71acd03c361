#include "udp_socket.hpp"

#include <arpa/inet.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sonda/plugin.hpp>

#ifndef UDP_GRO
#define UDP_GRO 104
#endif

namespace sonda::udp {

common::Fd open_udp(int family) {
  common::Fd fd(::socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) {
    common::throw_sys("socket", family == AF_INET6 ? "(AF_INET6, SOCK_DGRAM)" : "(AF_INET, SOCK_DGRAM)",
                      errno);
  }
  return fd;
}

void bind_or_throw(int fd, const common::SockAddr& addr, const char* protocol) {
  if (::bind(fd, addr.get(), addr.len) == 0) {
    return;
  }
  const int err = errno;
  if (err == EADDRINUSE) {
    throw StepError("bind " + std::string(protocol) + " " + addr.to_string() + ": " + std::strerror(err),
                    "addr_in_use", {{"port", addr.port()}, {"protocol", protocol}});
  }
  common::throw_sys("bind", std::string(protocol) + " " + addr.to_string(), err);
}

common::SockAddr local_address(int fd) {
  common::SockAddr a;
  a.len = sizeof a.storage;
  if (::getsockname(fd, a.get(), &a.len) != 0) {
    common::throw_sys("getsockname", "", errno);
  }
  return a;
}

int size_buffer(int fd, bool receive, int bytes) {
  const int force = receive ? SO_RCVBUFFORCE : SO_SNDBUFFORCE;
  const int plain = receive ? SO_RCVBUF : SO_SNDBUF;
  if (bytes > 0 && ::setsockopt(fd, SOL_SOCKET, force, &bytes, sizeof bytes) != 0) {
    // Not root: the plain option silently caps at rmem_max/wmem_max.
    ::setsockopt(fd, SOL_SOCKET, plain, &bytes, sizeof bytes);
  }
  int effective = 0;
  socklen_t len = sizeof effective;
  ::getsockopt(fd, SOL_SOCKET, plain, &effective, &len);
  return effective;
}

bool enable_gro(int fd) {
  const int on = 1;
  return ::setsockopt(fd, IPPROTO_UDP, UDP_GRO, &on, sizeof on) == 0;
}

bool is_loopback(const common::SockAddr& addr) {
  if (addr.family() == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&addr.storage);
    return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
  }
  if (addr.family() == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&addr.storage);
    if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr)) {
      return true;
    }
    return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && in6->sin6_addr.s6_addr[12] == 127;
  }
  return false;
}

std::string boot_id() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  return id;
}

uint64_t wire_overhead_bytes(int family) { return family == AF_INET6 ? 14 + 40 + 8 : 14 + 20 + 8; }

}  // namespace sonda::udp
