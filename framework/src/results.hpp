// Result files of one run (schema: results/README.md, schema_version 2):
//   <out>/<scenario>/<UTC timestamp>/events.jsonl  streamed, flushed per line
//                                   /records/<step>.json  records of 1 MiB or more
//                                   /run.json      written at the end
//                                   /summary.txt   the human table
//   <out>/<scenario>/latest -> <UTC timestamp>
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "reporters.hpp"
#include "step_record.hpp"

namespace sonda {

/// Version of run.json / events.jsonl; bump on any incompatible change.
inline constexpr int kResultSchemaVersion = 2;

/// "20261125T140512Z" (directory names sort by time).
std::string utc_compact_timestamp();
/// "2026-11-25T14:05:12.123Z".
std::string utc_iso_timestamp();

/// How a step ended.
enum class StepStatus { kOk, kFailed, kTimeout, kInterrupted, kSkipped };
/// "ok", "failed", "timeout", "interrupted", "skipped" (the result files' words).
const char* to_string(StepStatus status);
/// failed or timeout: the run's exit code is 4.
inline bool is_failure(StepStatus s) { return s == StepStatus::kFailed || s == StepStatus::kTimeout; }

/// Everything recorded about one step. Filled by the runner; serialised
/// into run.json `steps[]` and the step_end event.
struct StepResult {
  std::string id;
  std::string kind = "action";  ///< action | spawn
  std::string plugin;
  std::string action;
  StepStatus status = StepStatus::kSkipped;
  std::string reason;
  std::string started_at;
  int64_t duration_ns = 0;
  nlohmann::json params = nlohmann::json::object();
  StepRecord record;
  nlohmann::json samples = nlohmann::json::array();
  /// Its plugin's headline figures with their values (figures.hpp); empty
  /// when the plugin declares none.
  nlohmann::json figures = nlohmann::json::array();

  /// The whole result as a tree (tests; parses a text record).
  nlohmann::json to_json() const;
  /// Writes what to_json().dump(indent) would, plus `extra` members, with
  /// the record spliced in as text rather than parsed and dumped. With a
  /// `record_file` (the record written apart, RunWriter::kRecordFileBytes),
  /// "record_file" and "record_bytes" stand where "record" would.
  void write_json(JsonOut& out, int indent, int level, std::vector<JsonMember> extra = {},
                  const std::string& record_file = {}) const;

 private:
  /// Every field but the record.
  nlohmann::json fields_json() const;
};

/// Where step `step_id`'s record goes when it is RunWriter::kRecordFileBytes
/// or more: "records/<id>.json" (the id made safe as one path component),
/// relative to the run directory.
std::string record_file_name(const std::string& step_id);

/// Writes a record's text and a newline to `path` (records/<step>.json of
/// a run directory, which it makes when missing): the agent for its step's
/// record, the runner for a record that reached it. Throws
/// std::runtime_error naming the path and strerror.
void write_record_text(const std::string& path, std::string_view text);

/// Puts back, as "record", the record of each step object in `steps` (a
/// run.json's "steps", or step_end events) that names a "record_file"
/// (RunWriter::kRecordFileBytes), read from that file under `run_dir`. A file
/// that is missing or not JSON becomes {"unreadable_record_file": why}, so
/// a reader still shows every other step. Each file is parsed once.
void load_record_files(nlohmann::json& steps, const std::string& run_dir);
/// The same for one step object.
void load_record_file(nlohmann::json& step, const std::string& run_dir);

/// Owns a run directory. event() is thread-safe and flushes each line, so
/// whatever was measured survives a crash or Ctrl-C.
class RunWriter final : public RunReporter {
 public:
  /// Creates <out_dir>/<scenario_name>/<timestamp>/ (a -N suffix if two runs
  /// start in the same second) and opens events.jsonl. Throws
  /// std::runtime_error naming the path and strerror.
  RunWriter(const std::string& out_dir, const std::string& scenario_name);
  ~RunWriter();
  RunWriter(const RunWriter&) = delete;
  RunWriter& operator=(const RunWriter&) = delete;

  /// A plugin's record text at least this large is written once, as the
  /// plugin wrote it, to records/<step id>.json in the run directory at the
  /// step's end; events.jsonl and run.json name that file ("record_file")
  /// instead of holding a copy each (two 8 MB copies of a scan were a third
  /// of its run). Readers: load_record_files().
  static constexpr size_t kRecordFileBytes = size_t{1} << 20;

  /// The run directory.
  const std::string& dir() const { return dir_; }
  // The events log (events.jsonl) is this directory's own reporter.
  /// Appends the run_start event (scenario, run_dir, schema, sonda, context).
  void run_start(const nlohmann::json& run) override;
  /// Appends {"event": type, "ts": ISO time, ...fields} and flushes.
  void event(const std::string& type, const nlohmann::json& fields) override;
  /// Appends the step_end event of `step` (its fields at the top level, as
  /// event() would) and flushes. The record goes in as it is.
  void step_end(const StepResult& step) override;
  /// Appends the run_end event (status, exit code, duration).
  void run_end(const nlohmann::json& run, const RunOutcome& outcome) override;
  /// Writes run.json (pretty) via a temporary file + rename: `run` with
  /// `steps` streamed in as its "steps" array (a "steps" member of `run` is
  /// ignored). Throws std::runtime_error naming the file and strerror.
  void write_run_json(const nlohmann::json& run, const std::vector<StepResult>& steps = {});
  /// Writes summary.txt.
  void write_summary(const std::string& text);
  /// Points <out>/<scenario>/latest at this run (atomic symlink swap).
  void update_latest();

 private:
  void write_file(const std::string& name, const std::function<void(JsonOut&)>& body);
  /// records/<id>.json for a large text record (written at its first call,
  /// under mu_); "" for a record that stays inline.
  std::string record_file(const StepResult& step);
  std::map<std::string, std::string> record_files_;  ///< step id -> file, relative to dir_
  std::string scenario_dir_;
  std::string dir_;
  std::mutex mu_;
  FILE* events_ = nullptr;
};

}  // namespace sonda
