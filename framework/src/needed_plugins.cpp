#include "needed_plugins.hpp"

#include <yaml-cpp/yaml.h>

namespace sonda {

namespace {

void walk(const YAML::Node& node, std::set<std::string>& out) {
  if (node.IsSequence()) {
    for (const auto& item : node) {
      walk(item, out);
    }
    return;
  }
  if (!node.IsMap()) {
    return;
  }
  for (const auto& kv : node) {
    const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
    if (key == "use" && kv.second.IsScalar()) {
      const std::string use = kv.second.Scalar();
      out.insert(use.substr(0, use.find('.')));
    } else if (key == "spawn" && kv.second.IsMap() && kv.second["ready"]) {
      out.insert("proc_scanner");
    } else if (key != "expect" && key != "defaults") {
      walk(kv.second, out);
    }
  }
}

}  // namespace

std::set<std::string> needed_plugins(const std::string& scenario_file) {
  std::set<std::string> out;
  try {
    walk(YAML::LoadFile(scenario_file)["steps"], out);
  } catch (const std::exception&) {
    out.clear();
  }
  return out;
}

}  // namespace sonda
