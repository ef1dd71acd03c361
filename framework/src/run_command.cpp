// `sonda run` / `sonda validate` / `sonda plugins`: wiring the registry,
// the scenario layer, the runner and the result files together.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>

#include "agent_zygote.hpp"
#include "commands.hpp"
#include "describe.hpp"
#include "registry.hpp"
#include "results.hpp"
#include "run_context.hpp"
#include "reporters.hpp"
#include "runner.hpp"
#include "scenario.hpp"
#include "signals.hpp"
#include "spawn.hpp"
#include "step_task.hpp"
#include "summary.hpp"
#include "version.hpp"

namespace sonda {

std::string exit_code_help() {
  return "Exit codes:\n"
         "  0    ok: every step ok and every expectation passed\n"
         "  2    invalid scenario or command line\n"
         "  3    plugin error: a plugin the scenario needs is missing or was refused\n"
         "  4    a step failed or timed out\n"
         "  5    expectations failed (all steps ok)\n"
         "  6    a scenario host could not be reached (nothing ran)\n"
         "  7    sonda compare: a figure regressed, or a step failed in the new run\n"
         "  130  interrupted (SIGINT/SIGTERM); partial results are written\n"
         "Environment:\n"
         "  SONDA_PLUGIN_PATH  colon-separated directories searched for plugin .so files\n"
         "  SONDA_AGENT_START  fork (default): local agents are forked from a copy of the runner;\n"
         "                     exec: each is started as `sonda agent`\n";
}

namespace {

void load_every_plugin(Registry& registry, const PluginOptions& opts) {
  for (const auto& dir : Registry::search_dirs(opts.plugin_dirs)) {
    registry.load_directory(dir);
  }
  for (const auto& r : registry.refused()) {
    spdlog::debug("{}", r.reason);
  }
}

/// Loads the scenario's explicit plugins and, along the search path, the
/// ones it uses (only those: a one-step run pays for one dlopen), and checks
/// every plugin and capability it needs is there. Returns 0, or
/// kExitPluginError after printing why.
int load_plugins(const ScenarioSource& source, Registry& registry, const PluginOptions& opts) {
  const std::vector<std::string> explicit_paths = source.plugin_paths();
  for (const auto& path : explicit_paths) {
    registry.load_file(path);
  }
  const auto dirs = Registry::search_dirs(opts.plugin_dirs);
  const std::set<std::string> needed = source.needed_plugins();
  registry.load_named(dirs, needed);
  int rc = kExitOk;
  for (const auto& r : registry.refused()) {
    // A refused file the scenario names, or one found while looking for a
    // plugin it uses: either way it stops the run with its reason.
    if (needed.count(std::filesystem::path(r.path).stem().string()) != 0 ||
        std::find(explicit_paths.begin(), explicit_paths.end(), r.path) != explicit_paths.end()) {
      std::cerr << "error: " << r.reason << '\n';
      rc = kExitPluginError;
    } else {
      spdlog::debug("{}", r.reason);
    }
  }
  for (const auto& name : needed) {
    if (registry.get(name) != nullptr) {
      continue;
    }
    rc = kExitPluginError;
    if (const RefusedPlugin* r = registry.refusal_for(name)) {
      std::cerr << "error: the scenario needs plugin '" << name << "', which was refused: " << r->reason
                << '\n';
      continue;
    }
    std::cerr << "error: the scenario needs plugin '" << name << "', which was not found; searched:";
    for (const auto& dir : dirs) {
      std::cerr << ' ' << dir;
    }
    std::cerr << "\n       loaded plugins:";
    for (const auto& n : registry.plugin_names()) {
      std::cerr << ' ' << n;
    }
    std::cerr << '\n';
  }
  if ((source.needed_capabilities() & SONDA_CAP_PORT_OWNER) != 0 &&
      registry.with_capability(SONDA_CAP_PORT_OWNER) == nullptr) {
    std::cerr << "error: a spawn step waits for a port (ready:), which needs a plugin that can tell who "
                 "listens on a port (capability port_owner, e.g. proc_scanner); none was found\n";
    rc = kExitPluginError;
  }
  return rc;
}

/// Reads the scenario once, loads what it needs, validates it; prints every
/// diagnostic. nullptr on failure with `rc` set.
std::unique_ptr<Scenario> load_checked(const RunCommand& cmd, Registry& registry, int& rc) {
  try {
    const ScenarioSource source = ScenarioSource::read(cmd.file, cmd.overrides);
    rc = load_plugins(source, registry, cmd.plugins);
    if (rc != kExitOk) {
      return nullptr;
    }
    return std::make_unique<Scenario>(load_scenario(source, registry));
  } catch (const ScenarioError& e) {
    for (const auto& d : e.diagnostics()) {
      std::cerr << d.str() << '\n';
    }
    std::cerr << e.diagnostics().size() << " problem(s) in " << cmd.file << '\n';
    rc = kExitInvalidScenario;
  } catch (const std::exception& e) {
    std::cerr << cmd.file << ": " << e.what() << '\n';
    rc = kExitInvalidScenario;
  }
  return nullptr;
}

size_t count_steps(const Group& g) {
  size_t n = 0;
  for (const auto& node : g.nodes) {
    n += node.is_group() ? count_steps(*node.group) : 1;
  }
  return n;
}

}  // namespace

int validate_command(const RunCommand& cmd) {
  Registry registry;
  int rc = kExitOk;
  auto scenario = load_checked(cmd, registry, rc);
  if (!scenario) {
    return rc;
  }
  std::cout << cmd.file << ": ok (" << count_steps(scenario->root) << " steps, "
            << scenario->expectations.size() << " expectations)\n";
  return kExitOk;
}

int run_command(const RunCommand& cmd) {
  Registry registry;
  int rc = kExitOk;
  auto scenario = load_checked(cmd, registry, rc);
  if (!scenario) {
    return rc;
  }
  const Isolation isolation = cmd.in_process ? Isolation::kInProcess : Isolation::kAgent;
  if (isolation == Isolation::kAgent) {
    // Now, while this process has one thread and its plugins loaded: local
    // agents are forked from it instead of exec'd (agent_zygote.hpp).
    std::string why;
    if (auto zygote = AgentZygote::start(planned_local_runs(scenario->root), why, &registry)) {
      set_agent_zygote(std::move(zygote));
    }
    if (!why.empty()) {
      spdlog::debug("local agents are exec'd: {}", why);
    }
  }
  struct ZygoteEnd {
    ~ZygoteEnd() { set_agent_zygote(nullptr); }
  } zygote_end;
  std::unique_ptr<RunWriter> writer;
  try {
    writer = std::make_unique<RunWriter>(cmd.out_dir, scenario->name);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << '\n';
    return kExitInvalidScenario;
  }
  const int64_t start_ns = monotonic_now_ns();
  const std::string started_at = utc_iso_timestamp();
  nlohmann::json header;
  // Every output of the run is a reporter (reporters.hpp).
  ReporterSet report;
  report.add(writer.get());  // events.jsonl
  if (!cmd.quiet) {
    report.add(make_progress_reporter(std::cout, {cmd.progress_terminal, cmd.intervals}));
  }
  report.add(make_run_json_reporter(*writer));
  if (!cmd.junit_file.empty()) {
    report.add(make_junit_reporter(cmd.junit_file));
  }
  if (!cmd.csv_dir.empty()) {
    report.add(make_csv_reporter(cmd.csv_dir));
  }
  report.add(make_summary_reporter(*writer, std::cout));

  // The watcher starts before the runner: the runner's executor starts a
  // spare agent (and its reader thread) at once, and every thread must
  // inherit the mask that leaves SIGINT/SIGTERM to the watcher (signals.hpp).
  // A signal before the runner exists is kept and interrupts it at start.
  // The run's context (kernel, CPU, sysctls, interfaces: ~3 ms) is read
  // after the runner exists, while that first agent starts on the other core.
  std::mutex runner_mu;
  Runner* active = nullptr;
  bool early_signal = false;
  RunOutcome outcome;
  {
    SignalWatcher signals([&](int count) {
      if (count >= 2) {
        SpawnedProcess::kill_all_now();
      }
      std::lock_guard lock(runner_mu);
      if (active != nullptr) {
        active->interrupt();
      } else {
        early_signal = true;
      }
    });
    Runner runner(*scenario, registry, report, writer->dir(), isolation);
    header = run_header(*scenario, registry, to_string(isolation), writer->dir(), started_at);
    report.run_start(header);
    spdlog::info("running {} -> {}", scenario->name, writer->dir());
    {
      std::lock_guard lock(runner_mu);
      active = &runner;
      if (early_signal) {
        runner.interrupt();
      }
    }
    // `${hosts.local...}` read the interfaces the context has just read.
    outcome = runner.run(header["context"].value("interfaces", nlohmann::json()));
    std::lock_guard lock(runner_mu);
    active = nullptr;
  }
  if (!outcome.host_error.empty()) {
    std::cerr << "error: " << outcome.host_error << '\n';
  }
  report.run_end(complete_run(header, outcome, monotonic_now_ns() - start_ns, utc_iso_timestamp()), outcome);
  return outcome.exit_code;
}

int plugins_command(const PluginOptions& opts) {
  Registry registry;
  load_every_plugin(registry, opts);
  std::cout << list_plugins(registry);
  return kExitOk;
}

int describe_command(const PluginOptions& opts, const std::string& what, bool markdown) {
  Registry registry;
  load_every_plugin(registry, opts);
  // "plugin.action": only that action's parameter block (a README's region).
  const size_t dot = what.find('.');
  const std::string name = what.substr(0, dot);
  if (auto plugin = registry.get(name)) {
    if (dot == std::string::npos) {
      std::cout << describe_plugin(*plugin, markdown);
      return kExitOk;
    }
    const std::string action = what.substr(dot + 1);
    if (auto block = describe_action_params(*plugin, action, markdown)) {
      std::cout << *block;
      return kExitOk;
    }
    std::cerr << "error: plugin " << name << " has no action '" << action << "'; it has:";
    for (size_t i = 0; i < plugin->descriptor->action_count; ++i) {
      std::cerr << ' ' << plugin->descriptor->actions[i].name;
    }
    std::cerr << '\n';
    return kExitPluginError;
  }
  if (const RefusedPlugin* r = registry.refusal_for(name)) {
    std::cerr << "error: " << r->reason << '\n';
  } else {
    std::cerr << "error: no plugin named '" << name << "'; found:";
    for (const auto& n : registry.plugin_names()) {
      std::cerr << ' ' << n;
    }
    std::cerr << '\n';
  }
  return kExitPluginError;
}

}  // namespace sonda
