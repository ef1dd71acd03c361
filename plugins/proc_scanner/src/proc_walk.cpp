// walk_proc(): maps socket inodes to their owners. With BPF the kernel hands
// over every (pid, fd, socket inode) at once (bpf_owners.cpp); without it,
// a single pass over /proc/*/fd, one readlinkat per open fd on the host —
// the hot path of a scan, so it uses raw getdents64 and *at() calls.
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <system_error>
#include <unordered_set>

#include "bpf_owners.hpp"
#include "proc_read.hpp"
#include "proc_table.hpp"
#include "sonda_common/net.hpp"

namespace sonda::proc_scanner {
namespace {

struct LinuxDirent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

// Calls fn(name) for every entry of an open directory except "." and "..".
template <typename Fn>
void for_each_entry(int dir_fd, Fn&& fn) {
  alignas(8) char buf[32768];
  for (;;) {
    const long n = ::syscall(SYS_getdents64, dir_fd, buf, sizeof buf);
    if (n <= 0) {
      return;
    }
    for (long off = 0; off < n;) {
      const auto* d = reinterpret_cast<const LinuxDirent64*>(buf + off);
      off += d->d_reclen;
      if (d->d_name[0] == '.') {
        continue;
      }
      fn(d->d_name);
    }
  }
}

bool all_digits(const char* s) {
  if (*s == '\0') {
    return false;
  }
  for (; *s != '\0'; ++s) {
    if (*s < '0' || *s > '9') {
      return false;
    }
  }
  return true;
}

bool comm_matches(const std::string& comm, const std::string& wanted) {
  // comm is truncated to 15 bytes (TASK_COMM_LEN - 1).
  return comm == wanted || (comm.size() == 15 && wanted.compare(0, 15, comm) == 0);
}

// Records the network namespace of one process (all_netns scans).
void note_netns(int pid_fd, int pid, OwnerIndex& index, std::unordered_set<uint64_t>& seen) {
  char link[64];
  const ssize_t n = ::readlinkat(pid_fd, "ns/net", link, sizeof link);
  const uint64_t ns = n > 0 ? bracket_inode(link, static_cast<size_t>(n)) : 0;
  if (ns != 0 && seen.insert(ns).second) {
    index.netns_pids.emplace_back(ns, pid);
  }
}

// Reads the details of a process found holding the socket `inodes` (one per
// fd, duplicates allowed) and adds it to `index` — unless it exited or its
// pid was reused while we looked: the stat start time, read again, tells.
void admit_process(int pid_fd, ProcessInfo info, const std::vector<uint64_t>& inodes,
                   OwnerIndex& index) {
  read_details_at(pid_fd, info);
  ProcessInfo again;
  uint32_t flags_again = 0;
  if (!read_stat_at(pid_fd, again, flags_again)) {
    ++index.skipped.pids_vanished;
    return;
  }
  if (again.start_time_ticks != info.start_time_ticks) {
    ++index.skipped.pids_reused;
    return;
  }
  const auto proc_index = static_cast<uint32_t>(index.processes.size());
  index.processes.push_back(std::move(info));
  index.socket_fds += static_cast<uint32_t>(inodes.size());
  for (const uint64_t inode : inodes) {
    index.inode_owners.emplace_back(inode, proc_index);
  }
}

// Reads one process into `index`. `inodes` is scratch space.
void walk_one(int proc_fd, const char* pid_name, const WalkOptions& options, OwnerIndex& index,
              std::vector<uint64_t>& inodes, std::unordered_set<uint64_t>& seen_netns) {
  common::Fd pid_fd(::openat(proc_fd, pid_name, O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!pid_fd) {
    ++index.skipped.pids_vanished;
    return;
  }
  ProcessInfo info;
  uint32_t flags = 0;
  if (!read_stat_at(pid_fd.get(), info, flags)) {
    ++index.skipped.pids_vanished;
    return;
  }
  ++index.processes_seen;
  if ((flags & kPfKthread) != 0) {
    ++index.kernel_threads;
    index.kernel_thread_pids.push_back(info.pid);
    return;  // kernel threads hold no file descriptors
  }
  if (options.record_all_netns) {
    note_netns(pid_fd.get(), info.pid, index, seen_netns);
  }
  if (!options.process_name.empty() && !comm_matches(info.comm, options.process_name)) {
    return;
  }
  common::Fd fd_dir(::openat(pid_fd.get(), "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd_dir) {
    if (errno == EACCES || errno == EPERM) {
      ++index.skipped.fd_dirs_denied;
    } else {
      ++index.skipped.pids_vanished;
    }
    return;
  }
  inodes.clear();
  bool denied = false;
  for_each_entry(fd_dir.get(), [&](const char* fd_name) {
    if (denied) {
      return;
    }
    char link[64];
    const ssize_t n = ::readlinkat(fd_dir.get(), fd_name, link, sizeof link);
    if (n < 0) {
      if (errno == EACCES || errno == EPERM) {
        denied = true;  // ptrace access check failed: the whole table is hidden
      } else {
        ++index.skipped.fds_vanished;
      }
      return;
    }
    // "socket:[12345]"; anything else (files, pipes, anon inodes) is not ours.
    if (n > 9 && std::memcmp(link, "socket:[", 8) == 0) {
      inodes.push_back(bracket_inode(link + 7, static_cast<size_t>(n) - 7));
    }
  });
  if (denied) {
    ++index.skipped.fd_dirs_denied;
    return;
  }
  if (!inodes.empty()) {
    admit_process(pid_fd.get(), std::move(info), inodes, index);
  }
}

// Owners from the BPF iterators; /proc is opened only for the processes that
// hold sockets (and, for all_netns, for every process's ns/net link).
bool walk_bpf(const WalkOptions& options, OwnerIndex& index, std::string& reason) {
  auto dump = bpf_dump_owners(reason);
  if (!dump) {
    return false;
  }
  common::Fd proc_fd(::open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!proc_fd) {
    reason = std::string("open(/proc): ") + std::strerror(errno);
    return false;
  }
  index.source = "bpf_iter";
  index.bpf_setup_ns = dump->setup_ns;
  index.bpf_layout_cached = dump->layout_cached;
  std::unordered_set<uint64_t> seen_netns;
  std::vector<std::pair<uint32_t, uint64_t>> leader_start;  // tgid -> start, sorted
  leader_start.reserve(dump->tasks.size());
  char pid_name[16];
  const auto name_of = [&pid_name](uint32_t pid) {
    *std::to_chars(pid_name, pid_name + sizeof pid_name - 1, pid).ptr = '\0';
    return pid_name;
  };
  for (const BpfTask& task : dump->tasks) {
    ++index.processes_seen;
    leader_start.emplace_back(task.tgid, task.start_boottime_ns);
    if ((task.flags & kPfKthread) != 0) {
      ++index.kernel_threads;
      index.kernel_thread_pids.push_back(static_cast<int>(task.tgid));
    } else if (options.record_all_netns) {
      common::Fd pid_fd(::openat(proc_fd.get(), name_of(task.tgid), O_PATH | O_DIRECTORY | O_CLOEXEC));
      if (pid_fd) {
        note_netns(pid_fd.get(), static_cast<int>(task.tgid), index, seen_netns);
      }
    }
  }
  std::sort(leader_start.begin(), leader_start.end());
  auto& fds = dump->socket_fds;
  index.inode_owners.reserve(fds.size());
  std::vector<uint64_t> inodes;
  std::sort(fds.begin(), fds.end(), [](const BpfSocketFd& a, const BpfSocketFd& b) {
    return std::tie(a.tgid, a.inode) < std::tie(b.tgid, b.inode);
  });
  // stat's starttime is start_boottime in clock ticks (proc(5)).
  const uint64_t ns_per_tick = 1'000'000'000ull / static_cast<uint64_t>(::sysconf(_SC_CLK_TCK));
  for (size_t first = 0, last = 0; first < fds.size(); first = last) {
    const uint32_t tgid = fds[first].tgid;
    for (last = first; last < fds.size() && fds[last].tgid == tgid; ++last) {
    }
    if (!options.only_pids.empty() &&
        std::find(options.only_pids.begin(), options.only_pids.end(), static_cast<int>(tgid)) ==
            options.only_pids.end()) {
      continue;
    }
    // The task list is read after the fd list: a process missing from it
    // has exited since.
    const auto leader = std::lower_bound(leader_start.begin(), leader_start.end(),
                                         std::make_pair(tgid, uint64_t{0}));
    if (leader == leader_start.end() || leader->first != tgid) {
      ++index.skipped.pids_vanished;
      continue;
    }
    const uint64_t start_ns = leader->second;
    common::Fd pid_fd(::openat(proc_fd.get(), name_of(tgid), O_PATH | O_DIRECTORY | O_CLOEXEC));
    ProcessInfo info;
    uint32_t flags = 0;
    if (!pid_fd || !read_stat_at(pid_fd.get(), info, flags)) {
      ++index.skipped.pids_vanished;
      continue;
    }
    if (info.start_time_ticks != start_ns / ns_per_tick) {
      ++index.skipped.pids_reused;  // exited after the iterator ran, pid taken again
      continue;
    }
    if (!options.process_name.empty() && !comm_matches(info.comm, options.process_name)) {
      continue;
    }
    inodes.clear();
    for (size_t i = first; i < last; ++i) {
      inodes.push_back(fds[i].inode);
    }
    admit_process(pid_fd.get(), std::move(info), inodes, index);
  }
  index.index_inodes();
  return true;
}

OwnerIndex walk_procfs(const WalkOptions& options) {
  common::Fd proc_fd(::open(options.proc_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!proc_fd) {
    throw std::system_error(errno, std::generic_category(), "open(" + options.proc_root + ")");
  }
  OwnerIndex index;
  index.inode_owners.reserve(4096);
  std::vector<uint64_t> inodes;
  inodes.reserve(1024);
  std::unordered_set<uint64_t> seen_netns;
  if (!options.only_pids.empty()) {
    for (const int pid : options.only_pids) {
      walk_one(proc_fd.get(), std::to_string(pid).c_str(), options, index, inodes, seen_netns);
    }
  } else {
    for_each_entry(proc_fd.get(), [&](const char* name) {
      if (all_digits(name)) {
        walk_one(proc_fd.get(), name, options, index, inodes, seen_netns);
      }
    });
  }
  index.index_inodes();
  return index;
}

}  // namespace

namespace {

// Fibonacci hashing: socket inodes are nearly consecutive numbers, the
// multiply spreads them over the table.
size_t slot_of(uint64_t inode, size_t mask) {
  return static_cast<size_t>((inode * 0x9E3779B97F4A7C15ull) >> 32) & mask;
}

}  // namespace

void OwnerIndex::index_inodes() {
  // Each process's inodes arrive in order, and one process usually holds
  // nearly all of them: the list is often sorted already (a 19 000-entry
  // sort is ~0.6 ms on the owner thread; the check is a pass over it).
  if (!std::is_sorted(inode_owners.begin(), inode_owners.end())) {
    std::sort(inode_owners.begin(), inode_owners.end());
  }
  inode_owners.erase(std::unique(inode_owners.begin(), inode_owners.end()), inode_owners.end());
  slots_.clear();
  if (inode_owners.empty()) {
    return;
  }
  // At most half full, so probe runs stay short.
  slots_.assign(std::bit_ceil(inode_owners.size() * 2), Slot{0, 0, 0});
  const size_t mask = slots_.size() - 1;
  for (size_t first = 0, last = 0; first < inode_owners.size(); first = last) {
    const uint64_t inode = inode_owners[first].first;
    for (last = first; last < inode_owners.size() && inode_owners[last].first == inode; ++last) {
    }
    if (inode == 0) {
      continue;  // never a socket; owners_of(0) is empty
    }
    size_t at = slot_of(inode, mask);
    while (slots_[at].inode != 0) {
      at = (at + 1) & mask;
    }
    slots_[at] = Slot{inode, static_cast<uint32_t>(first), static_cast<uint32_t>(last)};
  }
}

void OwnerIndex::drop_owners() {
  processes.clear();
  inode_owners.clear();
  slots_.clear();
}

void OwnerIndex::prefetch(uint64_t inode) const {
  if (!slots_.empty()) {
    __builtin_prefetch(&slots_[slot_of(inode, slots_.size() - 1)]);
  }
}

std::pair<size_t, size_t> OwnerIndex::owners_of(uint64_t inode) const {
  if (slots_.empty() || inode == 0) {
    return {0, 0};
  }
  const size_t mask = slots_.size() - 1;
  for (size_t at = slot_of(inode, mask);; at = (at + 1) & mask) {
    const Slot& slot = slots_[at];
    if (slot.inode == inode) {
      return {slot.first, slot.last};
    }
    if (slot.inode == 0) {
      return {0, 0};
    }
  }
}

OwnerIndex walk_proc(const WalkOptions& options) {
  std::string reason;
  if (options.source != OwnerSource::kProcfs) {
    if (options.proc_root == "/proc") {
      OwnerIndex index;
      if (walk_bpf(options, index, reason)) {
        return index;
      }
    } else {
      reason = "proc_root " + options.proc_root + " is not the live /proc";
    }
    if (options.source == OwnerSource::kBpf) {
      throw std::runtime_error("BPF owner lookup unavailable: " + reason);
    }
  }
  OwnerIndex index = walk_procfs(options);
  index.source_note = reason;
  return index;
}

std::optional<ProcessInfo> read_process(int pid, const std::string& proc_root) {
  const std::string path = proc_root + "/" + std::to_string(pid);
  common::Fd pid_fd(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!pid_fd) {
    return std::nullopt;
  }
  ProcessInfo info;
  uint32_t flags = 0;
  if (!read_stat_at(pid_fd.get(), info, flags)) {
    return std::nullopt;
  }
  info.kernel_thread = (flags & kPfKthread) != 0;
  read_details_at(pid_fd.get(), info);
  return info;
}

std::vector<int> process_tree(int pid, const std::string& proc_root) {
  // PPid chains from one pass over /proc/*/stat: /proc/<pid>/task/*/children
  // needs CONFIG_PROC_CHILDREN, which not every kernel has.
  std::vector<std::pair<int, int>> parent_child;
  common::Fd proc_fd(::open(proc_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (proc_fd) {
    for_each_entry(proc_fd.get(), [&](const char* name) {
      if (!all_digits(name)) {
        return;
      }
      common::Fd pid_fd(::openat(proc_fd.get(), name, O_PATH | O_DIRECTORY | O_CLOEXEC));
      ProcessInfo info;
      uint32_t flags = 0;
      if (pid_fd && read_stat_at(pid_fd.get(), info, flags)) {
        parent_child.emplace_back(info.ppid, info.pid);
      }
    });
  }
  std::sort(parent_child.begin(), parent_child.end());
  std::vector<int> tree{pid};
  for (size_t i = 0; i < tree.size(); ++i) {
    auto it = std::lower_bound(parent_child.begin(), parent_child.end(),
                               std::make_pair(tree[i], 0));
    for (; it != parent_child.end() && it->first == tree[i]; ++it) {
      tree.push_back(it->second);
    }
  }
  return tree;
}

}  // namespace sonda::proc_scanner
