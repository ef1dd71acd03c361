// References between steps: checked before the run (check_references) and
// substituted at run time (resolve_params, resolve_spawn).
#include <algorithm>
#include <cstdlib>

#include "scenario/load_context.hpp"
#include "scenario/params.hpp"
#include "scenario/suggest.hpp"

namespace sonda {
namespace scenario {
namespace {

/// True when the two positions are in different branches of a parallel group.
bool run_concurrently(const std::vector<TreeLevel>& a, const std::vector<TreeLevel>& b) {
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    if (a[i].group_serial != b[i].group_serial) {
      return false;
    }
    if (a[i].child_index != b[i].child_index) {
      return a[i].parallel;
    }
  }
  return false;
}

}  // namespace

void check_references(LoadContext& ctx) {
  std::vector<std::string> step_ids;
  for (const auto& place : ctx.steps) {
    if (!place.id.empty()) {
      step_ids.push_back(place.id);
    }
  }
  for (const auto& pending : ctx.refs) {
    const RecordPath& path = pending.ref.path;
    const std::string shown = "'${" + path.text + "}'";
    if (path.root() == "env") {
      if (path.segments.size() != 2 || path.segments[1].index) {
        ctx.error(pending.mark, shown + ": write ${env.NAME}");
      } else if (std::getenv(path.segments[1].key.c_str()) == nullptr) {
        ctx.error(pending.mark, shown + ": environment variable '" + path.segments[1].key +
                                    "' is not set");
      }
      continue;
    }
    if (path.root() == kHostsRecord) {
      std::vector<std::string> known = ctx.host_names;
      known.emplace_back("local");
      if (path.segments.size() < 3 || path.segments[1].index) {
        ctx.error(pending.mark, shown + ": write ${hosts.NAME.ipv4}, ${hosts.NAME.ipv6} or "
                                        "${hosts.NAME.interfaces.IFACE.ipv4[0]}");
      } else if (std::find(known.begin(), known.end(), path.segments[1].key) == known.end()) {
        ctx.error(pending.mark, shown + ": unknown host '" + path.segments[1].key + "'" +
                                    did_you_mean(path.segments[1].key, known) +
                                    (ctx.host_names.empty() ? " (the scenario has no hosts:)" : ""));
      }
      continue;
    }
    const StepPlace* target = nullptr;
    for (const auto& place : ctx.steps) {
      if (place.id == path.root()) {
        target = &place;
        break;
      }
    }
    if (target == nullptr) {
      ctx.error(pending.mark, shown + ": unknown step '" + path.root() + "'" +
                                  did_you_mean(path.root(), step_ids));
    } else if (target->ordinal >= pending.step_ordinal) {
      ctx.error(pending.mark, shown + ": step '" + path.root() + "' (" + target->mark.str() +
                                  ") does not run before this step; a step can only use "
                                  "records of earlier steps");
    } else if (run_concurrently(target->position, pending.position)) {
      ctx.error(pending.mark, shown + ": step '" + path.root() +
                                  "' runs in parallel with this step; move it before the "
                                  "parallel group");
    }
  }
}

}  // namespace scenario

namespace {

const sonda_param_spec* find_spec(const Step& step, const std::string& name,
                                  const SchemaSource& schemas) {
  const sonda_plugin* plugin = schemas.find_plugin(step.plugin);
  if (plugin == nullptr) {
    return nullptr;
  }
  for (size_t i = 0; i < plugin->action_count; ++i) {
    const sonda_action_spec& action = plugin->actions[i];
    if (step.action != action.name) {
      continue;
    }
    for (size_t j = 0; j < action.param_count; ++j) {
      if (name == action.params[j].name) {
        return &action.params[j];
      }
    }
  }
  return nullptr;
}

}  // namespace

nlohmann::json resolve_params(const Step& step, const nlohmann::json& records,
                              const SchemaSource& schemas) {
  if (step.kind == Step::Kind::kSpawn) {
    SpawnSpec spec = resolve_spawn(step, records);
    return {{"argv", spec.argv}, {"env", spec.env}, {"cwd", spec.cwd}};
  }
  nlohmann::json params = step.params;
  for (const auto& name : step.deferred) {
    const sonda_param_spec* spec = find_spec(step, name, schemas);
    if (spec == nullptr) {
      throw std::runtime_error("step '" + step.id + "': parameter '" + name + "' of " +
                               step.plugin + "." + step.action + " is not in its schema");
    }
    try {
      params[name] = scenario::normalise_param(
          *spec, scenario::substitute_references(step.params.at(name), records), nullptr);
    } catch (const std::exception& e) {
      throw std::runtime_error("step '" + step.id + "': parameter '" + name + "': " + e.what());
    }
  }
  return params;
}

SpawnSpec resolve_spawn(const Step& step, const nlohmann::json& records) {
  // argv, env and cwd are text: a whole-string reference to a number (a
  // port) becomes its decimal text.
  auto text = [](const nlohmann::json& v) {
    return v.is_string() ? v.get<std::string>() : v.dump();
  };
  SpawnSpec spec = step.spawn;
  try {
    spec.argv.clear();
    for (const auto& arg :
         scenario::substitute_references(nlohmann::json(step.spawn.argv), records)) {
      spec.argv.push_back(text(arg));
    }
    spec.env.clear();
    auto env = scenario::substitute_references(nlohmann::json(step.spawn.env), records);
    for (auto it = env.begin(); it != env.end(); ++it) {
      spec.env[it.key()] = text(it.value());
    }
    spec.cwd = text(scenario::substitute_references(nlohmann::json(step.spawn.cwd), records));
  } catch (const std::exception& e) {
    throw std::runtime_error("step '" + step.id + "': spawn: " + e.what());
  }
  return spec;
}

}  // namespace sonda
