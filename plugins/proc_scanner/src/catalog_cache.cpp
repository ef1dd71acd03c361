#include "catalog_cache.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "sonda_common/net.hpp"

namespace sonda::proc_scanner {
namespace {

using nlohmann::json;

// Bump when CatalogEntry, KernelThreadEntry or this layout changes.
constexpr int kFormat = 1;

uint64_t fnv1a(const std::string& text) {
  uint64_t h = 1469598103934665603ull;
  for (const char c : text) {
    h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  }
  return h;
}

bool read_whole(int fd, std::string& out) {
  char buf[16384];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return false;
    }
    if (n == 0) {
      return true;
    }
    out.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace

std::string catalog_cache_dir() {
  if (const char* env = std::getenv("SONDA_CATALOG_CACHE_DIR"); env != nullptr) {
    return env;
  }
  if (::geteuid() == 0) {
    return "/run/sonda";
  }
  const char* runtime = std::getenv("XDG_RUNTIME_DIR");
  return runtime != nullptr && runtime[0] == '/' ? std::string(runtime) + "/sonda" : "";
}

std::string catalog_cache_path(const std::string& dir, const std::string& origin) {
  char name[40];
  std::snprintf(name, sizeof name, "/catalog-%016llx.json",
                static_cast<unsigned long long>(fnv1a(origin)));
  return dir + name;
}

std::optional<CatalogParts> read_catalog_cache(const std::string& dir, const std::string& text,
                                               const std::string& origin) {
  const std::string path = catalog_cache_path(dir, origin);
  common::Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  struct stat st {};
  std::string cached;
  // Trust only a file this user wrote and nobody else can change.
  if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != ::geteuid() ||
      (st.st_mode & (S_IWGRP | S_IWOTH)) != 0 || !read_whole(fd.get(), cached)) {
    return std::nullopt;
  }
  try {
    const json j = json::parse(cached);
    if (j.at("format").get<int>() != kFormat || j.at("origin").get_ref<const std::string&>() != origin ||
        j.at("text").get_ref<const std::string&>() != text) {
      return std::nullopt;
    }
    CatalogParts parts;
    for (const json& a : j.at("applications")) {
      CatalogEntry e;
      e.id = a.at("id").get<std::string>();
      e.name = a.at("name").get<std::string>();
      e.process = a.at("process").get<std::vector<std::string>>();
      e.exe = a.at("exe").get<std::vector<std::string>>();
      e.cmdline = a.at("cmdline").get<std::vector<std::string>>();
      for (const json& p : a.at("ports")) {
        e.ports.emplace_back(p.at(0).get<uint16_t>(), p.at(1).get<std::string>());
      }
      e.banner = a.at("banner").get<std::string>();
      e.source = origin;
      parts.entries.push_back(std::move(e));
    }
    for (const json& k : j.at("kernel_threads")) {
      parts.kernel_threads.push_back(
          {k.at("pattern").get<std::string>(), k.at("what").get<std::string>(), origin});
    }
    return parts;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

bool write_catalog_cache(const std::string& dir, const std::string& text,
                         const std::string& origin, const CatalogParts& parts) {
  if (dir.empty() || (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)) {
    return false;
  }
  json apps = json::array();
  for (const CatalogEntry& e : parts.entries) {
    json ports = json::array();
    for (const auto& [port, proto] : e.ports) {
      ports.push_back({port, proto});
    }
    apps.push_back({{"id", e.id},
                    {"name", e.name},
                    {"process", e.process},
                    {"exe", e.exe},
                    {"cmdline", e.cmdline},
                    {"ports", std::move(ports)},
                    {"banner", e.banner}});
  }
  json kthreads = json::array();
  for (const KernelThreadEntry& k : parts.kernel_threads) {
    kthreads.push_back({{"pattern", k.pattern}, {"what", k.what}});
  }
  const std::string body = json{{"format", kFormat},
                                {"origin", origin},
                                {"text", text},
                                {"applications", std::move(apps)},
                                {"kernel_threads", std::move(kthreads)}}
                               .dump();
  const std::string path = catalog_cache_path(dir, origin);
  const std::string temporary = path + "." + std::to_string(::getpid()) + ".tmp";
  common::Fd fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd) {
    return false;
  }
  const bool written =
      ::write(fd.get(), body.data(), body.size()) == static_cast<ssize_t>(body.size());
  fd.reset();
  if (!written || ::rename(temporary.c_str(), path.c_str()) != 0) {
    ::unlink(temporary.c_str());
    return false;
  }
  return true;
}

}  // namespace sonda::proc_scanner
