#include "registry.hpp"

#include "version.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

namespace fs = std::filesystem;

namespace sonda {

void Registry::load_named(const std::vector<std::string>& dirs, const std::set<std::string>& names) {
  std::lock_guard lock(mu_);
  dirs_ = dirs;
  complete_ = false;
  bool all_found = true;
  for (const auto& name : names) {
    bool found = false;
    for (const auto& dir : dirs) {
      std::error_code ec;
      const fs::path file = fs::path(dir) / (name + ".so");
      if (fs::is_regular_file(file, ec)) {
        load_file_locked(file.string());
        found = plugins_.count(name) != 0;
        break;  // the first file of that name decides, loaded or refused
      }
    }
    all_found = all_found && found;
  }
  if (!all_found) {
    for (const auto& dir : dirs) {
      load_directory_locked(dir);
    }
    complete_ = true;
  }
}

std::shared_ptr<const LoadedPlugin> Registry::with_capability(uint64_t capability) const {
  std::lock_guard lock(mu_);
  auto find = [&]() -> std::shared_ptr<const LoadedPlugin> {
    for (const auto& [name, plugin] : plugins_) {
      if ((plugin->descriptor->capabilities & capability) == capability) return plugin;
    }
    return nullptr;
  };
  if (auto found = find(); found != nullptr || complete_) {
    return found;
  }
  // Loading more is a change of the registry's contents, not of anything a
  // caller holds: handles given out stay valid, names stay unique.
  auto* self = const_cast<Registry*>(this);
  for (const auto& dir : dirs_) {
    self->load_directory_locked(dir);
  }
  self->complete_ = true;
  return find();
}

void Registry::load_directory(const std::string& dir) {
  std::lock_guard lock(mu_);
  load_directory_locked(dir);
}

void Registry::load_file(const std::string& path) {
  std::lock_guard lock(mu_);
  load_file_locked(path);
}

void Registry::load_directory_locked(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return;
  }
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".so") {
      files.push_back(entry.path().string());
    }
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    load_file_locked(f);
  }
}

void Registry::load_file_locked(const std::string& path) {
  std::error_code ec;
  const std::string canonical = fs::weakly_canonical(path, ec).string();
  if (std::find(seen_paths_.begin(), seen_paths_.end(), canonical) != seen_paths_.end()) {
    return;
  }
  seen_paths_.push_back(canonical);
  if (!fs::exists(path, ec)) {
    refused_.push_back({path, "plugin " + path + ": no such file"});
    return;
  }
  auto outcome = load_plugin(path);
  if (auto* refused = std::get_if<RefusedPlugin>(&outcome)) {
    refused_.push_back(std::move(*refused));
    return;
  }
  auto plugin = std::get<std::shared_ptr<const LoadedPlugin>>(std::move(outcome));
  const std::string name = plugin->name();
  if (auto it = plugins_.find(name); it != plugins_.end()) {
    refused_.push_back({path, "duplicate plugin '" + name + "': " +
                                  fs::path(it->second->path).filename().string() + " and " +
                                  fs::path(path).filename().string() + " (keeping " +
                                  it->second->path + ")"});
    return;
  }
  plugins_.emplace(name, std::move(plugin));
}

std::vector<std::string> Registry::search_dirs(const std::vector<std::string>& extra_dirs) {
  std::vector<std::string> dirs;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    dirs.push_back(exe.parent_path().string());
    const fs::path prefix = exe.parent_path().parent_path();
    dirs.push_back((prefix / "lib" / "sonda" / "plugins").string());
    if (std::string(kInstallLibDir) != "lib") {
      dirs.push_back((prefix / kInstallLibDir / "sonda" / "plugins").string());
    }
  }
  if (const char* env = std::getenv("SONDA_PLUGIN_PATH"); env != nullptr) {
    std::string_view rest(env);
    while (!rest.empty()) {
      const size_t colon = rest.find(':');
      std::string_view item = rest.substr(0, colon);
      if (!item.empty()) {
        dirs.emplace_back(item);
      }
      rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 1);
    }
  }
  dirs.insert(dirs.end(), extra_dirs.begin(), extra_dirs.end());
  return dirs;
}

std::shared_ptr<const LoadedPlugin> Registry::get(std::string_view name) const {
  std::lock_guard lock(mu_);
  auto it = plugins_.find(name);
  return it == plugins_.end() ? nullptr : it->second;
}

const RefusedPlugin* Registry::refusal_for(std::string_view name) const {
  for (const auto& r : refused_) {
    if (fs::path(r.path).stem().string() == name ||
        r.reason.find("duplicate plugin '" + std::string(name) + "'") == 0) {
      return &r;
    }
  }
  return nullptr;
}

std::vector<std::string> Registry::plugin_names() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> names;
  for (const auto& [name, plugin] : plugins_) {
    names.push_back(name);
  }
  return names;
}

const sonda_plugin* Registry::find_plugin(std::string_view name) const {
  auto plugin = get(name);
  return plugin == nullptr ? nullptr : plugin->descriptor;
}

}  // namespace sonda
