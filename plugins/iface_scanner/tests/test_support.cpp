#include "test_support.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>

namespace sonda::iface::testing {

const sonda_plugin& plugin() {
  static const sonda_plugin& p = sonda::testing::load_plugin(IFACE_SCANNER_SO);
  return p;
}

json ip_json(const std::string& args) { return json::parse(check_command("ip -j " + args)); }

common::Fd bound_udp_socket(const std::string& ip, uint16_t port) {
  const common::SockAddr local = common::resolve(ip, port, SOCK_DGRAM);
  common::Fd fd(::socket(local.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) {
    common::throw_sys("socket", "(UDP)", errno);
  }
  if (::bind(fd.get(), local.get(), local.len) != 0) {
    common::throw_sys("bind", local.to_string(), errno);
  }
  return fd;
}

void send_datagrams(int fd, const common::SockAddr& to, int count, size_t payload_bytes) {
  const std::string payload(payload_bytes, 'x');
  for (int i = 0; i < count; ++i) {
    if (::sendto(fd, payload.data(), payload.size(), 0, to.get(), to.len) < 0) {
      common::throw_sys("sendto", to.to_string(), errno);
    }
  }
}

int receive_datagrams(int fd, int count, int timeout_ms) {
  std::array<char, 65536> buf{};
  int received = 0;
  while (received < count) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) {
      break;
    }
    if (::recv(fd, buf.data(), buf.size(), 0) >= 0) {
      ++received;
    }
  }
  return received;
}

}  // namespace sonda::iface::testing
