#include "results.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace fs = std::filesystem;

namespace sonda {

const char* to_string(StepStatus status) {
  switch (status) {
    case StepStatus::kOk: return "ok";
    case StepStatus::kFailed: return "failed";
    case StepStatus::kTimeout: return "timeout";
    case StepStatus::kInterrupted: return "interrupted";
    case StepStatus::kSkipped: return "skipped";
  }
  return "unknown";
}


namespace {

std::tm utc_now(long& millis) {
  const auto now = std::chrono::system_clock::now();
  const auto since = now.time_since_epoch();
  millis = static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(since).count() % 1000);
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return tm;
}

std::string format_tm(const char* fmt, const std::tm& tm) {
  char buf[64];
  const size_t n = std::strftime(buf, sizeof buf, fmt, &tm);
  return std::string(buf, n);
}

/// Scenario names become one directory level: no slashes, no dot-dot.
std::string safe_dir_name(const std::string& name) {
  std::string out;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    out += ok ? c : '_';
  }
  if (out.empty() || out == "." || out == "..") {
    out = "scenario";
  }
  return out;
}

}  // namespace

std::string utc_compact_timestamp() {
  long ms = 0;
  return format_tm("%Y%m%dT%H%M%SZ", utc_now(ms));
}

std::string utc_iso_timestamp() {
  long ms = 0;
  const std::tm tm = utc_now(ms);
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%03ldZ", ms);
  return format_tm("%Y-%m-%dT%H:%M:%S", tm) + frac;
}

nlohmann::json StepResult::fields_json() const {
  nlohmann::json j = nlohmann::json::object();
  j["id"] = id;
  j["kind"] = kind;
  j["plugin"] = plugin;
  j["action"] = action;
  j["status"] = to_string(status);
  j["reason"] = reason;
  j["started_at"] = started_at.empty() ? nlohmann::json(nullptr) : nlohmann::json(started_at);
  j["duration_ns"] = duration_ns;
  j["params"] = params;
  j["samples"] = samples;
  if (!figures.empty()) {
    j["figures"] = figures;
  }
  return j;
}

nlohmann::json StepResult::to_json() const {
  nlohmann::json j = fields_json();
  j["record"] = record.tree();
  return j;
}

void StepResult::write_json(JsonOut& out, int indent, int level, std::vector<JsonMember> extra,
                            const std::string& record_file) const {
  nlohmann::json fields = fields_json();
  if (!record_file.empty()) {
    fields["record_file"] = record_file;
    fields["record_bytes"] = record.text().size();
  }
  std::vector<JsonMember> members = members_of(fields);
  if (record_file.empty()) {
    members.emplace_back("record", [this](JsonOut& o, int ind, int lvl) { record.write_json(o, ind, lvl); });
  }
  for (auto& m : extra) {
    members.push_back(std::move(m));
  }
  write_object(out, std::move(members), indent, level);
}

void load_record_file(nlohmann::json& step, const std::string& run_dir) {
  if (!step.is_object()) {
    return;
  }
  const auto file = step.find("record_file");
  if (file == step.end() || !file->is_string() || step.contains("record")) {
    return;
  }
  const std::string name = file->get<std::string>();
  // Only a file inside the run directory's records/ (a run.json is input).
  if (name.rfind("records/", 0) != 0 || name.find("..") != std::string::npos) {
    step["record"] = {{"unreadable_record_file", name + ": not under records/"}};
    return;
  }
  const std::string path = run_dir + "/" + name;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    step["record"] = {{"unreadable_record_file", path + ": " + std::strerror(errno)}};
    return;
  }
  // Read whole, then parsed: nlohmann's stream adapter is several times slower.
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  nlohmann::json record = nlohmann::json::parse(text, nullptr, false);
  if (record.is_discarded()) {
    step["record"] = {{"unreadable_record_file", path + ": not JSON"}};
    return;
  }
  step["record"] = std::move(record);
}

void load_record_files(nlohmann::json& steps, const std::string& run_dir) {
  if (!steps.is_array()) {
    return;
  }
  for (nlohmann::json& step : steps) {
    load_record_file(step, run_dir);
  }
}

RunWriter::RunWriter(const std::string& out_dir, const std::string& scenario_name) {
  scenario_dir_ = (fs::path(out_dir) / safe_dir_name(scenario_name)).string();
  std::error_code ec;
  fs::create_directories(scenario_dir_, ec);
  if (ec) {
    throw std::runtime_error("cannot create result directory " + scenario_dir_ + ": " + ec.message());
  }
  const std::string stamp = utc_compact_timestamp();
  for (int attempt = 0;; ++attempt) {
    const std::string candidate =
        (fs::path(scenario_dir_) / (attempt == 0 ? stamp : stamp + "-" + std::to_string(attempt))).string();
    if (::mkdir(candidate.c_str(), 0755) == 0) {
      dir_ = candidate;
      break;
    }
    if (errno != EEXIST || attempt > 100) {
      throw std::runtime_error("mkdir(" + candidate + "): " + std::strerror(errno));
    }
  }
  const std::string events_path = dir_ + "/events.jsonl";
  events_ = std::fopen(events_path.c_str(), "we");
  if (events_ == nullptr) {
    throw std::runtime_error("fopen(" + events_path + "): " + std::strerror(errno));
  }
}

