#include "plugin_loader.hpp"

#include <dlfcn.h>

#include <cstddef>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <utility>
#include <vector>

namespace sonda {

const sonda_action_spec* LoadedPlugin::find_action(const std::string& action) const {
  for (size_t i = 0; i < descriptor->action_count; ++i) {
    const sonda_action_spec& a = descriptor->actions[i];
    if (a.name != nullptr && action == a.name) {
      return &a;
    }
  }
  return nullptr;
}

namespace {

/// True when the file starts with the ELF magic; dlopen's own message for a
/// text file ("invalid ELF header") is accurate but cryptic.
bool looks_like_elf(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  in.read(magic, sizeof magic);
  return in.gcount() == 4 && std::memcmp(magic, "\x7f" "ELF", 4) == 0;
}

/// Where the figures end: a descriptor built before renames existed is this
/// long, and whole.
constexpr size_t kFiguresEnd = offsetof(sonda_plugin, renames);

/// True when `action` has a parameter called `name`.
bool has_param(const sonda_action_spec& action, const char* name) {
  for (size_t p = 0; p < action.param_count; ++p) {
    if (std::strcmp(action.params[p].name, name) == 0) {
      return true;
    }
  }
  return false;
}

/// The reason a rename table cannot be used: a rename must lead to a
/// parameter that exists, from one that does not (else a scenario could not
/// say what it means).
std::string check_renames(const sonda_plugin* d) {
  if (d->rename_count > 0 && d->renames == nullptr) {
    return "descriptor declares " + std::to_string(d->rename_count) + " renames but no table";
  }
  for (size_t i = 0; i < d->rename_count; ++i) {
    const sonda_rename_spec& r = d->renames[i];
    const std::string where = "rename #" + std::to_string(i);
    if (r.old_name == nullptr || r.new_name == nullptr || r.old_name[0] == '\0' || r.new_name[0] == '\0') {
      return where + " has no old or new name";
    }
    bool leads_somewhere = false;
    for (size_t a = 0; a < d->action_count; ++a) {
      const sonda_action_spec& action = d->actions[a];
      if (r.action != nullptr && std::strcmp(r.action, action.name) != 0) {
        continue;
      }
      if (has_param(action, r.old_name)) {
        return where + " ('" + r.old_name + "' -> '" + r.new_name + "'): action '" + action.name +
               "' still has a parameter '" + r.old_name + "'";
      }
      leads_somewhere = leads_somewhere || has_param(action, r.new_name);
    }
    if (!leads_somewhere) {
      return where + " ('" + r.old_name + "' -> '" + r.new_name + "'): no action" +
             (r.action != nullptr ? " '" + std::string(r.action) + "'" : std::string()) +
             " has a parameter '" + r.new_name + "'";
    }
  }
  return {};
}

/// Why a descriptor that claims SONDA_CAP_PORT_OWNER cannot answer what the
/// runner asks (abi.h), empty when it can.
std::string check_port_owner(const sonda_plugin& d) {
  const std::pair<const char*, std::vector<const char*>> needs[] = {
      {"owner", {"port", "protocol"}}, {"wait_for", {"port", "protocol", "pid", "timeout"}}};
  for (const auto& [action, params] : needs) {
    const sonda_action_spec* spec = nullptr;
    for (size_t i = 0; i < d.action_count; ++i) {
      if (d.actions[i].name != nullptr && std::strcmp(d.actions[i].name, action) == 0) spec = &d.actions[i];
    }
    if (spec == nullptr) return std::string("it has no action '") + action + "'";
    for (const char* param : params) {
      bool found = false;
      for (size_t p = 0; p < spec->param_count; ++p) {
        found = found || (spec->params[p].name != nullptr && std::strcmp(spec->params[p].name, param) == 0);
      }
      if (!found) return std::string("its action '") + action + "' has no parameter '" + param + "'";
    }
  }
  return {};
}

/// The reason a descriptor cannot be used, empty when it is sound.
std::string check_descriptor(const sonda_plugin* d) {
  if (d == nullptr) {
    return "sonda_plugin_entry returned no descriptor";
  }
  // The figures came later within ABI 1: a descriptor that ends before
  // them is whole, with no figures.
  constexpr size_t kMinSize = offsetof(sonda_plugin, figures);
  if (d->struct_size < kMinSize) {
    return "descriptor struct_size " + std::to_string(d->struct_size) + " is smaller than " +
           std::to_string(kMinSize) + " bytes (built against an older header)";
  }
  if (d->abi_version != SONDA_ABI_VERSION) {
    return "descriptor says ABI " + std::to_string(d->abi_version) + ", this host speaks ABI " +
           std::to_string(SONDA_ABI_VERSION);
  }
  if (d->name == nullptr || d->name[0] == '\0') {
    return "descriptor has no name";
  }
  if (d->run == nullptr) {
    return "descriptor has no run function";
  }
  if (d->action_count > 0 && d->actions == nullptr) {
    return "descriptor declares " + std::to_string(d->action_count) + " actions but no table";
  }
  for (size_t i = 0; i < d->action_count; ++i) {
    const sonda_action_spec& a = d->actions[i];
    if (a.name == nullptr || a.name[0] == '\0') {
      return "action #" + std::to_string(i) + " has no name";
    }
    if (a.param_count > 0 && a.params == nullptr) {
      return "action '" + std::string(a.name) + "' declares parameters but no table";
    }
    for (size_t p = 0; p < a.param_count; ++p) {
      if (a.params[p].name == nullptr || a.params[p].name[0] == '\0') {
        return "action '" + std::string(a.name) + "' parameter #" + std::to_string(p) +
               " has no name";
      }
    }
  }
  if ((d->capabilities & SONDA_CAP_PORT_OWNER) != 0) {
    if (std::string why = check_port_owner(*d); !why.empty()) {
      return "claims the port_owner capability, but " + why;
    }
  }
  if (d->struct_size >= kFiguresEnd) {
    if (d->figure_count > 0 && d->figures == nullptr) {
      return "descriptor declares " + std::to_string(d->figure_count) + " figures but no table";
    }
    for (size_t i = 0; i < d->figure_count; ++i) {
      const sonda_figure_spec& f = d->figures[i];
      const std::string where = "figure #" + std::to_string(i);
      if (f.action == nullptr || f.path == nullptr || f.path[0] == '\0') {
        return where + " has no action or path";
      }
      bool known = false;
      for (size_t a = 0; a < d->action_count; ++a) {
        known = known || std::strcmp(d->actions[a].name, f.action) == 0;
      }
      if (!known) {
        return where + " (" + f.path + ") names action '" + f.action + "', which the plugin does not have";
      }
      if (f.better == nullptr || (std::strcmp(f.better, "higher") != 0 && std::strcmp(f.better, "lower") != 0)) {
        return where + " (" + f.action + " " + f.path + ") must say better: \"higher\" or \"lower\"";
      }
    }
  }
  if (d->struct_size >= sizeof(sonda_plugin)) {
    return check_renames(d);
  }
  return {};
}

}  // namespace

std::vector<sonda_figure_spec> LoadedPlugin::figures(const std::string& action) const {
  std::vector<sonda_figure_spec> out;
  if (descriptor->struct_size < kFiguresEnd) {
    return out;
  }
  for (size_t i = 0; i < descriptor->figure_count; ++i) {
    if (action.empty() || action == descriptor->figures[i].action) {
      out.push_back(descriptor->figures[i]);
    }
  }
  return out;
}

std::variant<std::shared_ptr<const LoadedPlugin>, RefusedPlugin> load_plugin(const std::string& path) {
  const std::string file = std::filesystem::path(path).filename().string();
  auto refuse = [&](const std::string& why) { return RefusedPlugin{path, "plugin " + file + ": " + why}; };

  std::error_code fs_ec;
  if (!std::filesystem::is_regular_file(path, fs_ec)) {
    return refuse("not a regular file");
  }
  if (!looks_like_elf(path)) {
    return refuse("not a shared library (no ELF header)");
  }
  auto lib = std::make_shared<boost::dll::shared_library>();
  boost::dll::fs::error_code ec;
  lib->load(path, ec, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  if (ec || !lib->is_loaded()) {
    // Boost.DLL clears dlerror(); ask dlopen once more for the useful part
    // (a missing dependency, wrong architecture, undefined symbol).
    std::string why = ec.message();
    if (void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL); h != nullptr) {
      dlclose(h);
    } else if (const char* dl_why = dlerror(); dl_why != nullptr) {
      why = dl_why;
    }
    return refuse("cannot be loaded: " + why);
  }
  if (!lib->has(SONDA_ABI_SYMBOL) || !lib->has(SONDA_ENTRY_SYMBOL)) {
    return refuse(std::string("not a sonda plugin (no ") +
                  (lib->has(SONDA_ABI_SYMBOL) ? SONDA_ENTRY_SYMBOL : SONDA_ABI_SYMBOL) +
                  " symbol)");
  }
  // The version first: nothing else in the file is trusted until it matches.
  const auto& abi = lib->get_alias<const uint32_t>(SONDA_ABI_SYMBOL);
  if (abi != SONDA_ABI_VERSION) {
    return refuse("built for sonda ABI " + std::to_string(abi) + ", this host speaks ABI " +
                  std::to_string(SONDA_ABI_VERSION));
  }
  auto entry = lib->get_alias<const sonda_plugin*()>(SONDA_ENTRY_SYMBOL);
  const sonda_plugin* descriptor = entry();
  if (std::string why = check_descriptor(descriptor); !why.empty()) {
    return refuse(why);
  }
  auto loaded = std::make_shared<LoadedPlugin>();
  loaded->path = std::filesystem::weakly_canonical(path).string();
  loaded->library = std::move(lib);
  loaded->descriptor = descriptor;
  return std::shared_ptr<const LoadedPlugin>(std::move(loaded));
}

}  // namespace sonda
