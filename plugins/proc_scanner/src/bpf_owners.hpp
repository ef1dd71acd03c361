// Socket owners straight from the kernel: two BPF iterators (task_file and
// task) list every (process, fd, socket inode) and every process in one
// read each, instead of one readlink per open fd under /proc/*/fd.
//
// The programs are ~25 instructions each, assembled here and relocated to the
// running kernel with offsets read from its BTF (kernel_btf.hpp) — no BPF
// compiler at build time, no libbpf at run time. They need CAP_BPF +
// CAP_PERFMON (root) and a kernel with BPF iterators (5.8+, BTF); anywhere
// else the caller falls back to the /proc walk and says why.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sonda_common/huge_page_allocator.hpp"

namespace sonda::proc_scanner {

/// One open fd that refers to a socket.
struct BpfSocketFd {
  uint32_t tgid = 0;  ///< process id (thread group leader)
  uint32_t fd = 0;
  uint64_t inode = 0;  ///< socket inode (as in socket:[inode])
};

/// One process (thread group leader), sockets or not.
struct BpfTask {
  uint32_t tgid = 0;
  uint32_t flags = 0;  ///< task->flags (PF_KTHREAD = 0x00200000)
  uint64_t start_boottime_ns = 0;  ///< the process's start; detects pid reuse
};

/// What the two iterators produced.
struct BpfOwnerDump {
  std::vector<BpfSocketFd, common::HugePageAllocator<BpfSocketFd>> socket_fds;
  std::vector<BpfTask> tasks;
  int64_t setup_ns = 0;  ///< layout lookup + program load (0 when reused)
  bool layout_cached = false;  ///< relocated from the layout cache, not the BTF (bpf_layout.hpp)
};

/// Runs the iterators. The programs are loaded once per process and kept
/// (later calls only read). std::nullopt with `reason` set when BPF cannot
/// be used here: no BTF, no permission, a kernel layout this code does not
/// know, or pids that do not match /proc's (a nested pid namespace) — the
/// last one found by a self-check on a socket this call opens.
std::optional<BpfOwnerDump> bpf_dump_owners(std::string& reason);

}  // namespace sonda::proc_scanner
