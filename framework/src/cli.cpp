// Command line: CLI11 subcommands mapped onto commands.hpp.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include "commands.hpp"
#include "logging.hpp"
#include "runner.hpp"
#include "version.hpp"

namespace sonda {

/// Parses argv and runs the chosen subcommand; returns the exit code.
int cli_main(int argc, char** argv) {
  CLI::App app{"sonda: network measurement scenarios with discovery and transport plugins"};
  app.footer(exit_code_help());
  app.set_version_flag("--version", std::string("sonda ") + kSondaVersion + " (git " + kSondaGitHash + ")");
  app.require_subcommand(1);
  int verbose = 0;
  bool quiet = false;
  app.add_flag("-v,--verbose", verbose, "Debug logging on stderr")->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_flag("-q,--quiet", quiet, "Only warnings and errors on stderr");
  PluginOptions plugin_opts;
  app.add_option("--plugin-path", plugin_opts.plugin_dirs,
                 "Extra directory to search for plugins (repeatable)")
      ->type_name("DIR");

  RunCommand run_cmd;
  auto* run = app.add_subcommand("run", "Validate and run a scenario, writing results");
  run->add_option("file", run_cmd.file, "Scenario YAML")->required()->check(CLI::ExistingFile);
  run->add_option("-o,--out", run_cmd.out_dir, "Results directory (default ./results)")->type_name("DIR");
  run->add_option("--set", run_cmd.overrides, "Override a scenario value: key=value (repeatable)")
      ->type_name("KEY=VALUE");
  run->add_flag("--in-process", run_cmd.in_process,
                "Run plugin actions on threads of this process instead of one agent process per step "
                "(debugging: a crashing plugin then ends the run)");
  run->add_option("--junit", run_cmd.junit_file, "Also write JUnit XML: steps and expectations as test cases")
      ->type_name("FILE");
  run->add_option("--csv", run_cmd.csv_dir, "Also write CSV: figures.csv and <step>.samples.csv")
      ->type_name("DIR");
  run->add_flag("--intervals", run_cmd.intervals, "Print every interval sample as a line (iperf3-style)");
  run->footer(exit_code_help());

  AgentCommand agent_cmd;
  auto* agent = app.add_subcommand(
      "agent", "Serve the agent protocol on stdin/stdout (started by `sonda run`, or through ssh/exec)");
  agent->add_option("--plugin", agent_cmd.plugin_files, "Load this plugin file first (repeatable)")
      ->type_name("FILE");

  RunCommand validate_cmd;
  auto* validate = app.add_subcommand("validate", "Check a scenario against the plugins' schemas");
  validate->add_option("file", validate_cmd.file, "Scenario YAML")->required()->check(CLI::ExistingFile);
  validate->add_option("--set", validate_cmd.overrides, "Override a scenario value: key=value")
      ->type_name("KEY=VALUE");

  auto* plugins = app.add_subcommand("plugins", "List plugins found and files refused");
  std::string describe_name;
  bool markdown = false;
  auto* describe = plugins->add_subcommand("describe", "Actions and parameters of one plugin");
  describe->add_option("name", describe_name,
                       "Plugin name, or plugin.action for that action's parameter block only")
      ->required();
  describe->add_flag("--markdown", markdown, "Print the Markdown tables used in plugin READMEs");

  CompareCommand compare_cmd;
  auto* compare = app.add_subcommand(
      "compare", "Compare two runs' headline figures: Mann-Whitney U with repeat:, exit 7 on a regression");
  compare->add_option("base", compare_cmd.base, "Base run: run directory, results/<scenario>, or run.json")
      ->required();
  compare->add_option("new", compare_cmd.now, "New run, the same way")->required();
  auto* alpha = compare->add_option("--alpha", compare_cmd.alpha, "Significance level (default 0.05)");
  compare->add_option("--threshold", compare_cmd.threshold,
                      "Change that matters, e.g. 5% (default: the scenario's compare.threshold, else 5%)")
      ->type_name("PERCENT");
  compare->add_option("--figure-threshold", compare_cmd.thresholds,
                      "Per figure: STEP.PATH=PERCENT or PATH=PERCENT (repeatable)")
      ->type_name("FIGURE=PERCENT");
  compare->add_option("--json", compare_cmd.json_file, "Also write the comparison as JSON")->type_name("FILE");
  compare->add_option("--markdown", compare_cmd.markdown_file, "Also write it as Markdown (a PR comment)")
      ->type_name("FILE");

  ReportCommand report_cmd;
  auto* report = app.add_subcommand(
      "report", "Write one self-contained HTML page (charts, tables, figures) from a finished run");
  report->add_option("run", report_cmd.run,
                     "Run directory, its run.json, or results/<scenario>/latest (also a results dir with one scenario)")
      ->required()
      ->type_name("RUN_DIR");
  report->add_option("--base", report_cmd.base, "A second run: its series overlaid, its figures compared")
      ->type_name("RUN_DIR");
  report->add_option("-o,--out", report_cmd.out, "HTML file to write (default RUN_DIR/report.html)")
      ->type_name("FILE");
  report->footer("Charts are drawn by Chart.js from Debian's libjs-chart.js, inlined so the page opens offline\n"
                 "(SONDA_CHART_JS=FILE: use that copy instead). Exit code 2 when a run cannot be read.");

  // Options may also follow the subcommand ("sonda run x.yaml -v").
  for (auto* sub : {run, validate, plugins, describe, agent, compare, report}) {
    sub->fallthrough();
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitInvalidScenario;
  }
  init_logging(quiet ? -1 : (verbose > 0 ? 1 : 0));
  if (*agent) {
    agent_cmd.plugins = plugin_opts;

    return agent_command(agent_cmd);
  }
  run_cmd.plugins = plugin_opts;
  run_cmd.quiet = quiet;
  run_cmd.progress_terminal = isatty(STDOUT_FILENO) != 0;
  validate_cmd.plugins = plugin_opts;
  if (*run) {
    return run_command(run_cmd);
  }
  if (*validate) {
    return validate_command(validate_cmd);
  }
  if (*compare) {
    compare_cmd.alpha_given = alpha->count() > 0;
    return compare_command(compare_cmd);
  }
  if (*describe) {
    return describe_command(plugin_opts, describe_name, markdown);
  }
  if (*report) {
    report_cmd.plugins = plugin_opts;
    return report_command(report_cmd);
  }
  return plugins_command(plugin_opts);
}

}  // namespace sonda
