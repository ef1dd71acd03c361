#include "containers.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <tuple>

namespace sonda::proc_scanner {

using json = nlohmann::json;

namespace {

bool read_small_file(const std::string& path, std::string& out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return false;
  }
  out.clear();
  char buffer[16384];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) {
      ::close(fd);
      return n == 0;
    }
    out.append(buffer, static_cast<size_t>(n));
  }
}

std::string label(const json& labels, const char* key) {
  if (!labels.is_object()) {
    return {};
  }
  const auto it = labels.find(key);
  return it != labels.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string string_at(const json& object, const char* key) {
  if (!object.is_object()) {
    return {};
  }
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

uint64_t inode_of(const std::string& path) {
  struct stat st {};
  return !path.empty() && ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

}  // namespace

DockerRoots docker_roots_from_cmdline(std::string_view cmdline) {
  DockerRoots roots;
  std::vector<std::string_view> words;
  for (size_t pos = 0; pos < cmdline.size();) {
    const size_t end = std::min(cmdline.find(' ', pos), cmdline.size());
    if (end > pos) {
      words.push_back(cmdline.substr(pos, end - pos));
    }
    pos = end + 1;
  }
  for (size_t i = 0; i < words.size(); ++i) {
    const auto take = [&](std::string_view flag, std::string& into) {
      if (words[i] == flag && i + 1 < words.size()) {
        into = words[i + 1];
        return true;
      }
      if (words[i].size() > flag.size() + 1 && words[i].substr(0, flag.size()) == flag &&
          words[i][flag.size()] == '=') {
        into = words[i].substr(flag.size() + 1);
        return true;
      }
      return false;
    };
    if (!take("--data-root", roots.data_root) && !take("-g", roots.data_root)) {
      take("--exec-root", roots.exec_root);
    }
  }
  return roots;
}

std::shared_ptr<ContainerInfo> parse_docker_config(std::string_view text) {
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("ID")) {
    return nullptr;
  }
  auto c = std::make_shared<ContainerInfo>();
  c->runtime = "docker";
  c->id = string_at(j, "ID");
  c->name = string_at(j, "Name");
  if (!c->name.empty() && c->name.front() == '/') {
    c->name.erase(0, 1);
  }
  const json& config = j.contains("Config") ? j["Config"] : json();
  c->image = string_at(config, "Image");
  if (c->image.empty()) {
    c->image = string_at(j, "Image");
  }
  const json& labels = config.is_object() && config.contains("Labels") ? config["Labels"] : json();
  c->compose_project = label(labels, "com.docker.compose.project");
  c->compose_service = label(labels, "com.docker.compose.service");
  c->k8s_pod = label(labels, "io.kubernetes.pod.name");
  c->k8s_namespace = label(labels, "io.kubernetes.pod.namespace");
  c->k8s_container = label(labels, "io.kubernetes.container.name");
  if (j.contains("State") && j["State"].is_object()) {
    const json& state = j["State"];
    if (state.value("Running", false) && state.contains("Pid") && state["Pid"].is_number()) {
      c->pid = state["Pid"].get<int>();
    }
  }
  if (j.contains("NetworkSettings") && j["NetworkSettings"].is_object()) {
    const json& ns = j["NetworkSettings"];
    c->sandbox_key = string_at(ns, "SandboxKey");
    // "Ports": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}], "81/tcp": null}
    if (ns.contains("Ports") && ns["Ports"].is_object()) {
      for (const auto& [spec, bindings] : ns["Ports"].items()) {
        const size_t slash = spec.find('/');
        for (const json& b : bindings.is_array() ? bindings : json::array()) {
          PublishedPort port;
          port.container_port = std::atoi(spec.c_str());
          port.protocol = slash == std::string::npos ? "tcp" : spec.substr(slash + 1);
          port.host_address = string_at(b, "HostIp");
          port.host_port = std::atoi(string_at(b, "HostPort").c_str());
          if (port.host_port > 0 && port.container_port > 0) {
            c->published.push_back(std::move(port));
          }
        }
      }
    }
    if (ns.contains("Networks") && ns["Networks"].is_object()) {
      for (const auto& [network, settings] : ns["Networks"].items()) {
        if (c->network_mode.empty()) {
          c->network_mode = network;
        }
        for (const char* key : {"IPAddress", "GlobalIPv6Address"}) {
          if (std::string a = string_at(settings, key); !a.empty()) {
            c->addresses.push_back(std::move(a));
          }
        }
      }
    }
  }
  return c;
}

ContainerDirectory ContainerDirectory::load(const std::vector<DockerRoots>& docker_roots,
                                            const std::string& podman_storage) {
  ContainerDirectory d;
  std::vector<std::string> seen_data;
  std::string text;
  for (const DockerRoots& roots : docker_roots) {
    if (std::find(seen_data.begin(), seen_data.end(), roots.data_root) != seen_data.end()) {
      continue;
    }
    seen_data.push_back(roots.data_root);
    const std::string netns_dir = roots.exec_root + "/netns";
    if (std::find(d.netns_dirs_.begin(), d.netns_dirs_.end(), netns_dir) == d.netns_dirs_.end() &&
        ::access(netns_dir.c_str(), F_OK) == 0) {
      d.netns_dirs_.push_back(netns_dir);
    }
    const std::string containers_dir = roots.data_root + "/containers";
    DIR* dir = ::opendir(containers_dir.c_str());
    if (dir == nullptr) {
      continue;  // no Docker here (the usual case), or not root
    }
    while (const dirent* e = ::readdir(dir)) {
      if (e->d_name[0] == '.') {
        continue;
      }
      const std::string path = containers_dir + "/" + e->d_name + "/config.v2.json";
      if (!read_small_file(path, text)) {
        continue;  // removed while we looked
      }
      std::shared_ptr<ContainerInfo> c = parse_docker_config(text);
      if (c == nullptr) {
        d.notes_.push_back(path + " is not a Docker container config");
        continue;
      }
      // A stopped container keeps its old SandboxKey; its file is gone.
      c->netns_inode = c->pid != 0 ? inode_of(c->sandbox_key) : 0;
      d.by_id_.emplace(c->id, std::move(c));
    }
    ::closedir(dir);
  }
  // podman (and buildah, cri-o's storage) keeps names and image ids here;
  // network state lives in per-container files this reader leaves out.
  if (read_small_file(podman_storage + "/overlay-containers/containers.json", text)) {
    const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
    for (const json& entry : j.is_array() ? j : json::array()) {
      auto c = std::make_shared<ContainerInfo>();
      c->runtime = "podman";
      c->id = string_at(entry, "id");
      if (c->id.empty()) {
        continue;
      }
      if (entry.contains("names") && entry["names"].is_array() && !entry["names"].empty() &&
          entry["names"][0].is_string()) {
        c->name = entry["names"][0].get<std::string>();
      }
      c->image = string_at(entry, "image");
      // "metadata" is JSON in a string; it carries the name the image was pulled under.
      const json meta =
          json::parse(string_at(entry, "metadata"), nullptr, /*allow_exceptions=*/false);
      if (const std::string image_name = string_at(meta, "image-name"); !image_name.empty()) {
        c->image = image_name;
      }
      d.by_id_.emplace(c->id, std::move(c));
    }
  }
  return d;
}

std::shared_ptr<const ContainerInfo> ContainerDirectory::find(std::string_view id) const {
  if (id.empty()) {
    return nullptr;
  }
  if (const auto it = by_id_.find(std::string(id)); it != by_id_.end()) {
    return it->second;
  }
  if (id.size() >= 12) {
    for (const auto& [full, c] : by_id_) {
      if (full.compare(0, id.size(), id) == 0) {
        return c;
      }
    }
  }
  return nullptr;
}

std::shared_ptr<const ContainerInfo> ContainerDirectory::find_by_address(
    std::string_view address) const {
  for (const auto& [id, c] : by_id_) {
    if (c->pid != 0 &&
        std::find(c->addresses.begin(), c->addresses.end(), address) != c->addresses.end()) {
      return c;
    }
  }
  return nullptr;
}

std::vector<std::shared_ptr<const ContainerInfo>> ContainerDirectory::in_netns(
    uint64_t inode) const {
  std::vector<std::shared_ptr<const ContainerInfo>> out;
  for (const auto& [id, c] : by_id_) {
    if (inode != 0 && c->netns_inode == inode) {
      out.push_back(c);
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a->name < b->name; });
  return out;
}

std::vector<std::shared_ptr<const ContainerInfo>> ContainerDirectory::all() const {
  std::vector<std::shared_ptr<const ContainerInfo>> out;
  for (const auto& [id, c] : by_id_) {
    out.push_back(c);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::tie(a->name, a->id) < std::tie(b->name, b->id);
  });
  return out;
}

