// Loading one plugin .so: the door check. Reads the ABI version before
// anything else, then the descriptor, and turns every problem into a one-line
// refusal instead of a crash (fio's "bad ioops version" check).
#pragma once

#include <sonda/abi.h>

#include <boost/dll/shared_library.hpp>
#include <memory>
#include <string>
#include <vector>
#include <variant>

namespace sonda {

/// A plugin that passed the door check. The descriptor and every string it
/// points to live inside `library`; whoever keeps a pointer into the plugin
/// keeps this object (and so the library) alive. Immutable, thread-safe.
struct LoadedPlugin {
  std::string path;  ///< canonical path of the .so
  std::shared_ptr<boost::dll::shared_library> library;
  const sonda_plugin* descriptor = nullptr;

  /// Convenience accessors into the descriptor.
  std::string name() const { return descriptor->name; }
  std::string version() const { return descriptor->version != nullptr ? descriptor->version : ""; }
  std::string description() const {
    return descriptor->description != nullptr ? descriptor->description : "";
  }
  /// The action spec named `action`, nullptr when the plugin has none.
  const sonda_action_spec* find_action(const std::string& action) const;
  /// The headline figures `action` declares (every action's when empty);
  /// none for a plugin built before figures existed.
  std::vector<sonda_figure_spec> figures(const std::string& action = "") const;
};

/// A file that was not accepted, with the one-line reason (which already
/// names the file), e.g. "plugin x.so: built for sonda ABI 7, this host
/// speaks ABI 1".
struct RefusedPlugin {
  std::string path;
  std::string reason;
};

/// Loads `path` and checks it. Never throws for a bad file; the library is
/// kept loaded (RTLD_LOCAL) only when accepted.
std::variant<std::shared_ptr<const LoadedPlugin>, RefusedPlugin> load_plugin(const std::string& path);

}  // namespace sonda
