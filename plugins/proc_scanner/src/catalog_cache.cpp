#include "catalog_cache.hpp"

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "private_file.hpp"

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
  // Trust only a file this user wrote and nobody else can change.
  const std::optional<std::string> cached =
      read_private_file(catalog_cache_path(dir, origin), size_t{4} << 20);
  if (!cached) {
    return std::nullopt;
  }
  try {
    const json j = json::parse(*cached);
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
  if (dir.empty()) {
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
  return write_private_file(catalog_cache_path(dir, origin), body);
}

}  // namespace sonda::proc_scanner
