// Small readers for /proc/<pid> files, relative to an open directory fd so
// a walk costs no path lookups from the root.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "proc_table.hpp"

namespace sonda::proc_scanner {

/// PF_KTHREAD in the stat flags field (include/linux/sched.h).
inline constexpr uint32_t kPfKthread = 0x00200000;

/// Reads an open file from its current offset to the end, up to `cap` - 1
/// bytes, into `buf` (NUL-terminated). Returns the length, or -1 with errno set.
ssize_t read_small_fd(int fd, char* buf, size_t cap);

/// Reads up to `cap` bytes of `name` under `dirfd` into `buf` (NUL-terminated).
/// Returns the length, or -1 with errno set.
ssize_t read_small_file_at(int dirfd, const char* name, char* buf, size_t cap);

/// Reads the stat line of the process whose /proc dir is `pid_fd`.
bool read_stat_at(int pid_fd, ProcessInfo& info, uint32_t& flags);

/// Fills exe, cmdline, uid, user, netns and cgroup of `info` from `pid_fd`.
/// Fields that cannot be read stay empty.
void read_details_at(int pid_fd, ProcessInfo& info);

/// Inode number inside "net:[4026531840]" / "socket:[123]" link text, 0 if
/// the text has no "[digits]".
uint64_t bracket_inode(const char* text, size_t len);

}  // namespace sonda::proc_scanner
