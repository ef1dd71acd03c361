#include "sonda_common/netlink.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <vector>

#include "sonda_common/net.hpp"

namespace sonda::common {

void netlink_dump(int protocol, const void* request, size_t request_len,
                  const std::function<void(const nlmsghdr*)>& on_message) {
  Fd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol));
  if (!fd) throw std::system_error(errno, std::generic_category(), "socket(AF_NETLINK)");
  int rcvbuf = 1 << 20;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);

  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(fd.get(), request, request_len, 0, reinterpret_cast<sockaddr*>(&kernel),
               sizeof kernel) < 0) {
    throw std::system_error(errno, std::generic_category(), "sendto(netlink)");
  }
  // 32 KiB is the kernel's preferred dump chunk; bigger buffers just hold
  // more messages per recv().
  std::vector<char> buf(1 << 16);
  for (;;) {
    const ssize_t n = ::recv(fd.get(), buf.data(), buf.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "recv(netlink)");
    }
    if (n == 0) return;
    // NLMSG_OK, spelled out with explicit casts (clang's -Wsign-compare
    // rejects the macro's u32-vs-int comparison); `len` stays signed so a
    // truncated last message ends the loop instead of wrapping.
    int len = static_cast<int>(n);
    auto fits = [](const nlmsghdr* m, int left) {
      return left >= static_cast<int>(sizeof(nlmsghdr)) && m->nlmsg_len >= sizeof(nlmsghdr) &&
             static_cast<int64_t>(m->nlmsg_len) <= left;
    };
    for (auto* h = reinterpret_cast<const nlmsghdr*>(buf.data()); fits(h, len);
         h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_type == NLMSG_DONE) return;
      if (h->nlmsg_type == NLMSG_ERROR) {
        const auto* err = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
        if (err->error == 0) continue;
        throw std::system_error(-err->error, std::generic_category(), "netlink dump");
      }
      on_message(h);
    }
  }
}

}  // namespace sonda::common