RunWriter::~RunWriter() {
  if (events_ != nullptr) {
    std::fclose(events_);
  }
}

void RunWriter::run_start(const nlohmann::json& run) {
  event("run_start", {{"scenario", run["scenario"].value("name", std::string())},
                      {"run_dir", dir_},
                      {"schema_version", run.value("schema_version", 0)},
                      {"sonda", run.value("sonda", nlohmann::json())},
                      {"context", run.value("context", nlohmann::json())}});
}

void RunWriter::run_end(const nlohmann::json& run, const RunOutcome& /*outcome*/) {
  event("run_end", {{"status", run.value("status", std::string())},
                    {"exit_code", run.value("exit_code", 0)},
                    {"duration_ns", run.value("duration_ns", int64_t{0})}});
}

void RunWriter::event(const std::string& type, const nlohmann::json& fields) {
  nlohmann::json line = {{"event", type}, {"ts", utc_iso_timestamp()}};
  for (const auto& [k, v] : fields.items()) {
    line[k] = v;
  }
  const std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::lock_guard lock(mu_);
  std::fwrite(text.data(), 1, text.size(), events_);
  std::fflush(events_);
}

void write_record_text(const std::string& path, std::string_view text) {
  const std::string dir = path.substr(0, path.rfind('/'));
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    throw std::runtime_error("mkdir(" + dir + "): " + std::strerror(errno));
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    throw std::runtime_error("open(" + path + "): " + std::strerror(errno));
  }
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      const int saved = n < 0 ? errno : EIO;
      ::close(fd);
      throw std::runtime_error("write(" + path + "): " + std::strerror(saved));
    }
    text.remove_prefix(static_cast<size_t>(n));
  }
  if (::write(fd, "\n", 1) != 1 || ::close(fd) != 0) {
    throw std::runtime_error("write(" + path + "): " + std::strerror(errno));
  }
}

std::string record_file_name(const std::string& step_id) {
  return "records/" + safe_dir_name(step_id) + ".json";
}

std::string RunWriter::record_file(const StepResult& step) {
  if (const auto it = record_files_.find(step.id); it != record_files_.end()) {
    return it->second;
  }
  if (!step.record.is_text() || step.record.text().size() < kRecordFileBytes) {
    return {};
  }
  // Its agent wrote it already, where this run directory said; otherwise it
  // is written here, before the event that names it, so a reader of
  // events.jsonl never finds a record_file that is not whole.
  const std::string name = record_file_name(step.id);
  if (step.record.file() != dir_ + "/" + name) {
    write_record_text(dir_ + "/" + name, step.record.text());
  }
  record_files_[step.id] = name;
  return name;
}

void RunWriter::step_end(const StepResult& step) {
  const nlohmann::json event = "step_end";
  const nlohmann::json ts = utc_iso_timestamp();
  std::lock_guard lock(mu_);
  const std::string file = record_file(step);
  JsonOut out(events_);
  step.write_json(out, -1, 0, members_of(nlohmann::json{{"event", event}, {"ts", ts}}), file);
  out.write("\n");
  std::fflush(events_);
}

void RunWriter::write_file(const std::string& name, const std::function<void(JsonOut&)>& body) {
  const std::string path = dir_ + "/" + name;
  const std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "we");
  if (f == nullptr) {
    throw std::runtime_error("fopen(" + tmp + "): " + std::strerror(errno));
  }
  JsonOut out(f);
  body(out);
  const bool written = out.ok() && std::fflush(f) == 0;
  const int saved_errno = errno;
  if (std::fclose(f) != 0 || !written) {
    throw std::runtime_error("write " + tmp + ": " + std::strerror(written ? errno : saved_errno));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    throw std::runtime_error("rename(" + tmp + ", " + path + "): " + std::strerror(errno));
  }
}

void RunWriter::write_run_json(const nlohmann::json& run, const std::vector<StepResult>& steps) {
  write_file("run.json", [&](JsonOut& out) {
    std::vector<JsonMember> members;
    for (auto& m : members_of(run)) {
      if (m.first != "steps") {
        members.push_back(std::move(m));
      }
    }
    members.emplace_back("steps", [&](JsonOut& o, int indent, int level) {
      std::vector<JsonMemberWriter> elements;
      elements.reserve(steps.size());
      std::lock_guard lock(mu_);  // record_files_
      for (const StepResult& step : steps) {
        // A step that never went through step_end (an interrupted run) gets
        // its file here.
        std::string file = record_file(step);
        elements.emplace_back([&step, file = std::move(file)](JsonOut& e, int ind, int lvl) {
          step.write_json(e, ind, lvl, {}, file);
        });
      }
      write_array(o, elements, indent, level);
    });
    write_object(out, std::move(members), 2, 0);
    out.write("\n");
  });
}

void RunWriter::write_summary(const std::string& text) {
  write_file("summary.txt", [&](JsonOut& out) { out.write(text); });
}

void RunWriter::update_latest() {
  const std::string link = scenario_dir_ + "/latest";
  const std::string tmp = link + ".tmp" + std::to_string(getpid());
  ::unlink(tmp.c_str());
  if (::symlink(fs::path(dir_).filename().c_str(), tmp.c_str()) != 0 ||
      std::rename(tmp.c_str(), link.c_str()) != 0) {
    throw std::runtime_error("symlink " + link + ": " + std::strerror(errno));
  }
}

}  // namespace sonda