json published_json(const ContainerDirectory& directory) {
  json out = json::array();
  for (const auto& c : directory.all()) {
    if (c->pid == 0) {
      continue;  // a stopped container's ports are not forwarded
    }
    for (const PublishedPort& p : c->published) {
      out.push_back({{"host", p.host_address.empty() ? "0.0.0.0" : p.host_address},
                     {"host_port", p.host_port},
                     {"protocol", p.protocol},
                     {"container", {{"id", c->id}, {"name", c->name}}},
                     {"address", c->addresses.empty() ? json(nullptr) : json(c->addresses.front())},
                     {"port", p.container_port}});
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const json& a, const json& b) {
    return a["host_port"].get<int>() < b["host_port"].get<int>();
  });
  return out;
}

std::vector<DockerRoots> docker_roots_of(const std::vector<ProcessInfo>& processes) {
  std::vector<DockerRoots> roots{DockerRoots{}};
  for (const ProcessInfo& p : processes) {
    if (p.comm == "dockerd") {
      roots.push_back(docker_roots_from_cmdline(p.cmdline));
    }
  }
  return roots;
}

void attach_containers(const ContainerDirectory& directory, std::vector<ProcessInfo>& processes) {
  if (directory.size() == 0) {
    return;
  }
  for (ProcessInfo& p : processes) {
    if (p.cgroup.container_runtime == "docker" || p.cgroup.container_runtime == "podman") {
      p.container = directory.find(p.cgroup.container_id);
    }
  }
}

