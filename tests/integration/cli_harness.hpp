// Running the real `sonda` binary from tests: a child process with its
// output captured, a scratch directory removed afterwards, result readers.
#pragma once

#include <sys/types.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace sonda::testing {

/// A fresh directory under /tmp, removed (recursively) on destruction.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }
  /// Writes `text` to path()/name and returns the full path.
  std::string write(const std::string& name, const std::string& text) const;

 private:
  std::string path_;
};

struct SondaResult {
  int exit_code = -1;
  std::string out;  ///< stdout
  std::string err;  ///< stderr
};

/// A running sonda child (for signal tests); stdout/stderr go to files.
struct SondaChild {
  pid_t pid = -1;
  std::string out_path;
  std::string err_path;
};

/// Runs SONDA_BINARY with `args`, `env` added, and SONDA_PLUGIN_PATH set to
/// the test plugin dir unless `env` sets it. Kills it after `timeout_s`.
SondaResult run_sonda(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {},
                      int timeout_s = 60);
/// Starts sonda without waiting (same environment rules as run_sonda).
SondaChild start_sonda(const std::vector<std::string>& args, const std::string& scratch,
                       const std::map<std::string, std::string>& env = {});
/// Waits for the child; the exit code (128+N when killed by signal N).
int wait_sonda(const SondaChild& child);

/// Reads a file completely ("" when missing).
std::string read_text(const std::string& path);
/// `<out>/<scenario>/latest/run.json`, parsed; a step's "record_file" (a
/// record of 1 MiB or more) is read back into its "record" unless `raw`.
nlohmann::json latest_run(const std::string& out_dir, const std::string& scenario, bool raw = false);
/// Every line of `<out>/<scenario>/latest/events.jsonl`, parsed, record
/// files read back likewise unless `raw`.
std::vector<nlohmann::json> latest_events(const std::string& out_dir, const std::string& scenario,
                                          bool raw = false);
/// True when some run directory under `scenario_dir` has an events.jsonl line
/// containing both fragments (the run is still going: no `latest` yet).
bool any_event_line(const std::string& scenario_dir, const std::string& a, const std::string& b);
/// The step named `id` in run.json, or null.
nlohmann::json step_of(const nlohmann::json& run, const std::string& id);
/// True while a process with this pid exists (not a zombie of ours).
bool process_alive(pid_t pid);

}  // namespace sonda::testing
