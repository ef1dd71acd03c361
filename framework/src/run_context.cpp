#include "run_context.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
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
  ctx["interfaces"] = collect_interfaces();
  return ctx;
}

nlohmann::json collect_interfaces() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) {
    return nlohmann::json::array();
  }
  std::map<unsigned, nlohmann::json> by_index;
  const int sock = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  for (ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    const unsigned index = if_nametoindex(a->ifa_name);
    nlohmann::json& j = by_index[index];
    if (j.is_null()) {
      int mtu = 0;
      ifreq req{};
      std::strncpy(req.ifr_name, a->ifa_name, IFNAMSIZ - 1);
      if (sock >= 0 && ioctl(sock, SIOCGIFMTU, &req) == 0) {
        mtu = req.ifr_mtu;
      }
      j = {{"name", a->ifa_name},
           {"index", index},
           {"up", (a->ifa_flags & IFF_UP) != 0},
           {"loopback", (a->ifa_flags & IFF_LOOPBACK) != 0},
           {"mtu", mtu},
           {"mac", nullptr},
           {"ipv4", nlohmann::json::array()},
           {"ipv6", nlohmann::json::array()}};
    }
    if (a->ifa_addr == nullptr) {
      continue;
    }
    const int family = a->ifa_addr->sa_family;
    if (family == AF_PACKET) {
      const auto* ll = reinterpret_cast<const sockaddr_ll*>(a->ifa_addr);
      if (ll->sll_halen == 6) {
        char mac[18];
        std::snprintf(mac, sizeof mac, "%02x:%02x:%02x:%02x:%02x:%02x", ll->sll_addr[0], ll->sll_addr[1],
                      ll->sll_addr[2], ll->sll_addr[3], ll->sll_addr[4], ll->sll_addr[5]);
        j["mac"] = mac;
      }
      continue;
    }
    if (family != AF_INET && family != AF_INET6) {
      continue;
    }
    const void* addr = family == AF_INET ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(a->ifa_addr)->sin_addr)
                                         : static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(a->ifa_addr)->sin6_addr);
    char text[INET6_ADDRSTRLEN] = {};
    inet_ntop(family, addr, text, sizeof text);
    int prefix = 0;
    if (a->ifa_netmask != nullptr) {
      const auto* m = family == AF_INET ? reinterpret_cast<const unsigned char*>(
                                              &reinterpret_cast<const sockaddr_in*>(a->ifa_netmask)->sin_addr)
                                        : reinterpret_cast<const unsigned char*>(
                                              &reinterpret_cast<const sockaddr_in6*>(a->ifa_netmask)->sin6_addr);
      for (int i = 0; i < (family == AF_INET ? 4 : 16); ++i) {
        prefix += __builtin_popcount(m[i]);
      }
    }
    j[family == AF_INET ? "ipv4" : "ipv6"].push_back(std::string(text) + "/" + std::to_string(prefix));
  }
  if (sock >= 0) {
    ::close(sock);
  }
  freeifaddrs(list);
  nlohmann::json out = nlohmann::json::array();
  for (auto& [index, j] : by_index) {
    out.push_back(std::move(j));
  }
  return out;
}

nlohmann::json host_reference_record(const nlohmann::json& interfaces) {
  auto bare = [](const std::string& with_prefix) { return with_prefix.substr(0, with_prefix.find('/')); };
  nlohmann::json rec = {{"ipv4", nullptr}, {"ipv6", nullptr}, {"interfaces", nlohmann::json::object()}};
  if (!interfaces.is_array()) {
    return rec;
  }
  for (const nlohmann::json& i : interfaces) {
    nlohmann::json entry = {{"up", i.value("up", false)}, {"mtu", i.value("mtu", 0)},
                            {"mac", i.value("mac", nlohmann::json())},
                            {"ipv4", nlohmann::json::array()}, {"ipv6", nlohmann::json::array()}};
    const bool usable = i.value("up", false) && !i.value("loopback", false);
    for (const char* family : {"ipv4", "ipv6"}) {
      for (const nlohmann::json& a : i.value(family, nlohmann::json::array())) {
        const std::string addr = bare(a.get<std::string>());
        entry[family].push_back(addr);
        const bool link_local = family[3] == '4' ? addr.rfind("169.254.", 0) == 0
                                                 : addr.rfind("fe80:", 0) == 0 || addr == "::1";
        if (usable && !link_local && rec[family].is_null()) {
          rec[family] = addr;
        }
      }
    }
    rec["interfaces"][i.value("name", std::string("?"))] = std::move(entry);
  }
  return rec;
}

}  // namespace sonda
