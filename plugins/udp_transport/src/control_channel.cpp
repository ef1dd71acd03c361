#include "control_channel.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <sonda/plugin.hpp>

namespace sonda::udp {
namespace {

// Control lines are small JSON objects; anything this long is not ours.
constexpr size_t kMaxLineBytes = 16 * 1024 * 1024;

int poll_ms_until(int64_t deadline_ns) {
  const int64_t left = deadline_ns - common::monotonic_ns();
  return static_cast<int>(std::clamp<int64_t>(left / 1'000'000, 0, 50));
}

}  // namespace

ControlChannel ControlChannel::connect_to(const common::SockAddr& addr, int64_t timeout_ns) {
  common::Fd fd(::socket(addr.family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) {
    common::throw_sys("socket", "control (TCP)", errno);
  }
  const std::string what = "control " + addr.to_string();
  if (::connect(fd.get(), addr.get(), addr.len) != 0 && errno != EINPROGRESS) {
    common::throw_sys("connect", what, errno);
  }
  pollfd p{fd.get(), POLLOUT, 0};
  const int pr = ::poll(&p, 1, static_cast<int>(timeout_ns / 1'000'000));
  if (pr == 0) {
    common::throw_sys("connect", what, ETIMEDOUT);
  }
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
  if (pr < 0 || err != 0) {
    common::throw_sys("connect", what, pr < 0 ? errno : err);
  }
  return ControlChannel(std::move(fd));
}

void ControlChannel::send(const nlohmann::json& msg) {
  const std::string line = msg.dump() + "\n";
  size_t off = 0;
  while (off < line.size()) {
    const ssize_t n = ::send(fd_.get(), line.data() + off, line.size() - off, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      pollfd p{fd_.get(), POLLOUT, 0};
      ::poll(&p, 1, 50);
      continue;
    }
    if (n <= 0) {
      common::throw_sys("send", "control message", errno);
    }
    off += static_cast<size_t>(n);
  }
}

std::optional<std::string> ControlChannel::take_line() {
  const auto nl = buffer_.find('\n');
  if (nl == std::string::npos) {
    return std::nullopt;
  }
  std::string line = buffer_.substr(0, nl);
  buffer_.erase(0, nl + 1);
  return line;
}

void ControlChannel::read_some(int64_t deadline_ns) {
  if (common::monotonic_ns() >= deadline_ns) {
    throw StepError("control: no reply before the deadline", "timeout");
  }
  pollfd p{fd_.get(), POLLIN, 0};
  if (::poll(&p, 1, poll_ms_until(deadline_ns)) <= 0) {
    return;
  }
  char chunk[4096];
  const ssize_t n = ::recv(fd_.get(), chunk, sizeof chunk, MSG_DONTWAIT);
  if (n == 0) {
    throw StepError("control: peer closed the connection", "protocol");
  }
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) {
      return;
    }
    common::throw_sys("recv", "control message", errno);
  }
  buffer_.append(chunk, static_cast<size_t>(n));
  if (buffer_.size() > kMaxLineBytes) {
    throw StepError("control: line longer than 16 MiB", "protocol");
  }
}

nlohmann::json ControlChannel::parse(const std::string& line) {
  nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    throw StepError("control: not a JSON object: '" + line.substr(0, 80) + "'", "protocol");
  }
  return j;
}

void ControlChannel::throw_stopped() { throw StepError("control: stopped while waiting", "stopped"); }

}  // namespace sonda::udp
