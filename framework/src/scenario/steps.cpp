// Parsing of the steps tree: action steps, spawn steps and groups.
#include <algorithm>
#include <cstring>

#include "scenario/load_context.hpp"
#include "scenario/params.hpp"
#include "scenario/suggest.hpp"
#include "units.hpp"

namespace sonda::scenario {
namespace {

const std::vector<std::string> kActionKeys{"id",     "use",         "with", "timeout", "background",
                                           "repeat", "description", "on"};
const std::vector<std::string> kSpawnStepKeys{"id", "spawn", "description", "on"};
const std::vector<std::string> kSpawnKeys{"cmd", "env", "cwd", "ready", "grace"};
const std::vector<std::string> kReadyKeys{"tcp_listen", "udp_listen", "timeout"};
const std::vector<std::string> kGroupKeys{"parallel", "sequence", "id", "description"};

/// Registers an id (explicit or automatic); reports a bad or duplicate one.
void register_id(const std::string& id, const SourceMark& mark, LoadContext& ctx) {
  if (!is_valid_id(id)) {
    ctx.error(mark, "bad id '" + id + "': expected a letter or '_' then letters, digits, '_' or '-'");
    return;
  }
  if (id == "env" || id == kHostsRecord) {
    ctx.error(mark, "id '" + id + "' is reserved for " +
                        (id == "env" ? "${env.NAME}" : "${hosts.NAME.ipv4} and the like") + " references");
    return;
  }
  auto [it, inserted] = ctx.ids.emplace(id, mark);
  if (!inserted) {
    ctx.error(mark, "duplicate step id '" + id + "' (first used at " + it->second.str() + ")");
  }
}

/// The `id:` of a step or group; empty when absent or not a scalar.
std::string read_id(const YamlNode& item, LoadContext& ctx) {
  const YamlEntry* id = item.find("id");
  if (id == nullptr) {
    return "";
  }
  if (!id->value.is_scalar()) {
    ctx.error(id->key.mark, "id must be a name, got " + kind_name(id->value));
    return "";
  }
  register_id(id->value.scalar, id->key.mark, ctx);
  return id->value.scalar;
}

std::optional<int64_t> read_duration(const YamlEntry& entry, const std::string& what,
                                     LoadContext& ctx) {
  if (!entry.value.is_scalar()) {
    ctx.error(entry.key.mark, what + " must be a duration, got " + kind_name(entry.value));
    return std::nullopt;
  }
  try {
    return units::parse_duration_ns(entry.value.scalar);
  } catch (const units::UnitError& e) {
    ctx.error(entry.key.mark, what + " must be a duration: " + e.what());
    return std::nullopt;
  }
}

/// A value whose strings may hold references: records them for checking and
/// returns whether there are any. A malformed reference is reported and
/// counts as one, so the value is not parsed again.
bool note_references(const nlohmann::json& value, const SourceMark& mark, const StepPlace& place,
                     LoadContext& ctx) {
  std::vector<Reference> refs;
  try {
    collect_references(value, refs);
  } catch (const std::invalid_argument& e) {
    ctx.error(mark, e.what());
    return true;
  }
  for (auto& ref : refs) {
    ctx.refs.push_back({std::move(ref), mark, place.ordinal, place.position});
  }
  return !refs.empty();
}

const sonda_param_spec* find_param(const sonda_action_spec& action, std::string_view name) {
  for (size_t i = 0; i < action.param_count; ++i) {
    if (action.params[i].name != nullptr && name == action.params[i].name) {
      return &action.params[i];
    }
  }
  return nullptr;
}

/// Normalises a YAML value for `spec`; reports at `key_mark`. Values with
/// references are kept raw and listed as deferred.
/// "'payload' was renamed to 'size' (tcp_transport.rr)".
std::string renamed_message(const std::string& old_name, const std::string& new_name,
                            const std::string& action_text) {
  return "'" + old_name + "' was renamed to '" + new_name + "' (" + action_text + ")";
}

void set_param(Step& step, const sonda_param_spec& spec, const YamlNode& value,
               const SourceMark& key_mark, const StepPlace& place, LoadContext& ctx) {
  nlohmann::json json = to_json(value);
  if (note_references(json, key_mark, place, ctx)) {
    step.params[spec.name] = json;
    step.deferred.emplace_back(spec.name);
    return;
  }
  try {
    if (value.is_scalar()) {
      std::string written = substitute_references(value.scalar, {}).get<std::string>();
      if (!value.plain) {
        json = written;
      }
      step.params[spec.name] = normalise_param(spec, json, &written);
    } else {
      step.params[spec.name] = normalise_param(spec, substitute_references(json, {}), nullptr);
    }
  } catch (const ParamError& e) {
    ctx.error(key_mark, std::string(e.what()) + " (" + step.plugin + "." + step.action + ")");
  }
}

/// `on: HOST`: a name from `hosts:` or "local" (the default).
void parse_on(const YamlNode& item, Step& step, LoadContext& ctx) {
  if (const YamlEntry* on = item.find("on")) {
    if (!on->value.is_scalar() || on->value.scalar.empty()) {
      ctx.error(on->key.mark, "on must be a host name, got " + kind_name(on->value));
    } else if (on->value.scalar != "local" &&
               std::find(ctx.host_names.begin(), ctx.host_names.end(), on->value.scalar) == ctx.host_names.end()) {
      std::vector<std::string> known = ctx.host_names;
      known.emplace_back("local");
      ctx.error(on->value.mark, "unknown host '" + on->value.scalar + "'" + did_you_mean(on->value.scalar, known) +
                                    (ctx.host_names.empty() ? " (the scenario has no hosts:)" : ""));
    } else if (on->value.scalar != "local") {
      step.host = on->value.scalar;
    }
  }
}

void parse_action(const YamlNode& item, Step& step, StepPlace& place, LoadContext& ctx) {
  // `spawn` next to `use` is reported once, by the caller, as a conflict.
  static const std::vector<std::string> kAllowed = [] {
    auto keys = kActionKeys;
    keys.emplace_back("spawn");
    return keys;
  }();
  check_keys(item, item.find("spawn") != nullptr ? kAllowed : kActionKeys, "step", ctx);
  const YamlEntry* use = item.find("use");
  if (!use->value.is_scalar() || std::count(use->value.scalar.begin(), use->value.scalar.end(), '.') != 1) {
    ctx.error(use->key.mark, "use must be 'plugin.action', got " + kind_name(use->value));
    return;
  }
  const std::string& text = use->value.scalar;
  step.plugin = text.substr(0, text.find('.'));
  step.action = text.substr(text.find('.') + 1);
  if (step.id.empty()) {
    std::string id = step.action + "_" + std::to_string(place.ordinal);
    while (ctx.explicit_ids.count(id) != 0) {
      id += "_";
    }
    step.id = id;
    register_id(id, step.mark, ctx);
    place.id = id;
  }
  if (const YamlEntry* timeout = item.find("timeout")) {
    step.timeout_ns = read_duration(*timeout, "timeout", ctx);
  }
  parse_on(item, step, ctx);
  if (const YamlEntry* repeat = item.find("repeat")) {
    nlohmann::json n = to_json(repeat->value);
    if (!n.is_number_integer() || n.get<int64_t>() < 1 || n.get<int64_t>() > 1'000'000) {
      ctx.error(repeat->key.mark, "repeat must be a positive integer, got " + kind_name(repeat->value));
    } else {
      step.repeat = static_cast<int>(n.get<int64_t>());
    }
  }
  std::optional<bool> background;
  const YamlEntry* background_entry = item.find("background");
  if (background_entry != nullptr) {
    nlohmann::json b = to_json(background_entry->value);
    if (!b.is_boolean()) {
      ctx.error(background_entry->key.mark, "background must be true or false, got " +
                                                kind_name(background_entry->value));
    } else {
      background = b.get<bool>();
    }
  }

  const sonda_plugin* plugin = ctx.schemas.find_plugin(step.plugin);
  if (plugin == nullptr) {
    ctx.error(use->key.mark, "unknown plugin '" + step.plugin + "'" +
                                 did_you_mean(step.plugin, ctx.schemas.plugin_names()));
    return;
  }
  const sonda_action_spec* action = nullptr;
  std::vector<std::string> action_names;
  for (size_t i = 0; i < plugin->action_count; ++i) {
    action_names.emplace_back(plugin->actions[i].name);
    if (step.action == plugin->actions[i].name) {
      action = &plugin->actions[i];
    }
  }
  if (action == nullptr) {
    ctx.error(use->key.mark, "unknown action '" + step.action + "' in plugin " + step.plugin +
                                 did_you_mean(step.action, action_names));
    return;
  }
  const bool background_action = (action->flags & SONDA_ACTION_BACKGROUND) != 0;
  if (background_action && background == false) {
    ctx.error(background_entry->key.mark, text + " is a server (background action); it cannot "
                                                 "run with background: false");
  }
  step.background = background_action || background.value_or(false);
  place.background = step.background;
  if (step.background && step.repeat > 1) {
    ctx.error(item.find("repeat")->key.mark, "repeat is not allowed on a background step");
  }

  std::vector<std::string> param_names;
  for (size_t i = 0; i < action->param_count; ++i) {
    param_names.emplace_back(action->params[i].name);
    ctx.param_names.insert(action->params[i].name);
  }
  if (plugin->struct_size >= sizeof(sonda_plugin)) {
    for (size_t i = 0; i < plugin->rename_count; ++i) {
      const char* old_name = plugin->renames[i].old_name;
      if (auto now = renamed_to(*plugin, *action, old_name)) {
        ctx.renamed_params.emplace(old_name, renamed_message(old_name, *now, text));
      }
    }
  }
  const YamlEntry* with = item.find("with");
  if (with != nullptr && !with->value.is_map() && !with->value.is_null()) {
    ctx.error(with->key.mark, "with must be a map of parameters, got " + kind_name(with->value));
    with = nullptr;
  }
  if (with != nullptr) {
    for (const auto& entry : with->value.entries) {
      const std::string name = entry.key.is_scalar() ? entry.key.scalar : "";
      const sonda_param_spec* spec = find_param(*action, name);
      if (spec == nullptr) {
        const auto now = renamed_to(*plugin, *action, name);
        ctx.error(entry.key.mark, now ? renamed_message(name, *now, text)
                                      : "unknown parameter '" + name + "' for " + text +
                                            did_you_mean(name, param_names));
      } else if (!step.params.contains(name)) {
        set_param(step, *spec, entry.value, entry.key.mark, place, ctx);
      }
    }
  }
  for (size_t i = 0; i < action->param_count; ++i) {
    const sonda_param_spec& spec = action->params[i];
    if (step.params.contains(spec.name) ||
        (with != nullptr && with->value.find(spec.name) != nullptr)) {
      continue;
    }
    const YamlEntry* scenario_default =
        ctx.defaults != nullptr ? ctx.defaults->find(spec.name) : nullptr;
    if (scenario_default != nullptr) {
      const size_t errors_before = ctx.diags.size();
      set_param(step, spec, scenario_default->value, scenario_default->key.mark, place, ctx);
      // One bad `defaults:` value is one error, not one per step using it.
      if (ctx.diags.size() > errors_before &&
          !ctx.reported_defaults.insert(spec.name).second) {
        ctx.diags.resize(errors_before);
      }
    } else if (spec.default_value != nullptr) {
      try {
        step.params[spec.name] = normalise_default(spec);
      } catch (const ParamError& e) {
        ctx.error(use->key.mark, "plugin " + step.plugin + " has a bad default for " + text +
                                     ": " + e.what());
      }
    } else if (spec.required != 0) {
      ctx.error(with != nullptr ? with->key.mark : use->key.mark,
                "missing required parameter '" + std::string(spec.name) + "' for " + text);
    }
  }
}

std::vector<std::string> split_command(const std::string& text) {
  std::vector<std::string> argv;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t start = text.find_first_not_of(" \t", pos);
    if (start == std::string::npos) {
      break;
    }
    size_t end = text.find_first_of(" \t", start);
    argv.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
    pos = end == std::string::npos ? text.size() : end;
  }
  return argv;
}

void parse_ready(const YamlEntry& ready, SpawnSpec& spec, LoadContext& ctx) {
  if (!ready.value.is_map()) {
    ctx.error(ready.key.mark, "ready must be a map like { tcp_listen: 10000, timeout: 10s }");
    return;
  }
  check_keys(ready.value, kReadyKeys, "ready", ctx);
  for (const char* key : {"tcp_listen", "udp_listen"}) {
    const YamlEntry* port = ready.value.find(key);
    if (port == nullptr) {
      continue;
    }
    nlohmann::json n = to_json(port->value);
    if (!n.is_number_integer() || n.get<int64_t>() < 1 || n.get<int64_t>() > 65535) {
      ctx.error(port->key.mark, std::string(key) + " must be a port from 1 to 65535, got " +
                                    kind_name(port->value));
    } else if (std::strcmp(key, "tcp_listen") == 0) {
      spec.ready_tcp_port = static_cast<uint16_t>(n.get<int64_t>());
    } else {
      spec.ready_udp_port = static_cast<uint16_t>(n.get<int64_t>());
    }
  }
  if (ready.value.find("tcp_listen") != nullptr && ready.value.find("udp_listen") != nullptr) {
    ctx.error(ready.key.mark, "ready takes tcp_listen or udp_listen, not both");
  }
  if (const YamlEntry* timeout = ready.value.find("timeout")) {
    if (auto ns = read_duration(*timeout, "ready timeout", ctx)) {
      spec.ready_timeout_ns = *ns;
    }
  }
}

void parse_spawn(const YamlNode& item, Step& step, StepPlace& place, LoadContext& ctx) {
  check_keys(item, kSpawnStepKeys, "spawn step", ctx);
  step.kind = Step::Kind::kSpawn;
  step.background = true;
  parse_on(item, step, ctx);
  place.background = true;
  const YamlEntry* spawn = item.find("spawn");
  if (step.id.empty()) {
    ctx.error(spawn->key.mark, "a spawn step needs an id");
  }
  if (!spawn->value.is_map()) {
    ctx.error(spawn->key.mark, "spawn must be a map with at least cmd, got " + kind_name(spawn->value));
    return;
  }
  check_keys(spawn->value, kSpawnKeys, "spawn", ctx);
  SpawnSpec& spec = step.spawn;
  const YamlEntry* cmd = spawn->value.find("cmd");
  if (cmd == nullptr) {
    ctx.error(spawn->key.mark, "spawn needs cmd: [program, args...]");
  } else if (cmd->value.is_scalar()) {
    spec.argv = split_command(cmd->value.scalar);
  } else if (cmd->value.is_sequence()) {
    for (const auto& arg : cmd->value.items) {
      if (!arg.is_scalar()) {
        ctx.error(cmd->key.mark, "cmd arguments must be strings, got " + kind_name(arg));
      } else {
        spec.argv.push_back(arg.scalar);
      }
    }
  }
  if (cmd != nullptr && spec.argv.empty()) {
    ctx.error(cmd->key.mark, "cmd must name a program");
  }
  if (cmd != nullptr && note_references(nlohmann::json(spec.argv), cmd->key.mark, place, ctx)) {
    step.deferred.emplace_back("cmd");
  }
  if (const YamlEntry* env = spawn->value.find("env")) {
    if (!env->value.is_map()) {
      ctx.error(env->key.mark, "env must be a map of NAME: value");
    } else {
      for (const auto& var : env->value.entries) {
        if (!var.value.is_scalar()) {
          ctx.error(var.key.mark, "env value must be a string, got " + kind_name(var.value));
        } else {
          spec.env[var.key.scalar] = var.value.scalar;
        }
      }
      if (note_references(nlohmann::json(spec.env), env->key.mark, place, ctx)) {
        step.deferred.emplace_back("env");
      }
    }
  }
  if (const YamlEntry* cwd = spawn->value.find("cwd")) {
    if (!cwd->value.is_scalar()) {
      ctx.error(cwd->key.mark, "cwd must be a directory path");
    } else {
      spec.cwd = cwd->value.scalar;
      if (note_references(spec.cwd, cwd->key.mark, place, ctx)) {
        step.deferred.emplace_back("cwd");
      }
    }
  }
  if (const YamlEntry* ready = spawn->value.find("ready")) {
    parse_ready(*ready, spec, ctx);
  }
  if (const YamlEntry* grace = spawn->value.find("grace")) {
    if (auto ns = read_duration(*grace, "grace", ctx)) {
      spec.stop_grace_ns = *ns;
    }
  }
}

}  // namespace

