// The plugins this run can use: found on the search path, loaded through the
// door check, indexed by name. Implements SchemaSource for validation.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "plugin_loader.hpp"
#include "scenario.hpp"

namespace sonda {

/// Loaded plugins by name plus every refused file with its reason. Loading
/// is for one thread before use; afterwards get() and with_capability() are
/// thread-safe (the latter may finish loading the search path). Keeps every
/// library loaded until the registry and all LoadedPlugin handles it gave out
/// are gone (in practice: process exit).
class Registry : public SchemaSource {
 public:
  /// Loads only what a scenario needs: for each name, the first
  /// `<dir>/<name>.so` along `dirs` (the search path, in order). When a name
  /// is not found that way (a plugin whose file is named otherwise), every
  /// directory is loaded, as load_directory() would. `dirs` is kept for
  /// with_capability(). A one-step scenario then pays for one dlopen, not
  /// one per installed plugin.
  void load_named(const std::vector<std::string>& dirs, const std::set<std::string>& names);
  /// The first plugin (in name order) whose capabilities include all of
  /// `capability` (SONDA_CAP_PORT_OWNER: who holds a port). When none loaded
  /// has it, the rest of the search path given to load_named() is loaded
  /// first. nullptr when no plugin has it.
  std::shared_ptr<const LoadedPlugin> with_capability(uint64_t capability) const;

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
  void load_directory_locked(const std::string& dir);
  void load_file_locked(const std::string& path);

  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const LoadedPlugin>, std::less<>> plugins_;
  std::vector<RefusedPlugin> refused_;
  std::vector<std::string> seen_paths_;  // canonical, so a dir listed twice is harmless
  std::vector<std::string> dirs_;        // load_named()'s search path, for with_capability()
  bool complete_ = true;                 // every directory of dirs_ loaded
};

}  // namespace sonda
