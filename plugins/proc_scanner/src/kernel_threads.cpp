#include "kernel_threads.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>

namespace sonda::proc_scanner {

namespace {

std::string comm_of(const std::string& proc_root, int pid) {
  std::ifstream in(proc_root + "/" + std::to_string(pid) + "/comm");
  std::string name;
  std::getline(in, name);
  return name;
}

}  // namespace

std::string kernel_thread_group(const std::string& comm) {
  if (comm.rfind("kworker/R-", 0) == 0) {
    return comm;
  }
  std::string group = comm.substr(0, comm.find('/'));
  // Per-node or per-instance numbers: kswapd0, kcompactd0, kdamond.0.
  size_t end = group.size();
  while (end > 1 && std::isdigit(static_cast<unsigned char>(group[end - 1])) != 0) {
    --end;
  }
  if (end > 1 && end < group.size() && group[end - 1] == '.') {
    --end;
  }
  return end > 0 ? group.substr(0, end) : group;
}

nlohmann::json kernel_thread_table(const std::vector<int>& pids, const std::string& proc_root,
                                   const Catalog* catalog) {
  std::map<std::string, int> counts;
  size_t named = 0;
  for (const int pid : pids) {
    const std::string comm = comm_of(proc_root, pid);
    if (comm.empty()) {
      continue;  // gone since the walk
    }
    ++counts[kernel_thread_group(comm)];
    ++named;
  }
  // Rescuer workers (kworker/R-<queue>, one per memory-reclaim workqueue)
  // are one row, each queue explained where the catalog knows it.
  nlohmann::json rescuers = nlohmann::json::array();
  int rescuer_count = 0;
  for (auto it = counts.begin(); it != counts.end();) {
    if (it->first.rfind("kworker/R-", 0) != 0) {
      ++it;
      continue;
    }
    const std::string queue = it->first.substr(10);
    const KernelThreadEntry* e = catalog != nullptr ? catalog->explain_kernel_thread(queue) : nullptr;
    rescuers.push_back({{"queue", queue}, {"what", e != nullptr ? nlohmann::json(e->what) : nlohmann::json(nullptr)}});
    rescuer_count += it->second;
    it = counts.erase(it);
  }
  if (rescuer_count > 0) {
    counts["kworker/R-*"] = rescuer_count;
  }
  std::vector<std::pair<std::string, int>> sorted(counts.begin(), counts.end());
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  nlohmann::json groups = nlohmann::json::array();
  for (const auto& [name, count] : sorted) {
    const KernelThreadEntry* e = catalog != nullptr ? catalog->explain_kernel_thread(name) : nullptr;
    groups.push_back({{"name", name},
                      {"count", count},
                      {"what", e != nullptr ? nlohmann::json(e->what) : nlohmann::json(nullptr)},
                      {"sockets", "none: kernel threads have no file descriptors"}});
    if (name == "kworker/R-*") {
      groups.back()["queues"] = rescuers;
    }
  }
  nlohmann::json out = {{"count", named}, {"groups", std::move(groups)}};
  // pid 1 is not a kernel thread, but the same question comes with it.
  const std::string init = comm_of(proc_root, 1);
  if (!init.empty()) {
    out["init"] = {{"pid", 1},
                   {"process", init},
                   {"what", init == "systemd"
                                ? "systemd as pid 1: the init process of this (pid) namespace; starts and supervises "
                                  "services, adopts orphans, and holds the sockets of socket-activated units"
                                : "the init process of this (pid) namespace: adopts orphaned processes"}};
  }
  return out;
}

}  // namespace sonda::proc_scanner
