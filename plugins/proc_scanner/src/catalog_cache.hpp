// The shipped catalog, parsed once and kept for the rest of the boot.
//
// Why: yaml-cpp takes 4-6 ms to parse the 13 KB apps.yaml on our VMs (flow
// mappings go through its regex matcher character by character), about a
// tenth of a 19 000-socket scan's CPU, spent on the core the owner walk
// needs. The cache holds the catalog's exact text next to its parse, so an
// edited file is parsed again (and the cache replaced); nothing is trusted
// that this user did not write. Loading it is one small JSON parse.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "catalog.hpp"

namespace sonda::proc_scanner {

/// Where catalog caches live: $SONDA_CATALOG_CACHE_DIR when set ("" = no
/// cache), else /run/sonda for root, else $XDG_RUNTIME_DIR/sonda, else ""
/// (no cache).
std::string catalog_cache_dir();

/// The cache file for the catalog at `origin` in `dir`.
std::string catalog_cache_path(const std::string& dir, const std::string& origin);

/// The parts cached for exactly this text from `origin`; std::nullopt when
/// there is no cache, it holds another text or format, it is malformed, or
/// it is not a regular file of this euid that nobody else can write.
std::optional<CatalogParts> read_catalog_cache(const std::string& dir, const std::string& text,
                                               const std::string& origin);

/// Writes the cache atomically (temporary file + rename), creating `dir`
/// 0700. False when it cannot; the caller carries on uncached.
bool write_catalog_cache(const std::string& dir, const std::string& text,
                         const std::string& origin, const CatalogParts& parts);

}  // namespace sonda::proc_scanner
