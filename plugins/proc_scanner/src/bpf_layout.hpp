// Where the owner iterators (bpf_owners.cpp) read the kernel's structures:
// member offsets and attach-point ids, found in the kernel's BTF, and kept
// for the rest of the boot in a small cache file.
//
// Why a cache: finding the layout walks the 5.5 MB BTF blob — 4-9 ms of a
// ~40 ms scan on our VMs, and memory traffic that slows the socket dump
// running beside it on the other core (measured: a scan's CPU time fell
// 62 -> 52 ms without the walk). The kernel's own BTF cannot change while
// it runs, so the boot id is a sound key. A stale or forged cache is caught
// twice: the verifier refuses loads outside the BTF types, and the
// iterator self-check (a socket of ours under our pid) fails, which makes
// the caller drop the cache and read the BTF again.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace sonda::proc_scanner {

/// Kernel structure offsets and BTF ids the iterator programs are relocated with.
struct BpfLayout {
  uint32_t task_file_func = 0;  ///< BTF id of bpf_iter_task_file (attach target)
  uint32_t task_func = 0;       ///< BTF id of bpf_iter_task
  uint32_t meta_seq = 0;        ///< bpf_iter_meta.seq
  uint32_t task_pid = 0;
  uint32_t task_tgid = 0;
  uint32_t task_flags = 0;
  uint32_t task_start = 0;  ///< task_struct.start_boottime
  uint32_t file_inode = 0;  ///< file.f_inode
  uint32_t inode_mode = 0;  ///< inode.i_mode
  uint32_t inode_ino = 0;   ///< inode.i_ino

  bool operator==(const BpfLayout&) const = default;
};

/// Reads the layout from /sys/kernel/btf/vmlinux. False with `reason` when
/// the kernel has no BTF, no task iterators, or a member of another size.
bool layout_from_btf(BpfLayout& out, std::string& reason);

/// Where the layout is cached: root-only, cleared at reboot.
inline constexpr const char* kLayoutCachePath = "/run/sonda/bpf-layout";

/// The running kernel's boot id (/proc/sys/kernel/random/boot_id), "" when
/// unreadable.
std::string current_boot_id();

/// The cached layout when `path` holds one for `boot_id`, is owned by this
/// euid and writable by nobody else; std::nullopt otherwise (missing,
/// another boot, malformed, a field missing).
std::optional<BpfLayout> read_layout_cache(const std::string& path, const std::string& boot_id);

/// Writes the cache atomically (temporary file + rename), creating the
/// directory 0700. False when it cannot; the caller carries on uncached.
bool write_layout_cache(const std::string& path, const std::string& boot_id,
                        const BpfLayout& layout);

}  // namespace sonda::proc_scanner
