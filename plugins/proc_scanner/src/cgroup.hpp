// What a process's cgroup path says about it: the container it runs in and
// its systemd unit.
#pragma once

#include <string>
#include <string_view>

namespace sonda::proc_scanner {

/// Container and unit derived from one process's /proc/<pid>/cgroup.
struct CgroupIdentity {
  std::string path;               ///< the cgroup v2 path (else the name=systemd one)
  std::string container_runtime;  ///< docker, containerd, cri-o, podman, lxc, systemd-nspawn; "" = none
  std::string container_id;       ///< 64-hex id (or machine/container name for lxc, nspawn)
  std::string unit;               ///< innermost systemd unit: ssh.service, session-2.scope, ...
};

/// Classifies one cgroup path ("/system.slice/docker-<64hex>.scope",
/// "/docker/<64hex>", "/kubepods/.../cri-containerd-<hex>.scope", ...).
CgroupIdentity classify_cgroup_path(std::string_view path);

/// Reads the text of /proc/<pid>/cgroup ("0::/path" and v1 "N:ctrl:/path"
/// lines). The v2 line wins; on hybrid hosts a container seen only in a v1
/// hierarchy still counts, since runtimes place processes in every hierarchy.
CgroupIdentity parse_cgroup_file(std::string_view text);

}  // namespace sonda::proc_scanner
