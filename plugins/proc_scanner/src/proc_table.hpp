// One pass over /proc: which processes hold which socket inodes, and who
// those processes are.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cgroup.hpp"
#include "sonda_common/huge_page_allocator.hpp"

namespace sonda::proc_scanner {

struct ContainerInfo;  // containers.hpp

/// A process that holds at least one socket (or that was asked about).
struct ProcessInfo {
  int pid = 0;
  int ppid = 0;
  char state = '?';               ///< R, S, D, Z, ... from /proc/<pid>/stat
  uint64_t start_time_ticks = 0;  ///< field 22 of stat; detects pid reuse
  bool kernel_thread = false;     ///< PF_KTHREAD, or empty cmdline with ppid 2
  uint32_t uid = 0;               ///< effective uid
  std::string comm;               ///< process name as ps shows it (<= 15 chars)
  std::string exe;                ///< /proc/<pid>/exe target; "" when unreadable
  std::string cmdline;            ///< arguments joined by spaces
  std::string user;               ///< name of uid, or the number when unknown
  uint64_t netns = 0;             ///< inode of /proc/<pid>/ns/net
  CgroupIdentity cgroup;
  /// Its container's name, image and labels from the runtime's state (null when
  /// not containerised or the runtime's state is unreadable); set after the walk.
  std::shared_ptr<const ContainerInfo> container;
};

/// What the walk could not read. Never fatal: processes exit and fds close
/// while we look.
struct SkipCounts {
  uint32_t pids_vanished = 0;   ///< exited between listing and reading
  uint32_t pids_reused = 0;     ///< start time changed mid-read: another process now
  uint32_t fds_vanished = 0;    ///< closed between listing and readlink
  uint32_t fd_dirs_denied = 0;  ///< /proc/<pid>/fd not readable (not root)
};

/// How owners are found: the kernel's task/fd tables through BPF iterators
/// (bpf_owners.hpp), or one readlink per fd under /proc/*/fd.
enum class OwnerSource { kAuto, kBpf, kProcfs };

/// What to walk.
struct WalkOptions {
  std::string proc_root = "/proc";
  /// Walk only these pids (empty: every process).
  std::vector<int> only_pids;
  /// Only processes whose comm equals this ("" = all); others are not read
  /// past their stat line.
  std::string process_name;
  /// Record the netns of every process (for the all-namespaces scan).
  bool record_all_netns = false;
  /// kAuto: BPF where it works (root, BTF, proc_root "/proc"), else /proc.
  /// kBpf: BPF or throw std::runtime_error with the reason.
  OwnerSource source = OwnerSource::kAuto;
};

/// The result of one walk: processes and a sorted inode -> process index.
struct OwnerIndex {
  std::vector<ProcessInfo> processes;
  /// (socket inode, index into processes), sorted by inode.
  std::vector<std::pair<uint64_t, uint32_t>,
              common::HugePageAllocator<std::pair<uint64_t, uint32_t>>>
      inode_owners;
  /// (netns inode, a pid inside it), distinct, when record_all_netns.
  std::vector<std::pair<uint64_t, int>> netns_pids;
  SkipCounts skipped;
  uint32_t processes_seen = 0;
  uint32_t kernel_threads = 0;
  /// Their pids, named after the walk (kernel_threads.hpp).
  std::vector<int> kernel_thread_pids;
  uint32_t socket_fds = 0;
  /// "bpf_iter" or "procfs": where the fd -> socket links came from.
  std::string source = "procfs";
  /// Why BPF was not used (empty when it was, or when not tried).
  std::string source_note;
  int64_t bpf_setup_ns = 0;  ///< layout lookup + verifier, first scan of a process only
  bool bpf_layout_cached = false;  ///< BPF programs relocated from the layout cache

  /// Index range [first, last) in inode_owners for one inode (empty when
  /// no process holds it).
  std::pair<size_t, size_t> owners_of(uint64_t inode) const;

  /// Starts loading the table line owners_of(inode) will read. A scan looks
  /// up ~20 000 inodes in random order; each is a cache miss (~300 ns
  /// measured on our VMs) unless asked for a few sockets ahead.
  void prefetch(uint64_t inode) const;

  /// Sorts inode_owners, folds duplicates (one process holding a socket in
  /// two fds is one owner) and builds the hash table owners_of reads.
  /// Call after filling inode_owners by hand.
  void index_inodes();

  /// Forgets every process and owner (keeps counts and netns_pids).
  void drop_owners();

 private:
  /// One distinct inode and its range in inode_owners.
  struct Slot {
    uint64_t inode;
    uint32_t first;
    uint32_t last;
  };
  /// Open addressing, linear probing, power-of-two size, inode 0 = empty
  /// (no socket has inode 0). Render looks up every socket once in random
  /// inode order: one cache line here instead of a ~15-step binary search.
  std::vector<Slot, common::HugePageAllocator<Slot>> slots_;
};

/// Finds every socket's owners. With BPF (see OwnerSource) the kernel lists
/// (pid, fd, socket inode) itself and /proc is read only for the processes
/// that hold sockets; otherwise it walks /proc once: readlinkat on every fd
/// under /proc/<pid>/fd, keeping "socket:[inode]" links. Guards against pid reuse by comparing the stat
/// start time before and after reading a process. Never throws for
/// per-process failures (counted in `skipped`); throws std::system_error
/// only when the proc root itself cannot be opened.
OwnerIndex walk_proc(const WalkOptions& options);

/// Reads one process's identity (no fds). std::nullopt when it is gone.
std::optional<ProcessInfo> read_process(int pid, const std::string& proc_root = "/proc");

/// The pid and all its living descendants (PPid chains from /proc/*/stat).
std::vector<int> process_tree(int pid, const std::string& proc_root = "/proc");

/// Parses a /proc/<pid>/stat line. False when malformed.
bool parse_stat_line(const char* text, size_t len, ProcessInfo& info, uint32_t& flags);

/// User name for a uid (getpwuid_r), or the number as text. Thread-safe,
/// cached.
std::string user_name(uint32_t uid);

/// Inode of the calling thread's network namespace.
uint64_t current_netns();

}  // namespace sonda::proc_scanner
