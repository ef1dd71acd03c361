// Entering other network namespaces to dump their sockets.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "socket_table.hpp"
#include "unix_table.hpp"

namespace sonda::proc_scanner {

/// A network namespace to scan, and how to enter it.
struct NetnsTarget {
  uint64_t inode = 0;
  std::string path;  ///< /run/netns/<name> or /proc/<pid>/ns/net
  std::string name;  ///< the ip-netns name, "" when only a process is in it
  int pid = 0;       ///< a process inside it (0 for named-only ones)
  std::string docker_path;  ///< Docker's file for it (<exec-root>/netns/<hex>), if any
  std::vector<std::string> containers;  ///< labels of the containers that hold it
  std::vector<std::string> container_ids;
};

/// What one namespace's dump gave.
struct NetnsDump {
  NetnsTarget target;
  size_t sockets = 0;
  SocketSource source = SocketSource::kSockDiag;
  std::string error;  ///< why it could not be scanned ("" on success)
};

/// Named namespaces under /run/netns plus the distinct namespaces of
/// processes ((inode, pid) pairs), without `own_inode` and without
/// duplicates (a named namespace keeps its name).
std::vector<NetnsTarget> list_netns(const std::vector<std::pair<uint64_t, int>>& netns_pids,
                                    uint64_t own_inode, const std::string& run_netns_dir = "/run/netns");

/// Names the targets from Docker's netns files (matched by the inode of the
/// nsfs file) and from the containers that hold them: a namespace without an
/// ip-netns name is called after its container ("web1"), several joined by
/// "+". `directory` is a ContainerDirectory.
void name_netns_targets(std::vector<NetnsTarget>& targets, const class ContainerDirectory& directory);

/// Dumps the sockets of every target in one dedicated thread that setns()es
/// into each in turn (setns changes only the calling thread, and that
/// thread ends afterwards, so the caller never leaves its namespace). A
/// namespace that vanished or cannot be entered is reported, not fatal.
/// With `unix_out`, UNIX sockets are dumped too (counted in `sockets`).
std::vector<NetnsDump> dump_other_netns(const std::vector<NetnsTarget>& targets, bool want_tcp,
                                        bool want_udp, bool force_procfs,
                                        SocketList& out,
                                        std::vector<UnixSocketEntry>* unix_out = nullptr,
                                        std::vector<BoundInterface>* interfaces = nullptr);

}  // namespace sonda::proc_scanner
