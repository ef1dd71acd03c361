// Foreground action steps: deadlines, repeats, addr_in_use explanations.
#include <spdlog/spdlog.h>

#include "runner.hpp"
#include "runner_internal.hpp"
#include "spread.hpp"

namespace sonda {

void Runner::run_foreground_step(const Step& step) {
  bool skip = false;
  StepResult base = begin_step(step, skip);
  if (skip) {
    return;
  }
  base.started_at = utc_iso_timestamp();
  const int64_t start_ns = monotonic_now_ns();
  writer_.event("step_start", {{"id", step.id}, {"plugin", step.plugin}, {"action", step.action},
                               {"params", step.params}, {"started_at", base.started_at}});
  spdlog::info("step {}: {}.{}{}", step.id, step.plugin, step.action,
               step.repeat > 1 ? " x" + std::to_string(step.repeat) : "");
  if (!resolve_step_params(step, base)) {
    base.duration_ns = monotonic_now_ns() - start_ns;
    finish_step(std::move(base));
    return;
  }
  if (step.repeat <= 1) {
    StepResult r = execute_action(step, base.params);
    r.started_at = base.started_at;
    finish_step(std::move(r));
    return;
  }
  // repeat: N runs, each kept; the step's record is the last run's plus the
  // spread of every numeric figure across the runs.
  std::vector<nlohmann::json> records;
  nlohmann::json runs = nlohmann::json::array();
  StepResult last;
  std::string first_failure;
  std::string worst = "ok";
  nlohmann::json samples = nlohmann::json::array();
  for (int i = 0; i < step.repeat && !interrupted_; ++i) {
    last = execute_action(step, base.params);
    nlohmann::json record = last.record.tree();  // parsed once per run: spread needs every figure
    writer_.event("repeat_run", {{"id", step.id}, {"run", i + 1}, {"of", step.repeat},
                                 {"status", last.status}, {"duration_ns", last.duration_ns},
                                 {"record", record}});
    if (last.status == "ok") {
      records.push_back(record);
    }
    runs.push_back({{"run", i + 1}, {"status", last.status}, {"reason", last.reason},
                    {"duration_ns", last.duration_ns}, {"record", std::move(record)}});
    if (last.status != "ok" && first_failure.empty()) {
      first_failure = "run " + std::to_string(i + 1) + "/" + std::to_string(step.repeat) + ": " + last.reason;
      worst = last.status;
    }
    for (auto s : last.samples) {
      if (s.is_object()) {
        s["run"] = i + 1;
      }
      samples.push_back(std::move(s));
    }
  }
  StepResult r = std::move(last);
  r.started_at = base.started_at;
  r.duration_ns = monotonic_now_ns() - start_ns;
  r.samples = std::move(samples);
  if (worst != "ok" && r.status == "ok") {
    r.status = worst;
    r.reason = first_failure;
  }
  r.record.edit()["repeat"] = {{"count", static_cast<int>(runs.size())},
                        {"ok", static_cast<int>(records.size())},
                        {"runs", std::move(runs)},
                        {"spread", numeric_spread(records)}};
  finish_step(std::move(r));
}

StepResult Runner::execute_action(const Step& step, const nlohmann::json& params) {
  StepResult r;
  {
    std::lock_guard lock(mu_);
    r = results_[step.id];
  }
  r.params = params;
  auto plugin = registry_.get(step.plugin);
  if (plugin == nullptr) {
    r.status = "failed";
    r.reason = "plugin '" + step.plugin + "' is not loaded";
    return r;
  }
  const int64_t start_ns = monotonic_now_ns();
  const int64_t deadline_ns = step.timeout_ns ? start_ns + *step.timeout_ns : 0;
  ActionTask task(plugin, step.action, params, deadline_ns, sample_forwarder(step.id));
  watch(&task, true);
  task.start();
  bool abandoned = false;
  while (!task.wait_done(monotonic_now_ns() + kPollSliceNs)) {
    const int64_t now = monotonic_now_ns();
    if (deadline_ns != 0 && now > deadline_ns + kDeadlineGraceNs) {
      abandoned = true;
      r.status = "timeout";
      r.reason = "timed out after " + seconds_text(*step.timeout_ns) + " (did not return within " +
                 seconds_text(kDeadlineGraceNs) + " of its deadline; abandoned)";
      task.request_stop();
      break;
    }
    if (interrupted_ && now > interrupted_at_ns_ + kInterruptGraceNs) {
      abandoned = true;
      r.status = "interrupted";
      r.reason = "interrupted; did not stop within " + seconds_text(kInterruptGraceNs) + " (abandoned)";
      break;
    }
  }
  watch(&task, false);
  const int64_t end_ns = monotonic_now_ns();
  r.duration_ns = end_ns - start_ns;
  ActionOutcome out = task.outcome();
  r.record = std::move(out.record);
  r.samples = std::move(out.samples);
  if (abandoned) {
    spdlog::warn("step {}: {}.{} abandoned; its thread is left running detached", step.id,
                 step.plugin, step.action);
    return r;
  }
  if (interrupted_) {
    r.status = "interrupted";
    r.reason = out.rc == 0 ? "interrupted (partial record kept)" : "interrupted: " + out.error;
  } else if (out.rc == 0) {
    r.status = "ok";
    r.reason.clear();
  } else if (deadline_ns != 0 && end_ns >= deadline_ns) {
    r.status = "timeout";
    r.reason = "timed out after " + seconds_text(*step.timeout_ns) + ": " + out.error;
  } else {
    r.status = "failed";
    r.reason = out.error;
    explain_addr_in_use(r);
  }
  return r;
}

void Runner::explain_addr_in_use(StepResult& result) {
  // Failed steps only, so parsing the record here is rare.
  const nlohmann::json rec = result.record.tree();
  if (!rec.contains("error") || !rec["error"].is_object() || rec["error"].value("kind", "") != "addr_in_use") {
    return;
  }
  auto find = [&](const char* key) -> nlohmann::json {
    if (rec.contains(key)) {
      return rec[key];
    }
    return rec["error"].contains(key) ? rec["error"][key] : nlohmann::json(nullptr);
  };
  const nlohmann::json port = find("port");
  const nlohmann::json protocol_json = find("protocol");
  const std::string protocol = protocol_json.is_string() ? protocol_json.get<std::string>() : "tcp";
  if (!port.is_number_integer()) {
    return;
  }
  auto scanner = registry_.get("proc_scanner");
  if (scanner == nullptr || scanner->find_action("owner") == nullptr) {
    return;
  }
  ActionOutcome owner = ActionTask::run_sync(scanner, "owner", {{"port", port}, {"protocol", protocol}},
                                             monotonic_now_ns() + 3'000'000'000, nullptr);
  const nlohmann::json owners = owner.record.tree().value("owners", nlohmann::json());
  if (owner.rc != 0 || !owners.is_array() || owners.empty()) {
    return;
  }
  const auto& first = owners[0];
  const std::string process = first.value("process", std::string("?"));
  const std::string pid = first.contains("pid") ? first["pid"].dump() : "?";
  result.reason = "port " + port.dump() + "/" + protocol + " is in use by " + process + " (pid " + pid + ")";
  result.record.edit()["port_owner"] = owners;
}

}  // namespace sonda
