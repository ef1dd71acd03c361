// The step-execution primitive (launch, await, settle) that every step kind
// uses, foreground action steps with their repeats, and addr_in_use
// explanations.
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
  StepStatus worst = StepStatus::kOk;
  nlohmann::json samples = nlohmann::json::array();
  for (int i = 0; i < step.repeat && !interrupted_; ++i) {
    last = execute_action(step, base.params);
    nlohmann::json record = last.record.tree();  // parsed once per run: spread needs every figure
    writer_.event("repeat_run", {{"id", step.id}, {"run", i + 1}, {"of", step.repeat},
                                 {"status", to_string(last.status)}, {"duration_ns", last.duration_ns},
                                 {"record", record}});
    if (last.status == StepStatus::kOk) {
      records.push_back(record);
    }
    runs.push_back({{"run", i + 1}, {"status", to_string(last.status)}, {"reason", last.reason},
                    {"duration_ns", last.duration_ns}, {"record", std::move(record)}});
    if (last.status != StepStatus::kOk && first_failure.empty()) {
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
  if (worst != StepStatus::kOk && r.status == StepStatus::kOk) {
    r.status = worst;
    r.reason = first_failure;
  }
  r.record.edit()["repeat"] = {{"count", static_cast<int>(runs.size())},
                        {"ok", static_cast<int>(records.size())},
                        {"runs", std::move(runs)},
                        {"spread", numeric_spread(records)}};
  finish_step(std::move(r));
}

std::unique_ptr<Runner::Launched> Runner::launch(const std::string& step_id, const char* output_suffix,
                                                 ActionRequest request, std::string& why, const std::string& host,
                                                 bool background) {
  request.output_path = run_dir_ + "/" + step_id + output_suffix + ".output";
  try {
    return std::make_unique<Launched>(*this, executor_.start(std::move(request), host), background);
  } catch (const std::exception& e) {
    why = host.empty() ? std::string("cannot start its agent: ") + e.what() : e.what();
    return nullptr;
  }
}

Runner::WaitEnd Runner::await(ActionRun& run, bool for_ready, int64_t limit_ns,
                              const std::function<bool()>& abort, bool interruptible) {
  for (;;) {
    const int64_t slice = monotonic_now_ns() + kPollSliceNs;
    const int64_t until = limit_ns != 0 ? std::min(limit_ns, slice) : slice;
    if (for_ready) {
      if (run.wait_ready(until)) {
        return WaitEnd::kReady;
      }
      if (run.wait_done(monotonic_now_ns())) {
        return WaitEnd::kReturned;
      }
    } else if (run.wait_done(until)) {
      return WaitEnd::kReturned;
    }
    const int64_t now = monotonic_now_ns();
    if (limit_ns != 0 && now >= limit_ns) {
      return WaitEnd::kLimit;
    }
    if (interruptible && interrupted_ && now > interrupted_at_ns_ + kInterruptGraceNs) {
      return WaitEnd::kInterrupted;
    }
    if (abort && abort()) {
      return WaitEnd::kAborted;
    }
  }
}

const char* Runner::gave_up_text() const {
  return executor_.isolation() == Isolation::kAgent ? "its agent was killed"
                                                     : "abandoned; its thread is left running";
}

void Runner::settle(StepResult& r, ActionRun& run, WaitEnd end, int64_t deadline_ns,
                    const std::string& timeout_text) {
  const bool returned = end == WaitEnd::kReturned || end == WaitEnd::kReady;
  if (!returned) {
    run.abandon();
  }
  ActionOutcome out = run.outcome();
  r.record = std::move(out.record);
  r.samples = std::move(out.samples);
  if (!out.crash.is_null()) {
    r.record.edit()["crash"] = out.crash;
  }
  if (end == WaitEnd::kLimit) {
    r.status = StepStatus::kTimeout;
    r.reason = timeout_text + " (did not return within " + seconds_text(kDeadlineGraceNs) +
               " of its deadline; " + gave_up_text() + ")";
  } else if (!returned) {
    r.status = StepStatus::kInterrupted;
    r.reason = "interrupted; did not stop within " + seconds_text(kInterruptGraceNs) + " (" + gave_up_text() + ")";
  } else if (interrupted_) {
    r.status = StepStatus::kInterrupted;
    r.reason = out.rc == 0 ? "interrupted (partial record kept)" : "interrupted: " + out.error;
  } else if (out.rc == 0 && !out.record_problem.empty()) {
    r.status = StepStatus::kFailed;
    r.reason = "plugin " + r.plugin + ": action " + r.action + " returned a record that is " + out.record_problem;
  } else if (out.rc == 0) {
    r.status = StepStatus::kOk;
    r.reason.clear();
  } else if (out.crash.is_null() && deadline_ns != 0 && monotonic_now_ns() >= deadline_ns) {
    r.status = StepStatus::kTimeout;
    r.reason = timeout_text + ": " + out.error;
  } else {
    r.status = StepStatus::kFailed;
    r.reason = out.error;
    if (out.crash.is_null()) {
      explain_addr_in_use(r);
    }
  }
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
    r.status = StepStatus::kFailed;
    r.reason = "plugin '" + step.plugin + "' is not loaded";
    return r;
  }
  const int64_t start_ns = monotonic_now_ns();
  const int64_t deadline_ns = step.timeout_ns ? start_ns + *step.timeout_ns : 0;
  std::string why;
  ActionRequest request{plugin, step.action, params, deadline_ns, sample_forwarder(step.id), "", {}, ""};
  if (step.repeat <= 1 && step.host.empty() && !run_dir_.empty()) {
    // A large record is written by the agent where it stays (results.hpp).
    request.record_path = run_dir_ + "/" + record_file_name(step.id);
  }
  auto run = launch(step.id, "", std::move(request), why, step.host);
  if (run == nullptr) {
    r.status = StepStatus::kFailed;
    r.reason = why;
    return r;
  }
  const WaitEnd end = await(**run, false, deadline_ns != 0 ? deadline_ns + kDeadlineGraceNs : 0);
  r.duration_ns = monotonic_now_ns() - start_ns;
  settle(r, **run, end, deadline_ns, step.timeout_ns ? "timed out after " + seconds_text(*step.timeout_ns) : "");
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
  auto scanner = registry_.with_capability(SONDA_CAP_PORT_OWNER);  // the loader checked its "owner"
  if (scanner == nullptr) {
    return;
  }
  const int64_t deadline_ns = monotonic_now_ns() + 3'000'000'000;
  std::string why;
  auto run = launch(result.id, ".owner",
                    {scanner, "owner", {{"port", port}, {"protocol", protocol}}, deadline_ns, {}, "", {}, ""}, why);
  if (run == nullptr || await(**run, false, deadline_ns + kDeadlineGraceNs) != WaitEnd::kReturned) {
    return;
  }
  const ActionOutcome owner = (*run)->outcome();
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
