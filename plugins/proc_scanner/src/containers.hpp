// What the container runtimes on this host know about their containers:
// names, images, labels, addresses and network namespaces, read from their
// own local state files (never over the network, never through an API).
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "proc_table.hpp"

namespace sonda::proc_scanner {

/// A port the runtime publishes on the host for a container (docker run -p).
struct PublishedPort {
  std::string host_address;  ///< "" = every address
  int host_port = 0;
  int container_port = 0;
  std::string protocol;  ///< tcp, udp, sctp
};

/// One container as its runtime's state describes it.
struct ContainerInfo {
  std::string runtime;  ///< docker, podman
  std::string id;       ///< full 64-hex id
  std::string name;     ///< without Docker's leading '/'
  std::string image;    ///< as the user named it (busybox:lab), else the image id
  std::string compose_project;  ///< label com.docker.compose.project
  std::string compose_service;  ///< label com.docker.compose.service
  std::string k8s_pod;          ///< label io.kubernetes.pod.name
  std::string k8s_namespace;    ///< label io.kubernetes.pod.namespace
  std::string k8s_container;    ///< label io.kubernetes.container.name
  std::string network_mode;     ///< bridge, host, none, container:<id>, <network name>
  std::vector<std::string> addresses;  ///< IPv4/IPv6 addresses on its networks
  std::string sandbox_key;  ///< its netns file (<exec-root>/netns/<12 hex>); "" for host/none
  uint64_t netns_inode = 0;  ///< inode of sandbox_key's nsfs file; 0 when not held
  int pid = 0;               ///< its init process (State.Pid), 0 when not running
  std::vector<PublishedPort> published;  ///< NetworkSettings.Ports with a host binding
};

/// Docker's two directories, from a running dockerd's command line or the defaults.
struct DockerRoots {
  std::string data_root = "/var/lib/docker";
  std::string exec_root = "/var/run/docker";
};

/// dockerd's --data-root / --exec-root (also "--flag=value" and the old -g),
/// defaults otherwise.
DockerRoots docker_roots_from_cmdline(std::string_view cmdline);

/// Parses one Docker config.v2.json. Returns nullptr when it is not one.
std::shared_ptr<ContainerInfo> parse_docker_config(std::string_view text);

/// Every container of the runtimes found on this host, by id. Built once per
/// scan; a runtime whose state cannot be read is left out (and said in notes).
class ContainerDirectory {
 public:
  /// Reads Docker's state under every root in `docker_roots` (duplicates
  /// ignored) and podman's containers.json under `podman_storage`.
  static ContainerDirectory load(const std::vector<DockerRoots>& docker_roots,
                                 const std::string& podman_storage =
                                     "/var/lib/containers/storage");

  /// The container with this runtime id (a prefix of 12+ hex also matches), or nullptr.
  std::shared_ptr<const ContainerInfo> find(std::string_view id) const;
  /// The container with this address on one of its networks, or nullptr.
  std::shared_ptr<const ContainerInfo> find_by_address(std::string_view address) const;
  /// The containers whose network namespace has this inode (several when
  /// one joined another's with --network container:X).
  std::vector<std::shared_ptr<const ContainerInfo>> in_netns(uint64_t inode) const;

  /// Docker's netns directories (<exec-root>/netns) seen.
  const std::vector<std::string>& netns_dirs() const { return netns_dirs_; }
  const std::vector<std::string>& notes() const { return notes_; }
  size_t size() const { return by_id_.size(); }
  /// Every container, ordered by name.
  std::vector<std::shared_ptr<const ContainerInfo>> all() const;

 private:
  std::unordered_map<std::string, std::shared_ptr<const ContainerInfo>> by_id_;
  std::vector<std::string> netns_dirs_;
  std::vector<std::string> notes_;
};

/// The Docker roots of the running daemons among `processes` (dockerd holds
/// its API socket, so a walk sees it), plus the defaults.
std::vector<DockerRoots> docker_roots_of(const std::vector<ProcessInfo>& processes);

/// Points every containerised process at its container's metadata.
void attach_containers(const ContainerDirectory& directory, std::vector<ProcessInfo>& processes);

/// {runtime, id, name?, image?, compose?: {project, service}, kubernetes?: {pod, namespace,
/// container}} for records.
nlohmann::json container_json(const ContainerInfo& c);
/// {runtime, id} plus the metadata when known.
nlohmann::json container_json(const ProcessInfo& p);

/// Where a published port's traffic goes.
struct PortForward {
  std::shared_ptr<const ContainerInfo> container;  ///< null when no container has the address
  std::string address;                             ///< container address
  int port = 0;                                    ///< container port
  std::string protocol;                            ///< tcp, udp, sctp
  std::string via;                                 ///< docker-proxy
};

/// A docker-proxy's forward, from its command line ("-proto tcp -host-ip
/// 127.0.0.1 -host-port 8080 -container-ip 172.17.0.2 -container-port 80");
/// nullopt when `p` is not a docker-proxy or its arguments are incomplete.
std::optional<PortForward> docker_proxy_forward(const ProcessInfo& p,
                                                const ContainerDirectory& directory);

/// {container: {...}?, address, port, protocol, via} for records.
nlohmann::json forward_json(const PortForward& f);

/// The running containers' published ports: [{host, host_port, protocol, container: {...},
/// address, port}], ordered by host port. Each is reached either through a docker-proxy
/// listener (its service's forwards_to) or through the NAT rules Docker writes
/// (--userland-proxy=false: there is no listener); [] when there are none.
nlohmann::json published_json(const ContainerDirectory& directory);

/// "web1 (busybox:lab, compose x/y)" for summaries.
std::string container_label(const ContainerInfo& c);

}  // namespace sonda::proc_scanner
