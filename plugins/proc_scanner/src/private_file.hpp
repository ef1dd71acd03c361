// Small files a scan keeps for itself across runs (the BPF layout, the
// shipped catalog's parse): read only when this user wrote them and nobody
// else can change them, and written whole or not at all.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace sonda::proc_scanner {

/// The text of `path` when it is a regular file (not a symbolic link) owned
/// by this euid that neither its group nor others may write, and holds at
/// most `max_bytes`; std::nullopt otherwise (missing, unreadable, someone
/// else's, too large).
std::optional<std::string> read_private_file(const std::string& path, size_t max_bytes);

/// Writes `text` to `path` atomically: a temporary file beside it (mode
/// 0600), then rename(). Creates the directory (0700) when it is missing.
/// False when it cannot; nothing is left behind then.
bool write_private_file(const std::string& path, std::string_view text);

}  // namespace sonda::proc_scanner
