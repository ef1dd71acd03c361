// `sonda run` / `sonda validate` / `sonda plugins`: wiring the registry,
// the scenario layer, the runner and the result files together.
#include <spdlog/spdlog.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>

#include "commands.hpp"
#include "describe.hpp"
#include "needed_plugins.hpp"
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
         "  SONDA_PLUGIN_PATH  colon-separated directories searched for plugin .so files\n";
}

namespace {

Registry load_registry(const PluginOptions& opts) {
  Registry registry;
  for (const auto& dir : Registry::search_dirs(opts.plugin_dirs)) {
    registry.load_directory(dir);
  }
  for (const auto& r : registry.refused()) {
    spdlog::debug("{}", r.reason);
  }
  return registry;
}

/// Loads the scenario's explicit plugins and checks every plugin it uses is
/// available. Returns 0, or kExitPluginError after printing why.
int check_plugins(const std::string& file, Registry& registry, const PluginOptions& opts) {
  const size_t refused_before = registry.refused().size();
  for (const auto& path : scenario_plugin_paths(file)) {
    registry.load_file(path);
  }
  int rc = kExitOk;
  for (size_t i = refused_before; i < registry.refused().size(); ++i) {
    std::cerr << "error: " << registry.refused()[i].reason << '\n';
    rc = kExitPluginError;
  }
  for (const auto& name : needed_plugins(file)) {
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
    for (const auto& dir : Registry::search_dirs(opts.plugin_dirs)) {
      std::cerr << ' ' << dir;
    }
    std::cerr << "\n       loaded plugins:";
    for (const auto& n : registry.plugin_names()) {
      std::cerr << ' ' << n;
    }
    std::cerr << '\n';
  }
  return rc;
}

/// Parses and validates; prints every diagnostic. nullptr on failure with
/// `rc` set.
std::unique_ptr<Scenario> load_checked(const RunCommand& cmd, Registry& registry, int& rc) {
  try {
    rc = check_plugins(cmd.file, registry, cmd.plugins);
    if (rc != kExitOk) {
      return nullptr;
    }
    return std::make_unique<Scenario>(load_scenario(cmd.file, cmd.overrides, registry));
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
  Registry registry = load_registry(cmd.plugins);
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
  Registry registry = load_registry(cmd.plugins);
  int rc = kExitOk;
  auto scenario = load_checked(cmd, registry, rc);
  if (!scenario) {
    return rc;
  }
  std::unique_ptr<RunWriter> writer;
  try {
    writer = std::make_unique<RunWriter>(cmd.out_dir, scenario->name);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << '\n';
    return kExitInvalidScenario;
  }
  const Isolation isolation = cmd.in_process ? Isolation::kInProcess : Isolation::kAgent;
  const int64_t start_ns = monotonic_now_ns();
  const nlohmann::json header =
      run_header(*scenario, registry, to_string(isolation), writer->dir(), utc_iso_timestamp());
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
  report.run_start(header);
  spdlog::info("running {} -> {}", scenario->name, writer->dir());

  // The watcher starts before the runner: the runner's executor starts a
  // spare agent (and its reader thread) at once, and every thread must
  // inherit the mask that leaves SIGINT/SIGTERM to the watcher (signals.hpp).
  // A signal before the runner exists is kept and interrupts it at start.
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
    {
      std::lock_guard lock(runner_mu);
      active = &runner;
      if (early_signal) {
        runner.interrupt();
      }
    }
    outcome = runner.run();
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
  Registry registry = load_registry(opts);
  std::cout << list_plugins(registry);
  return kExitOk;
}

int describe_command(const PluginOptions& opts, const std::string& what, bool markdown) {
  Registry registry = load_registry(opts);
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
