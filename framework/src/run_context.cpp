#include "run_context.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

namespace sonda {

namespace {

/// The first line of a small /proc file, or null when unreadable.
nlohmann::json read_first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) {
    return nullptr;
  }
  return line;
}

/// Integer sysctls become numbers; vectors (tcp_rmem) stay text.
nlohmann::json sysctl(const std::string& dotted) {
  std::string path = "/proc/sys/" + dotted;
  for (auto& c : path) {
    if (c == '.') {
      c = '/';
    }
  }
  auto value = read_first_line(path);
  if (value.is_string()) {
    const std::string text = value.get<std::string>();
    char* end = nullptr;
    const long long n = std::strtoll(text.c_str(), &end, 10);
    if (end != text.c_str() && *end == '\0') {
      return n;
    }
  }
  return value;
}

nlohmann::json cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      return colon == std::string::npos ? line : line.substr(colon + 2);
    }
  }
  return nullptr;
}

bool on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::string rest = path != nullptr ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= rest.size()) {
    const size_t colon = rest.find(':', start);
    const std::string dir = rest.substr(start, colon - start);
    if (!dir.empty() && access((dir + "/" + program).c_str(), X_OK) == 0) {
      return true;
    }
    if (colon == std::string::npos) {
      break;
    }
    start = colon + 1;
  }
  return false;
}

/// Connects to the local Docker socket; when it answers, asks GET /version
/// (HTTP/1.0, so the engine closes the connection) within ~300 ms.
nlohmann::json docker_engine(bool& running) {
  running = false;
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return nullptr;
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, "/var/run/docker.sock", sizeof addr.sun_path - 1);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return nullptr;
  }
  running = true;
  const char request[] = "GET /version HTTP/1.0\r\nHost: docker\r\n\r\n";
  std::string reply;
  if (send(fd, request, sizeof request - 1, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof request - 1)) {
    char buf[4096];
    pollfd pfd{fd, POLLIN, 0};
    while (reply.size() < 65536 && poll(&pfd, 1, 300) > 0) {
      const ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0) {
        break;
      }
      reply.append(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  const size_t body = reply.find("\r\n\r\n");
  if (body == std::string::npos) {
    return nullptr;
  }
  auto doc = nlohmann::json::parse(reply.substr(body + 4), nullptr, false);
  if (doc.is_object() && doc.contains("Version")) {
    return doc["Version"];
  }
  return nullptr;
}

}  // namespace

nlohmann::json collect_docker_context() {
  bool running = false;
  nlohmann::json version = docker_engine(running);
  return {{"installed", on_path("docker")}, {"engine_running", running}, {"version", version}};
}

nlohmann::json collect_run_context() {
  nlohmann::json ctx;
  char host[256] = {};
  ctx["host"] = gethostname(host, sizeof host - 1) == 0 ? nlohmann::json(host) : nlohmann::json(nullptr);
  utsname u{};
  if (uname(&u) == 0) {
    // boot_id: two hosts that share it share a kernel, and so one clock.
    ctx["kernel"] = {{"sysname", u.sysname}, {"release", u.release}, {"version", u.version},
                     {"machine", u.machine}, {"boot_id", read_first_line("/proc/sys/kernel/random/boot_id")}};
  } else {
    ctx["kernel"] = nullptr;
  }
  ctx["cpu"] = {{"count", std::thread::hardware_concurrency()}, {"model", cpu_model()}};
  nlohmann::json sysctls = nlohmann::json::object();
  for (const char* name : {"net.core.rmem_max", "net.core.wmem_max", "net.core.rmem_default",
                           "net.core.wmem_default", "net.ipv4.tcp_congestion_control",
                           "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"}) {
    sysctls[name] = sysctl(name);
  }
  ctx["sysctls"] = sysctls;
  ctx["docker"] = collect_docker_context();
  return ctx;
}

}  // namespace sonda
