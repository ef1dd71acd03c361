#include "catalog.hpp"

#include <dlfcn.h>
#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "catalog_cache.hpp"

namespace sonda::proc_scanner {
namespace {

bool glob_match(const std::string& pattern, const std::string& text) {
  if (!pattern.empty() && pattern.back() == '*') {
    return text.compare(0, pattern.size() - 1, pattern, 0, pattern.size() - 1) == 0;
  }
  return pattern == text;
}

bool any_glob(const std::vector<std::string>& patterns, const std::string& text) {
  if (text.empty()) {
    return false;
  }
  for (const std::string& p : patterns) {
    if (glob_match(p, text)) {
      return true;
    }
  }
  return false;
}

std::string basename_of(const std::string& path) {
  const auto slash = path.rfind('/');
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  // A replaced binary reads "/usr/sbin/sshd (deleted)".
  if (const auto pos = base.find(" (deleted)"); pos != std::string::npos) {
    base.resize(pos);
  }
  return base;
}

std::vector<std::string> string_list(const YAML::Node& node) {
  std::vector<std::string> out;
  if (!node) {
    return out;
  }
  if (node.IsScalar()) {
    out.push_back(node.as<std::string>());
    return out;
  }
  for (const auto& item : node) {
    out.push_back(item.as<std::string>());
  }
  return out;
}

std::pair<uint16_t, std::string> parse_port_spec(const std::string& spec, const std::string& where) {
  const auto slash = spec.find('/');
  const std::string number = spec.substr(0, slash);
  const std::string proto = slash == std::string::npos ? "tcp" : spec.substr(slash + 1);
  char* end = nullptr;
  const long port = std::strtol(number.c_str(), &end, 10);
  if (number.empty() || *end != '\0' || port < 1 || port > 65535 ||
      (proto != "tcp" && proto != "udp")) {
    throw std::runtime_error(where + ": bad port '" + spec + "'; expected N/tcp or N/udp");
  }
  return {static_cast<uint16_t>(port), proto};
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

void Catalog::load_file(const std::string& path, bool cached) {
  std::ifstream in(path);
  if (!in) {
    throw std::runtime_error("catalog " + path + ": cannot open: " + std::strerror(errno));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = std::move(buffer).str();
  const std::string dir = cached ? catalog_cache_dir() : std::string();
  std::optional<CatalogParts> parts;
  if (!dir.empty()) {
    parts = read_catalog_cache(dir, text, path);
  }
  if (!parts) {
    parts = parse_catalog(text, path);
    if (!dir.empty()) {
      write_catalog_cache(dir, text, path, *parts);
    }
  }
  append(std::move(*parts));
  files_.push_back(path);
}

void Catalog::append(CatalogParts&& parts) {
  for (CatalogEntry& e : parts.entries) {
    entries_.push_back(std::move(e));
  }
  for (KernelThreadEntry& k : parts.kernel_threads) {
    kernel_threads_.push_back(std::move(k));
  }
}

void Catalog::load_text(const std::string& text, const std::string& origin) {
  append(parse_catalog(text, origin));
}

CatalogParts parse_catalog(const std::string& text, const std::string& origin) {
  CatalogParts parts;
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw std::runtime_error("catalog " + origin + ": " + e.what());
  }
  const YAML::Node apps = root["applications"];
  const YAML::Node kthreads = root["kernel_threads"];
  if ((!apps || !apps.IsSequence()) && (!kthreads || !kthreads.IsSequence())) {
    throw std::runtime_error("catalog " + origin +
                             ": expected a top-level 'applications:' or 'kernel_threads:' list");
  }
  if (kthreads && kthreads.IsSequence()) {
    for (const auto& k : kthreads) {
      const std::string where = origin + ":" + std::to_string(k.Mark().line + 1);
      try {
        parts.kernel_threads.push_back({k["name"].as<std::string>(), k["what"].as<std::string>(), origin});
      } catch (const YAML::Exception& ex) {
        throw std::runtime_error(where + ": " + ex.what() + " (each kernel thread needs name and what)");
      }
    }
  }
  if (!apps || !apps.IsSequence()) {
    return parts;
  }
  for (const auto& app : apps) {
    const std::string where = origin + ":" + std::to_string(app.Mark().line + 1);
    try {
      CatalogEntry e;
      e.id = app["id"].as<std::string>();
      e.name = app["name"].as<std::string>();
      e.process = string_list(app["process"]);
      e.exe = string_list(app["exe"]);
      e.cmdline = string_list(app["cmdline"]);
      for (const std::string& p : string_list(app["ports"])) {
        e.ports.push_back(parse_port_spec(p, where));
      }
      if (app["banner"]) {
        e.banner = app["banner"].as<std::string>();
      }
      if (e.process.empty() && e.exe.empty()) {
        throw std::runtime_error(where + ": application '" + e.id + "' needs process: or exe:");
      }
      e.source = origin;
      parts.entries.push_back(std::move(e));
    } catch (const YAML::Exception& ex) {
      throw std::runtime_error(where + ": " + ex.what() + " (each application needs id and name)");
    }
  }
  return parts;
}

const KernelThreadEntry* Catalog::explain_kernel_thread(const std::string& group) const {
  // An exact name first, else the longest matching prefix; later entries
  // (user catalogs) win ties.
  const KernelThreadEntry* best = nullptr;
  size_t best_len = 0;
  for (auto it = kernel_threads_.rbegin(); it != kernel_threads_.rend(); ++it) {
    const std::string& p = it->pattern;
    if (p == group) {
      return &*it;
    }
    const bool prefix = !p.empty() && p.back() == '*';
    if (prefix && p.size() - 1 > best_len && group.compare(0, p.size() - 1, p, 0, p.size() - 1) == 0) {
      best = &*it;
      best_len = p.size() - 1;
    }
  }
  return best;
}

namespace {

uint8_t process_hits(const CatalogEntry& e, const ServiceFacts& facts, const std::string& exe_base) {
  const bool process_hit = any_glob(e.process, facts.comm) || any_glob(e.exe, exe_base) ||
                           any_glob(e.process, exe_base);
  bool cmdline_hit = false;
  for (const std::string& needle : e.cmdline) {
    cmdline_hit = cmdline_hit || facts.cmdline.find(needle) != std::string::npos;
  }
  return static_cast<uint8_t>((process_hit ? 1 : 0) | (cmdline_hit ? 2 : 0));
}

}  // namespace

ProcessMatch Catalog::match_process(const ServiceFacts& facts) const {
  const std::string exe_base = basename_of(facts.exe);
  ProcessMatch match;
  match.hits.reserve(entries_.size());
  for (const CatalogEntry& e : entries_) {
    match.hits.push_back(process_hits(e, facts, exe_base));
  }
  return match;
}

Identification Catalog::identify(const ServiceFacts& facts, const ProcessMatch* match) const {
  Identification best;
  best.port_name = service_port_name(facts.port, facts.protocol);
  int best_score = 0;
  bool best_cmdline = false;
  bool best_port = false;
  bool best_banner = false;
  const std::string exe_base = basename_of(facts.exe);
  if (match != nullptr && match->hits.size() != entries_.size()) {
    match = nullptr;  // made by another catalog
  }
  const auto score_entry = [&](size_t index, bool& cmdline_hit, bool& port_hit,
                               bool& banner_hit) {
    const CatalogEntry& e = entries_[index];
    const uint8_t hits = match != nullptr ? match->hits[index] : process_hits(e, facts, exe_base);
    const bool process_hit = (hits & 1) != 0;
    cmdline_hit = (hits & 2) != 0;
    port_hit = false;
    for (const auto& [port, proto] : e.ports) {
      port_hit = port_hit || (port == facts.port && proto == facts.protocol);
    }
    banner_hit = !e.banner.empty() && facts.banner.find(e.banner) != std::string::npos;
    if (!process_hit || (!e.cmdline.empty() && !cmdline_hit)) {
      // Not this program; a port-only guess still counts a little.
      return port_hit ? 1 : 0;
    }
    return 10 + (cmdline_hit ? 2 : 0) + (port_hit ? 1 : 0) + (banner_hit ? 2 : 0);
  };
  // Later files (user catalogs) win ties: iterate in reverse, keep first best.
  for (size_t index = entries_.size(); index-- > 0;) {
    bool cmdline_hit = false;
    bool port_hit = false;
    bool banner_hit = false;
    const int score = score_entry(index, cmdline_hit, port_hit, banner_hit);
    if (score > best_score) {
      best_score = score;
      best.entry = &entries_[index];
      best_cmdline = cmdline_hit;
      best_port = port_hit;
      best_banner = banner_hit;
    }
  }
  const std::string where = std::to_string(facts.port) + "/" + facts.protocol;
  // An HTTP reply whose status line is all it says (no Server: header) still
  // proves an HTTP server: medium evidence when no program matched.
  const bool bare_http = facts.banner_http && facts.banner.rfind("HTTP/", 0) == 0;
  if (bare_http && best_score < 10) {
    static const CatalogEntry kHttpServer = [] {
      CatalogEntry e;
      e.id = "http-server";
      e.name = "HTTP server (it sends no Server: header)";
      e.source = "the HTTP reply";
      return e;
    }();
    best.entry = &kHttpServer;
    best.tags.push_back("http");
    best.evidence.push_back("answered HTTP HEAD with '" + facts.banner + "' and no Server: header");
    if (!best.port_name.empty()) {
      best.tags.push_back("services");
      best.evidence.push_back("/etc/services names " + where + " '" + best.port_name + "'");
    }
    best.confidence = "medium";
    return best;
  }
  if (best.entry != nullptr && best_score >= 10) {
    best.tags.push_back("catalog");
    // comm is the name the process was started under; its executable may be
    // another file (Debian's redis-server is a link to redis-check-rdb).
    const std::string who =
        exe_base.empty() || exe_base == facts.comm
            ? "process '" + facts.comm + "'"
            : "process '" + facts.comm + "' (started under that name; its executable file is " + exe_base + ")";
    best.evidence.push_back(who + " matches catalog entry '" + best.entry->id + "' from " + best.entry->source);
    if (best_cmdline) {
      best.tags.push_back("cmdline");
      best.evidence.push_back("command line contains a pattern of '" + best.entry->id + "'");
    }
    if (best_port) {
      best.tags.push_back("port");
      best.evidence.push_back(where + " is a default port of " + best.entry->name);
    }
  } else if (best.entry != nullptr) {
    best.tags.push_back("port");
    best.evidence.push_back(where + " is a default port of " + best.entry->name +
                            ", but the process '" + facts.comm + "' is not the catalog's");
  }
  if (!best.port_name.empty()) {
    best.tags.push_back("services");
    best.evidence.push_back("/etc/services names " + where + " '" + best.port_name + "'");
  }
  if (best_banner) {
    best.tags.push_back("banner");
    best.evidence.push_back("banner contains '" + best.entry->banner + "'");
  }
  // A process match is worth 2, cmdline and default port 1 each, a banner 2;
  // a port-only guess is 1. Three or more is "high".
  int points = 0;
  if (best_score >= 10) {
    points = 2 + (best_cmdline ? 1 : 0) + (best_port ? 1 : 0) + (best_banner ? 2 : 0);
  } else if (best.entry != nullptr || !best.port_name.empty()) {
    points = 1;
  }
  best.confidence = points >= 3 ? "high" : points == 2 ? "medium" : points == 1 ? "low" : "none";
  return best;
}

std::string default_catalog_path() {
  std::vector<std::string> candidates;
  Dl_info info{};
  if (::dladdr(reinterpret_cast<void*>(&default_catalog_path), &info) != 0 &&
      info.dli_fname != nullptr) {
    std::string dir = info.dli_fname;
    const auto slash = dir.rfind('/');
    dir = slash == std::string::npos ? "." : dir.substr(0, slash);
    candidates.push_back(dir + "/proc_scanner/apps.yaml");
  }
#ifdef SONDA_PROC_SCANNER_DATADIR
  candidates.push_back(std::string(SONDA_PROC_SCANNER_DATADIR) + "/apps.yaml");
#endif
#ifdef SONDA_PROC_SCANNER_SOURCE_DATADIR
  candidates.push_back(std::string(SONDA_PROC_SCANNER_SOURCE_DATADIR) + "/apps.yaml");
#endif
  for (const std::string& c : candidates) {
    if (exists(c)) {
      char resolved[PATH_MAX];
      return ::realpath(c.c_str(), resolved) != nullptr ? std::string(resolved) : c;
    }
  }
  return "";
}

std::string service_port_name(uint16_t port, const std::string& protocol) {
  static std::once_flag once;
  static std::map<std::pair<uint16_t, std::string>, std::string> names;
  std::call_once(once, [] {
    std::FILE* f = std::fopen("/etc/services", "re");
    if (f == nullptr) {
      return;
    }
    char line[512];
    while (std::fgets(line, sizeof line, f) != nullptr) {
      char name[128];
      unsigned port_number = 0;
      char proto[16];
      if (line[0] == '#' ||
          std::sscanf(line, "%127s %u/%15s", name, &port_number, proto) != 3 ||
          port_number > 65535) {
        continue;
      }
      names.emplace(std::make_pair(static_cast<uint16_t>(port_number), std::string(proto)), name);
    }
    std::fclose(f);
  });
  const auto it = names.find({port, protocol});
  return it == names.end() ? "" : it->second;
}

}  // namespace sonda::proc_scanner
