// The plugins this run can use: found on the search path, loaded through the
// door check, indexed by name. Implements SchemaSource for validation.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "plugin_loader.hpp"
#include "scenario.hpp"

namespace sonda {

/// Loaded plugins by name plus every refused file with its reason. Not
/// thread-safe while loading; read-only (and so thread-safe) afterwards.
/// Keeps every library loaded until the registry and all LoadedPlugin
/// handles it gave out are gone (in practice: process exit).
class Registry : public SchemaSource {
 public:
  /// Loads every `*.so` in `dir` (sorted by name, so duplicates are refused
  /// deterministically). A missing directory is not an error.
  void load_directory(const std::string& dir);
  /// Loads one explicit file; a missing file is a refusal.
  void load_file(const std::string& path);

  /// The default search path in order: next to the running binary, its
  /// ../lib/sonda/plugins and ../<libdir>/sonda/plugins (installed layout), each SONDA_PLUGIN_PATH entry,
  /// then `extra_dirs` (--plugin-path).
  static std::vector<std::string> search_dirs(const std::vector<std::string>& extra_dirs);

  /// nullptr when absent.
  std::shared_ptr<const LoadedPlugin> get(std::string_view name) const;
  const std::map<std::string, std::shared_ptr<const LoadedPlugin>, std::less<>>& plugins() const {
    return plugins_;
  }
  const std::vector<RefusedPlugin>& refused() const { return refused_; }
  /// The refusal for a plugin named `name` (by descriptor name when known,
  /// else by file stem), nullptr when none.
  const RefusedPlugin* refusal_for(std::string_view name) const;

  // SchemaSource
  std::vector<std::string> plugin_names() const override;
  const sonda_plugin* find_plugin(std::string_view name) const override;

 private:
  std::map<std::string, std::shared_ptr<const LoadedPlugin>, std::less<>> plugins_;
  std::vector<RefusedPlugin> refused_;
  std::vector<std::string> seen_paths_;  // canonical, so a dir listed twice is harmless
};

}  // namespace sonda