json container_json(const ContainerInfo& c) {
  json o = {{"runtime", c.runtime}, {"id", c.id}};
  if (!c.name.empty()) {
    o["name"] = c.name;
  }
  if (!c.image.empty()) {
    o["image"] = c.image;
  }
  if (!c.compose_project.empty() || !c.compose_service.empty()) {
    o["compose"] = {{"project", c.compose_project}, {"service", c.compose_service}};
  }
  if (!c.k8s_pod.empty() || !c.k8s_namespace.empty() || !c.k8s_container.empty()) {
    o["kubernetes"] = {
        {"pod", c.k8s_pod}, {"namespace", c.k8s_namespace}, {"container", c.k8s_container}};
  }
  if (!c.network_mode.empty()) {
    o["network"] = c.network_mode;
  }
  if (!c.addresses.empty()) {
    o["addresses"] = c.addresses;
  }
  return o;
}

json container_json(const ProcessInfo& p) {
  if (p.container != nullptr) {
    return container_json(*p.container);
  }
  return {{"runtime", p.cgroup.container_runtime}, {"id", p.cgroup.container_id}};
}

std::optional<PortForward> docker_proxy_forward(const ProcessInfo& p,
                                                const ContainerDirectory& directory) {
  if (p.comm != "docker-proxy") {
    return std::nullopt;
  }
  PortForward f;
  f.via = "docker-proxy";
  std::string port_text;
  const std::string_view cmdline = p.cmdline;
  std::string_view flag;
  for (size_t pos = 0; pos < cmdline.size();) {
    const size_t end = std::min(cmdline.find(' ', pos), cmdline.size());
    const std::string_view word = cmdline.substr(pos, end - pos);
    pos = end + 1;
    if (!word.empty() && word.front() == '-') {
      flag = word;
      continue;
    }
    if (flag == "-proto") {
      f.protocol = word;
    } else if (flag == "-container-ip") {
      f.address = word;
    } else if (flag == "-container-port") {
      port_text = word;
    }
    flag = {};
  }
  if (f.address.empty() || port_text.empty()) {
    return std::nullopt;
  }
  f.port = std::atoi(port_text.c_str());
  f.container = directory.find_by_address(f.address);
  return f;
}

json forward_json(const PortForward& f) {
  json o = {{"address", f.address}, {"port", f.port}, {"protocol", f.protocol}, {"via", f.via}};
  if (f.container != nullptr) {
    o["container"] = container_json(*f.container);
  }
  return o;
}

std::string container_label(const ContainerInfo& c) {
  std::string text = c.name.empty() ? c.id.substr(0, 12) : c.name;
  std::vector<std::string> parts;
  if (!c.image.empty()) {
    parts.push_back(c.image);
  }
  if (!c.compose_project.empty()) {
    parts.push_back("compose " + c.compose_project + "/" + c.compose_service);
  }
  if (!c.k8s_pod.empty()) {
    parts.push_back("pod " + c.k8s_namespace + "/" + c.k8s_pod);
  }
  for (size_t i = 0; i < parts.size(); ++i) {
    text += (i == 0 ? " (" : ", ") + parts[i];
  }
  return parts.empty() ? text : text + ")";
}

}  // namespace sonda::proc_scanner
