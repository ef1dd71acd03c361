// Running code inside another network namespace without moving the process.
#pragma once

#include <functional>
#include <string>

namespace sonda::iface {

/// Where a namespace name points: "/run/netns/<name>" (what `ip netns add`
/// creates), or `netns` unchanged when it already is a path (e.g.
/// /proc/<pid>/ns/net).
std::string netns_path(const std::string& netns);

/// Runs `fn` with the network namespace `netns` (see netns_path). Empty
/// `netns` runs it in the calling thread, in the current namespace.
/// Otherwise a dedicated thread does setns(CLONE_NEWNET) and runs `fn`: the
/// namespace is a per-thread property, so sockets `fn` opens (the netlink
/// dumps) belong to `netns` while the rest of the process never leaves its
/// own; the thread ends with `fn`. Exceptions from `fn` are rethrown in the
/// caller. A missing namespace throws sonda::StepError kind "not_found";
/// setns failures kind "error", naming the path and strerror.
void run_in_netns(const std::string& netns, const std::function<void()>& fn);

}  // namespace sonda::iface