void check_keys(const YamlNode& map, const std::vector<std::string>& allowed,
                const std::string& where, LoadContext& ctx) {
  for (const auto& entry : map.entries) {
    const std::string key = entry.key.is_scalar() ? entry.key.scalar : "";
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      ctx.error(entry.key.mark, "unknown key '" + key + "' in " + where + did_you_mean(key, allowed));
    }
  }
}

void collect_explicit_ids(const YamlNode& list, std::set<std::string>& ids) {
  for (const auto& item : list.items) {
    if (!item.is_map()) {
      continue;
    }
    if (const YamlEntry* id = item.find("id"); id != nullptr && id->value.is_scalar()) {
      ids.insert(id->value.scalar);
    }
    for (const char* key : {"parallel", "sequence"}) {
      if (const YamlEntry* nested = item.find(key); nested != nullptr) {
        collect_explicit_ids(nested->value, ids);
      }
    }
  }
}

void parse_group_items(const YamlNode& list, Group& group, LoadContext& ctx,
                       const std::vector<TreeLevel>& position) {
  const int serial = ++ctx.group_serial;
  for (size_t index = 0; index < list.items.size(); ++index) {
    const YamlNode& item = list.items[index];
    std::vector<TreeLevel> here = position;
    here.push_back({serial, group.parallel, index});
    if (!item.is_map()) {
      ctx.error(item.mark, "a step must be a map with use, spawn, parallel or sequence; got " +
                               kind_name(item));
      continue;
    }
    const YamlEntry* parallel = item.find("parallel");
    const YamlEntry* sequence = item.find("sequence");
    if (parallel != nullptr || sequence != nullptr) {
      if (parallel != nullptr && sequence != nullptr) {
        ctx.error(sequence->key.mark, "a group is either parallel or sequence, not both");
      }
      check_keys(item, kGroupKeys, "group", ctx);
      const YamlEntry* body = parallel != nullptr ? parallel : sequence;
      auto nested = std::make_shared<Group>();
      nested->parallel = parallel != nullptr;
      nested->mark = body->key.mark;
      nested->id = read_id(item, ctx);
      if (!body->value.is_sequence() || body->value.items.empty()) {
        ctx.error(body->key.mark, body->key.scalar + " must be a non-empty list of steps");
      } else {
        parse_group_items(body->value, *nested, ctx, here);
      }
      group.nodes.push_back(Node{Step{}, std::move(nested)});
      continue;
    }
    Node node;
    Step& step = node.step;
    step.mark = item.mark;
    step.id = read_id(item, ctx);
    StepPlace place{step.id, step.mark, false, static_cast<int>(ctx.steps.size()) + 1, here};
    if (item.find("use") != nullptr) {
      if (item.find("spawn") != nullptr) {
        ctx.error(item.find("spawn")->key.mark, "a step has either use or spawn, not both");
      }
      parse_action(item, step, place, ctx);
    } else if (item.find("spawn") != nullptr) {
      parse_spawn(item, step, place, ctx);
    } else {
      ctx.error(item.mark, "a step needs one of: use, spawn, parallel, sequence");
    }
    ctx.steps.push_back(std::move(place));
    group.nodes.push_back(std::move(node));
  }
}

}  // namespace sonda::scenario
