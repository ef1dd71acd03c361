#include "cgroup.hpp"

#include <array>

namespace sonda::proc_scanner {
namespace {

bool is_hex_id(std::string_view s) {
  if (s.size() < 12) {
    return false;
  }
  for (const char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// "<prefix><id>.scope" systemd scopes that container runtimes create.
struct ScopePattern {
  std::string_view prefix;
  std::string_view runtime;
};
constexpr std::array<ScopePattern, 5> kScopePatterns = {{{"docker-", "docker"},
                                                         {"cri-containerd-", "containerd"},
                                                         {"crio-", "cri-o"},
                                                         {"libpod-", "podman"},
                                                         {"containerd-", "containerd"}}};

// "/<parent>/<id>" cgroupfs-driver layouts.
struct ParentPattern {
  std::string_view parent;
  std::string_view runtime;
};
constexpr std::array<ParentPattern, 3> kParentPatterns = {
    {{"docker", "docker"}, {"containerd", "containerd"}, {"libpod_parent", "podman"}}};

// Decodes systemd's escaping of '-' inside names ("\x2d").
std::string unescape_unit(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] == 'x') {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 2, 2)), nullptr, 16)));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

CgroupIdentity classify_cgroup_path(std::string_view path) {
  CgroupIdentity id;
  id.path = std::string(path);
  std::string_view previous;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) {
      slash = path.size();
    }
    const std::string_view seg = path.substr(pos, slash - pos);
    pos = slash + 1;
    if (seg.empty()) {
      continue;
    }
    if (ends_with(seg, ".service") || ends_with(seg, ".scope")) {
      id.unit = std::string(seg);
    }
    if (id.container_runtime.empty()) {
      for (const ScopePattern& p : kScopePatterns) {
        if (starts_with(seg, p.prefix) && ends_with(seg, ".scope")) {
          const auto hex = seg.substr(p.prefix.size(), seg.size() - p.prefix.size() - 6);
          if (is_hex_id(hex)) {
            id.container_runtime = std::string(p.runtime);
            id.container_id = std::string(hex);
          }
        }
      }
      for (const ParentPattern& p : kParentPatterns) {
        if (previous == p.parent && is_hex_id(seg)) {
          id.container_runtime = std::string(p.runtime);
          id.container_id = std::string(seg);
        }
      }
      if (starts_with(seg, "machine-") && ends_with(seg, ".scope")) {
        id.container_runtime = "systemd-nspawn";
        id.container_id = unescape_unit(seg.substr(8, seg.size() - 8 - 6));
      } else if (starts_with(seg, "lxc.payload.")) {
        id.container_runtime = "lxc";
        id.container_id = std::string(seg.substr(12));
      } else if (previous == "lxc" && !seg.empty()) {
        id.container_runtime = "lxc";
        id.container_id = std::string(seg);
      }
    }
    previous = seg;
  }
  return id;
}

CgroupIdentity parse_cgroup_file(std::string_view text) {
  CgroupIdentity v2;
  CgroupIdentity systemd_v1;
  CgroupIdentity container_v1;
  bool have_v2 = false;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) {
      nl = text.size();
    }
    const std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    const size_t c1 = line.find(':');
    const size_t c2 = c1 == std::string_view::npos ? c1 : line.find(':', c1 + 1);
    if (c2 == std::string_view::npos) {
      continue;
    }
    const std::string_view controllers = line.substr(c1 + 1, c2 - c1 - 1);
    CgroupIdentity id = classify_cgroup_path(line.substr(c2 + 1));
    if (line.substr(0, c1) == "0" && controllers.empty()) {
      v2 = std::move(id);
      have_v2 = true;
    } else if (controllers == "name=systemd") {
      systemd_v1 = std::move(id);
    } else if (container_v1.container_runtime.empty() && !id.container_runtime.empty()) {
      container_v1 = std::move(id);
    }
  }
  // On hybrid hosts the v2 tree may be "/" while systemd's v1 tree has the
  // real placement; prefer whichever says more.
  CgroupIdentity best = have_v2 ? v2 : systemd_v1;
  if (best.container_runtime.empty() && !systemd_v1.container_runtime.empty()) {
    best = systemd_v1;
  }
  if (best.container_runtime.empty() && !container_v1.container_runtime.empty()) {
    best.container_runtime = container_v1.container_runtime;
    best.container_id = container_v1.container_id;
  }
  if (best.unit.empty()) {
    best.unit = systemd_v1.unit;
  }
  return best;
}

}  // namespace sonda::proc_scanner
