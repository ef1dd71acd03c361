#include "proc_read.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>

namespace sonda::proc_scanner {

ssize_t read_small_fd(int fd, char* buf, size_t cap) {
  size_t total = 0;
  while (total + 1 < cap) {
    const ssize_t n = ::read(fd, buf + total, cap - 1 - total);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return -1;
    }
    if (n == 0) {
      break;
    }
    total += static_cast<size_t>(n);
  }
  buf[total] = '\0';
  return static_cast<ssize_t>(total);
}

ssize_t read_small_file_at(int dirfd, const char* name, char* buf, size_t cap) {
  const int fd = ::openat(dirfd, name, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return -1;
  }
  const ssize_t n = read_small_fd(fd, buf, cap);
  const int saved = errno;
  ::close(fd);
  errno = saved;
  return n;
}

bool parse_stat_line(const char* text, size_t len, ProcessInfo& info, uint32_t& flags) {
  // "pid (comm) S ppid ...": comm may hold spaces and ')', so cut at the last ')'.
  const char* open = static_cast<const char*>(std::memchr(text, '(', len));
  const char* close = nullptr;
  for (const char* p = text + len; p > text; --p) {
    if (p[-1] == ')') {
      close = p - 1;
      break;
    }
  }
  if (open == nullptr || close == nullptr || close < open || close + 2 >= text + len) {
    return false;
  }
  info.pid = std::atoi(text);
  info.comm.assign(open + 1, close);
  const char* p = close + 2;
  info.state = *p;
  // Fields after the state, numbered as in proc(5): 4 ppid ... 9 flags ... 22 starttime.
  int field = 3;
  char* end = nullptr;
  ++p;
  while (field < 22 && *p != '\0') {
    const unsigned long long v = std::strtoull(p, &end, 10);
    if (end == p) {
      // Signed fields (nice, priority) start with '-' which strtoull accepts;
      // anything else is malformed.
      return false;
    }
    ++field;
    if (field == 4) {
      info.ppid = static_cast<int>(v);
    } else if (field == 9) {
      flags = static_cast<uint32_t>(v);
    } else if (field == 22) {
      info.start_time_ticks = v;
    }
    p = end;
  }
  return field == 22;
}

bool read_stat_at(int pid_fd, ProcessInfo& info, uint32_t& flags) {
  char buf[1024];
  const ssize_t n = read_small_file_at(pid_fd, "stat", buf, sizeof buf);
  if (n <= 0) {
    return false;
  }
  return parse_stat_line(buf, static_cast<size_t>(n), info, flags);
}

uint64_t bracket_inode(const char* text, size_t len) {
  const char* open = static_cast<const char*>(std::memchr(text, '[', len));
  if (open == nullptr) {
    return 0;
  }
  uint64_t v = 0;
  for (const char* p = open + 1; p < text + len && *p != ']'; ++p) {
    if (*p < '0' || *p > '9') {
      return 0;
    }
    v = v * 10 + static_cast<uint64_t>(*p - '0');
  }
  return v;
}

void read_details_at(int pid_fd, ProcessInfo& info) {
  char buf[4096];
  ssize_t n = ::readlinkat(pid_fd, "exe", buf, sizeof buf - 1);
  if (n > 0) {
    info.exe.assign(buf, static_cast<size_t>(n));
  }
  n = read_small_file_at(pid_fd, "cmdline", buf, sizeof buf);
  if (n > 0) {
    // Arguments are NUL-separated (with a trailing NUL); join with spaces.
    size_t len = static_cast<size_t>(n);
    while (len > 0 && buf[len - 1] == '\0') {
      --len;
    }
    for (size_t i = 0; i < len; ++i) {
      if (buf[i] == '\0') {
        buf[i] = ' ';
      }
    }
    info.cmdline.assign(buf, len);
  }
  if (info.cmdline.empty() && info.ppid == 2) {
    info.kernel_thread = true;
  }
  n = read_small_file_at(pid_fd, "status", buf, sizeof buf);
  if (n > 0) {
    if (const char* uid = std::strstr(buf, "\nUid:")) {
      // "Uid:\treal\teffective\tsaved\tfs": the effective one decides access.
      char* end = nullptr;
      std::strtoul(uid + 5, &end, 10);
      info.uid = static_cast<uint32_t>(std::strtoul(end, nullptr, 10));
      info.user = user_name(info.uid);
    }
  }
  n = ::readlinkat(pid_fd, "ns/net", buf, sizeof buf - 1);
  if (n > 0) {
    info.netns = bracket_inode(buf, static_cast<size_t>(n));
  }
  n = read_small_file_at(pid_fd, "cgroup", buf, sizeof buf);
  if (n > 0) {
    info.cgroup = parse_cgroup_file(std::string_view(buf, static_cast<size_t>(n)));
  }
}

std::string user_name(uint32_t uid) {
  static std::mutex mu;
  static std::map<uint32_t, std::string> cache;
  {
    const std::lock_guard<std::mutex> lock(mu);
    if (auto it = cache.find(uid); it != cache.end()) {
      return it->second;
    }
  }
  std::string name = std::to_string(uid);
  passwd pw{};
  passwd* found = nullptr;
  char buf[4096];
  if (::getpwuid_r(uid, &pw, buf, sizeof buf, &found) == 0 && found != nullptr) {
    name = found->pw_name;
  }
  const std::lock_guard<std::mutex> lock(mu);
  cache.emplace(uid, name);
  return name;
}

uint64_t current_netns() {
  struct stat st {};
  if (::stat("/proc/thread-self/ns/net", &st) != 0) {
    return 0;
  }
  return st.st_ino;
}

}  // namespace sonda::proc_scanner
