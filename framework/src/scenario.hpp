// The validated, immutable scenario the runner trusts (STYLE 5: validate,
// then trust). Produced by load_scenario(); every error found on the way is
// collected and thrown at once as ScenarioError.
#pragma once

#include <sonda/abi.h>

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sonda {

/// Where something was written: 1-based line and column.
struct SourceMark {
  std::string file;
  int line = 0;
  int column = 0;
  /// "file:line:col"
  std::string str() const;
};

/// One problem in a scenario, e.g. `s.yaml:12:5: unknown parameter 'prot'
/// for tcp_transport.rr; did you mean 'proto'?`
struct Diagnostic {
  SourceMark mark;
  std::string message;
  std::string str() const { return mark.str() + ": " + message; }
};

/// All the problems found in a scenario. what() is every str() joined by
/// newlines.
class ScenarioError : public std::runtime_error {
 public:
  explicit ScenarioError(std::vector<Diagnostic> diags);
  const std::vector<Diagnostic>& diagnostics() const { return diags_; }

 private:
  std::vector<Diagnostic> diags_;
};

/// What validation needs to know about plugins. The plugin registry
/// implements it; tests can fake it.
class SchemaSource {
 public:
  virtual ~SchemaSource() = default;
  virtual std::vector<std::string> plugin_names() const = 0;
  /// nullptr when no plugin has that name.
  virtual const sonda_plugin* find_plugin(std::string_view name) const = 0;
};

/// An external program to start as the system under test.
struct SpawnSpec {
  std::vector<std::string> argv;
  std::map<std::string, std::string> env;  // added to the runner's environment
  std::string cwd;                         // empty: the runner's cwd
  /// Ready when the process (or a child) listens on this port.
  std::optional<uint16_t> ready_tcp_port;
  std::optional<uint16_t> ready_udp_port;
  int64_t ready_timeout_ns = 10'000'000'000;
  int64_t stop_grace_ns = 2'000'000'000;  // SIGTERM, then SIGKILL after this
};

/// The record `${hosts.NAME...}` references read (each host's addresses,
/// `local` included); a reserved step id, like "env".
inline constexpr const char* kHostsRecord = "hosts";

/// A place steps can run other than here: a command that starts `sonda
/// agent` there and carries its stdio (`ip netns exec NS`, `ssh HOST`,
/// `docker exec -i C`, `kubectl exec -i POD --`).
struct Host {
  std::string name;
  SourceMark mark;
  /// The command prefix; the agent command (`sonda` path, "agent") follows.
  std::vector<std::string> via;
  /// The sonda executable there; empty: this runner's own path (right for
  /// netns and for hosts with the same layout).
  std::string sonda;
  /// `container: NAME`: a local Docker container whose network namespace
  /// the agent (this runner's sonda) enters with nsenter; `via` is then
  /// resolved at preflight from the container's pid.
  std::string container;
};

/// One step: a plugin action or a spawned program.
struct Step {
  enum class Kind { kAction, kSpawn };
  Kind kind = Kind::kAction;
  std::string id;
  SourceMark mark;
  std::string plugin;  // kAction
  std::string action;  // kAction
  /// Normalised parameters (see abi.h for the encoding of each type), every
  /// declared parameter with a default filled in. Parameters whose text
  /// contains `${...}` references are left as their raw string here and
  /// listed in `deferred`; resolve_params() finishes them at run time.
  nlohmann::json params = nlohmann::json::object();
  std::vector<std::string> deferred;
  std::optional<int64_t> timeout_ns;
  /// `on:` the host it runs on (a key of Scenario::hosts); empty: here.
  std::string host;
  /// Lives until its group (or the scenario) ends, then is stopped.
  /// Always true for spawn steps and for actions flagged BACKGROUND.
  bool background = false;
  int repeat = 1;
  SpawnSpec spawn;  // kSpawn
};

struct Group;

/// A step or a nested group.
struct Node {
  Step step;
  std::shared_ptr<const Group> group;  // non-null: this node is a group
  bool is_group() const { return group != nullptr; }
};

struct Group {
  bool parallel = false;
  std::string id;  // optional
  SourceMark mark;
  std::vector<Node> nodes;
};

/// A threshold on a recorded figure, e.g. `load.latency.p99_ns < 2ms`.
struct Expectation {
  std::string text;
  SourceMark mark;
  std::shared_ptr<const void> compiled;  // parsed form, private to scenario code
};

struct ExpectationOutcome {
  bool passed = false;
  nlohmann::json measured;  // the left-hand value(s) as found
  std::string message;      // e.g. "load.latency.p99_ns = 1834211 < 2000000" or why not evaluable
};

struct Scenario {
  std::string name;
  std::string description;
  std::string file;
  bool stop_on_failure = false;
  std::vector<std::string> plugin_paths;  // explicit `plugins:` entries, resolved
  std::map<std::string, Host> hosts;       // `hosts:` by name
  Group root;                              // sequence of the top-level steps
  std::vector<Expectation> expectations;
  /// `report:` entries: comparison tables built after the run (see
  /// report.hpp), already checked by parse_report_spec().
  std::vector<nlohmann::json> reports;
  nlohmann::json as_run;                   // the document after --set, as JSON
};

/// A scenario file read and parsed once, `--set` overrides applied. What the
/// host must load before validating it comes from here (the explicit
/// `plugins:` files, the plugins its steps use, the capabilities it needs),
/// then load_scenario() validates the same document. Cheap to copy.
class ScenarioSource {
 public:
  /// Reads and parses `file`. Throws ScenarioError when it cannot be read
  /// or is not YAML (bad UTF-8, a syntax error, a second document).
  static ScenarioSource read(const std::string& file, const std::vector<std::string>& overrides);
  /// The same from text in memory; `file` names it in marks and anchors
  /// relative `plugins:` paths.
  static ScenarioSource from_text(const std::string& text, const std::string& file,
                                  const std::vector<std::string>& overrides);

  const std::string& file() const;
  /// The explicit `plugins:` entries, resolved relative to the file; what is
  /// malformed is left out (validation reports it).
  std::vector<std::string> plugin_paths() const;
  /// The plugin of every `use: plugin.action` among the steps, as run
  /// (after --set).
  std::set<std::string> needed_plugins() const;
  /// Capabilities the run needs beyond those plugins: SONDA_CAP_PORT_OWNER
  /// when a `spawn:` step waits for a port (`ready:`).
  uint64_t needed_capabilities() const;

  struct Doc;  // the parsed tree and the problems found reading it

 private:
  friend Scenario load_scenario(const ScenarioSource& source, const SchemaSource& schemas);
  std::shared_ptr<const Doc> doc_;
};

/// Validates a scenario read by ScenarioSource. Throws ScenarioError
/// listing every problem (the --set ones included).
Scenario load_scenario(const ScenarioSource& source, const SchemaSource& schemas);

/// Parses and validates `file`. `overrides` are `--set key=value` pairs:
/// dotted paths into the document ("defaults.duration=1s",
/// "steps.load.with.payload=128B" addressing a step by id). Throws
/// ScenarioError listing every problem.
Scenario load_scenario(const std::string& file, const std::vector<std::string>& overrides,
                       const SchemaSource& schemas);

/// Finishes a step's deferred parameters: substitutes `${step.path}` from
/// `records` ({step_id: record}) and normalises them against the schema.
/// Throws std::runtime_error naming the step and parameter.
nlohmann::json resolve_params(const Step& step, const nlohmann::json& records,
                              const SchemaSource& schemas);

/// Like load_scenario() but from text already in memory; `file` names it in
/// marks and anchors relative `plugins:` paths. (Tests, fuzzing, stdin.)
Scenario load_scenario_text(const std::string& text, const std::string& file,
                            const std::vector<std::string>& overrides,
                            const SchemaSource& schemas);

/// A spawn step's command, environment and cwd with `${...}` references
/// substituted from `records` (numbers become their decimal text). Throws
/// std::runtime_error naming the step.
SpawnSpec resolve_spawn(const Step& step, const nlohmann::json& records);

/// Evaluates an expectation against {step_id: record}.
ExpectationOutcome evaluate(const Expectation& e, const nlohmann::json& records);

}  // namespace sonda
