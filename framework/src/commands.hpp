// The sonda subcommands, each returning the process exit code (see
// ExitCode in runner.hpp). cli.cpp parses the command line into these.
#pragma once

#include <string>
#include <vector>

namespace sonda {

/// Options shared by every subcommand that loads plugins.
struct PluginOptions {
  std::vector<std::string> plugin_dirs;  ///< --plugin-path, searched after SONDA_PLUGIN_PATH
};

struct RunCommand {
  std::string file;
  std::string out_dir = "results";
  std::vector<std::string> overrides;  ///< --set key=value
  PluginOptions plugins;
  bool in_process = false;  ///< --in-process: run plugin actions on threads of sonda itself
  std::string junit_file;   ///< --junit FILE
  std::string csv_dir;      ///< --csv DIR
  bool intervals = false;   ///< --intervals: every sample as a line
  bool quiet = false;       ///< -q: no progress lines
  bool progress_terminal = false;  ///< stdout is a terminal: one updating line
};

class Registry;

/// `sonda agent`: serves the agent protocol on stdin/stdout.
struct AgentCommand {
  std::vector<std::string> plugin_files;  ///< --plugin: load these first (the runner names one)
  PluginOptions plugins;
  /// A forked agent: the runner's registry, in the copy of its memory the
  /// fork made. Its plugins are already loaded in this image, checked and
  /// described, so a run of one of them (same name and file) uses it as it
  /// is instead of loading and checking the file again. Null for `sonda agent`.
  const Registry* inherited = nullptr;
};

/// `sonda compare BASE NEW`.
struct CompareCommand {
  std::string base;
  std::string now;
  double alpha = 0.05;
  std::string threshold;                ///< "5%"; empty: the scenario's or 5 %
  std::vector<std::string> thresholds;  ///< STEP.PATH=10% or PATH=10%
  std::string json_file;
  std::string markdown_file;
  bool alpha_given = false;
};

/// `sonda compare`: prints the table; exit 7 on a regression.
int compare_command(const CompareCommand& cmd);

/// `sonda run`: validate, run, write results, print the summary.
int run_command(const RunCommand& cmd);
/// `sonda agent`: never returns normally (exits the process when its input ends).
int agent_command(const AgentCommand& cmd);
/// `sonda validate`: only the checks; prints every problem at once.
int validate_command(const RunCommand& cmd);
/// `sonda plugins`: what was found and what was refused.
int plugins_command(const PluginOptions& opts);
/// `sonda plugins describe NAME`.
int describe_command(const PluginOptions& opts, const std::string& name, bool markdown);

/// The text for `sonda --help`'s footer: exit codes and environment.
std::string exit_code_help();

/// `sonda report`: one self-contained HTML page from a run directory.
struct ReportCommand {
  std::string run;   ///< run directory, its run.json/events.jsonl, or results/<scenario>/latest
  std::string base;  ///< --base: a run to overlay and compare with ("" = none)
  std::string out;   ///< -o: the HTML file ("" = <run dir>/report.html)
  PluginOptions plugins;  ///< where to find the plugins that declare headline figures
};

/// Writes the report and prints its path; 2 when a run cannot be read, Chart.js
/// (Debian's libjs-chart.js) is missing or the file cannot be written.
int report_command(const ReportCommand& cmd);

}  // namespace sonda
