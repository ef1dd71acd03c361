// The kernel threads a scan met, named and explained: `ps` shows dozens of
// [kworker/0:1H]-style entries that a person reading the socket table asks
// about. They hold no sockets (no file descriptors at all); the table says
// what each family does, from the catalog's `kernel_threads:` list.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "catalog.hpp"

namespace sonda::proc_scanner {

/// The family a kernel thread's name belongs to: the part before '/'
/// ("kworker/3:1H" -> "kworker", "ksoftirqd/0" -> "ksoftirqd"), except the
/// rescuer workers of kernel 6.x, which keep their queue ("kworker/R-rcu_gp").
std::string kernel_thread_group(const std::string& comm);

/// {count, groups: [{name, count, what, sockets}], init: {pid, process,
/// what}} for the threads with these pids under `proc_root`. `catalog` may
/// be null (no explanations).
nlohmann::json kernel_thread_table(const std::vector<int>& pids, const std::string& proc_root,
                                   const Catalog* catalog);

}  // namespace sonda::proc_scanner
