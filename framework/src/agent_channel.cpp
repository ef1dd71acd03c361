#include "agent_channel.hpp"

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace sonda {

namespace {

/// A header line longer than this is a broken peer, not a message.
constexpr size_t kMaxHeaderBytes = 64u << 20;
/// A payload longer than this is refused (a record of 1 GiB is a bug).
constexpr uint64_t kMaxPayloadBytes = 1ull << 30;

}  // namespace

std::string Frame::type() const {
  auto it = header.find("type");
  return it != header.end() && it->is_string() ? it->get<std::string>() : std::string();
}

OwnedFd& OwnedFd::operator=(OwnedFd&& o) noexcept {
  if (this != &o) {
    reset(o.release());
  }
  return *this;
}

void OwnedFd::reset(int fd) {
  if (fd_ >= 0) {
    ::close(fd_);
  }
  fd_ = fd;
}

FrameReader::~FrameReader() {
  for (int fd : fds_) {
    ::close(fd);
  }
}

bool FrameReader::fill() {
  constexpr size_t kReadBytes = 65536;
  if (capacity_ - size_ < kReadBytes) {
    const size_t capacity = std::max(2 * capacity_, size_ + kReadBytes);
    std::unique_ptr<char[]> larger(new char[capacity]);  // uninitialised: recv() writes it
    if (size_ > 0) {
      std::memcpy(larger.get(), buf_.get(), size_);
    }
    buf_ = std::move(larger);
    capacity_ = capacity;
  }
  char* const room = buf_.get() + size_;
  ssize_t n;
  for (;;) {
    if (socket_) {
      iovec iov{room, kReadBytes};
      alignas(cmsghdr) char control[CMSG_SPACE(8 * sizeof(int))];
      msghdr msg{};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      n = ::recvmsg(fd_, &msg, MSG_CMSG_CLOEXEC);
      if (n < 0 && errno == ENOTSOCK) {
        socket_ = false;
        continue;
      }
      if (n >= 0) {
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
          if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < count; ++i) {
              int fd;
              std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
              fds_.push_back(fd);
            }
          }
        }
        if ((msg.msg_flags & MSG_CTRUNC) != 0) {
          error_ = "the peer sent more descriptors at once than the protocol allows";
          return false;
        }
      }
    } else {
      n = ::read(fd_, room, kReadBytes);
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    break;
  }
  size_ += n > 0 ? static_cast<size_t>(n) : 0;
  if (n < 0) {
    error_ = std::string("read: ") + std::strerror(errno);
  }
  return n > 0;
}

bool FrameReader::next(Frame& frame) {
  if (pos_ > 0) {
    // What is left of the last read: at most one read's worth.
    std::memmove(buf_.get(), buf_.get() + pos_, size_ - pos_);
    size_ -= pos_;
    pos_ = 0;
  }
  size_t scanned = 0;
  const char* newline = nullptr;
  for (;;) {
    if (size_ > scanned) {
      newline = static_cast<const char*>(std::memchr(buf_.get() + scanned, '\n', size_ - scanned));
      if (newline != nullptr) {
        break;
      }
    }
    if (size_ - pos_ > kMaxHeaderBytes) {
      error_ = "a message line is longer than " + std::to_string(kMaxHeaderBytes) + " bytes";
      return false;
    }
    scanned = size_;
    if (!fill()) {
      if (error_.empty() && size_ > pos_) {
        error_ = "the channel ended inside a message";
      }
      return false;
    }
  }
  const size_t eol = static_cast<size_t>(newline - buf_.get());
  const std::string_view line(buf_.get() + pos_, eol - pos_);
  frame.header = nlohmann::json::parse(line, nullptr, false);
  pos_ = eol + 1;
  if (frame.header.is_discarded() || !frame.header.is_object()) {
    error_ = "not a protocol message: " + std::string(line.substr(0, 120));
    return false;
  }
  frame.payload.clear();
  frame.fd.reset();
  if (frame.header.contains("memfd")) {
    // Its descriptor came with the bytes of this line, so it is here.
    if (fds_.empty()) {
      error_ = "a message announced a descriptor that did not come with it";
      return false;
    }
    frame.fd.reset(fds_.front());
    fds_.pop_front();
  }
  auto bytes = frame.header.find("bytes");
  if (bytes == frame.header.end()) {
    return true;
  }
  if (!bytes->is_number_unsigned() || bytes->get<uint64_t>() > kMaxPayloadBytes) {
    error_ = "bad payload size " + bytes->dump();
    return false;
  }
  const size_t want = bytes->get<size_t>();
  // What is buffered, then straight into the payload: one copy of the bytes.
  const size_t have = std::min(want, size_ - pos_);
  frame.payload.reserve(want);
  frame.payload.assign(buf_.get() + pos_, have);
  pos_ += have;
  frame.payload.resize(want);
  size_t got = have;
  while (got < want) {
    const ssize_t n = ::read(fd_, frame.payload.data() + got, want - got);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      error_ = n < 0 ? std::string("read: ") + std::strerror(errno)
                     : "the channel ended inside a " + std::to_string(want) + "-byte payload";
      return false;
    }
    got += static_cast<size_t>(n);
  }
  return true;
}

bool FrameWriter::write(nlohmann::json header) { return write(std::move(header), std::string_view()); }

bool FrameWriter::write(nlohmann::json header, std::string_view payload) {
  if (payload.data() != nullptr) {
    header["bytes"] = payload.size();
  }
  std::string line = header.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  line += '\n';
  std::lock_guard lock(mu_);
  return write_all(line, payload);
}

bool FrameWriter::write_with_fd(nlohmann::json header, int fd) {
  std::string line = header.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  line += '\n';
  std::lock_guard lock(mu_);
  return write_all(line, std::string_view(), fd);
}

bool FrameWriter::write_all(std::string_view a, std::string_view b, int attach_fd) {
  iovec iov[2] = {{const_cast<char*>(a.data()), a.size()}, {const_cast<char*>(b.data()), b.size()}};
  int first = 0;
  bool socket = true;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  while (first < 2) {
    if (iov[first].iov_len == 0) {
      ++first;
      continue;
    }
    ssize_t n;
    if (socket) {
      msghdr msg{};
      msg.msg_iov = iov + first;
      msg.msg_iovlen = static_cast<size_t>(2 - first);
      if (attach_fd >= 0) {  // with the first bytes that go, and only with them
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        cmsghdr* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        std::memcpy(CMSG_DATA(c), &attach_fd, sizeof attach_fd);
      }
      n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
      if (n > 0) {
        attach_fd = -1;
      }
      if (n < 0 && errno == ENOTSOCK) {
        if (attach_fd >= 0) {
          return false;  // a pipe cannot carry a descriptor
        }
        socket = false;  // a pipe (ssh, docker exec): SIGPIPE is ignored by the agent
        continue;
      }
    } else {
      n = ::writev(fd_, iov + first, 2 - first);
    }
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return false;
    }
    size_t left = static_cast<size_t>(n);
    while (first < 2 && left >= iov[first].iov_len) {
      left -= iov[first].iov_len;
      iov[first].iov_len = 0;
      ++first;
    }
    if (first < 2) {
      iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + left;
      iov[first].iov_len -= left;
    }
  }
  return true;
}

}  // namespace sonda
