#include "runner.hpp"
#include "run_context.hpp"

#include "report.hpp"

#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <thread>

#include "figures.hpp"
#include "record_readers.hpp"
#include "runner_internal.hpp"

namespace sonda {

std::string seconds_text(int64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%gs", static_cast<double>(ns) / 1e9);
  return buf;
}

namespace {

/// Every step id in scenario order (depth first), so steps never reached
/// still appear in the results as skipped.
void collect_steps(const Group& group, std::vector<const Step*>& out) {
  for (const Node& node : group.nodes) {
    if (node.is_group()) {
      collect_steps(*node.group, out);
    } else {
      out.push_back(&node.step);
    }
  }
}


}  // namespace

size_t planned_local_runs(const Group& group) {
  size_t n = 0;
  for (const auto& node : group.nodes) {
    if (node.is_group()) {
      n += planned_local_runs(*node.group);
    } else if (node.step.kind == Step::Kind::kAction && node.step.host.empty()) {
      n += static_cast<size_t>(std::max(node.step.repeat, 1));
    }
  }
  return n;
}

Runner::Runner(const Scenario& scenario, const Registry& registry, RunReporter& report, std::string run_dir,
               Isolation isolation)
    : scenario_(scenario),
      registry_(registry),
      writer_(report),
      run_dir_(std::move(run_dir)),
      executor_(isolation, planned_local_runs(scenario.root)) {
  sample_gate_->writer = &writer_;
  // `report:` entries were checked at validation; parsed here once, for the
  // record parts they read and for the reports built at the end.
  for (const nlohmann::json& doc : scenario_.reports) {
    ReportSpec spec;
    parse_report_spec(doc, spec);
    report_specs_.push_back(std::move(spec));
  }
  try {
    read_parts_ = read_record_parts(scenario_, report_specs_);
  } catch (const std::exception& e) {
    spdlog::debug("keeping every step record parsed: {}", e.what());
  }
}

Runner::~Runner() {
  std::lock_guard lock(sample_gate_->mu);
  sample_gate_->writer = nullptr;
}

std::function<void(const nlohmann::json&)> Runner::sample_forwarder(const std::string& step_id) {
  return [gate = sample_gate_, step_id](const nlohmann::json& sample) {
    std::lock_guard lock(gate->mu);
    if (gate->writer != nullptr) {
      gate->writer->event("sample", {{"id", step_id}, {"sample", sample}});
    }
  };
}

void Runner::interrupt() {
  if (!interrupted_.exchange(true)) {
    interrupted_at_ns_ = monotonic_now_ns();
  }
  std::lock_guard lock(mu_);
  // Foreground steps only: servers keep serving while their clients wrap
  // up (a client whose server vanished first would lose its partial
  // figures to a broken pipe); they are stopped as their groups unwind.
  for (const auto& [run, background] : running_) {
    if (!background) {
      run->request_stop();
    }
  }
}

void Runner::watch(ActionRun* run, bool on, bool background) {
  std::lock_guard lock(mu_);
  if (on) {
    running_[run] = background;
    if (interrupted_ && !background) {
      run->request_stop();
    }
  } else {
    running_.erase(run);
  }
}

int64_t Runner::stop_grace_ns(int64_t wanted_ns) const {
  return interrupted_ ? std::min<int64_t>(wanted_ns, kInterruptGraceNs / 2) : wanted_ns;
}

void Runner::publish_record(const std::string& id, const nlohmann::json& record) {
  std::lock_guard lock(mu_);
  records_[id] = record;
}

void Runner::publish_record(const std::string& id, const StepRecord& record) {
  const auto parts = read_parts_ ? read_parts_->find(id) : std::map<std::string, RecordFilter>::const_iterator();
  if (read_parts_ && parts == read_parts_->end()) {
    // Nobody reads it, but a ready object published earlier must not
    // outlive the step as its record.
    std::lock_guard lock(mu_);
    records_.erase(id);
    return;
  }
  // Outside the lock: a big parse. A 19 000-socket record read at one
  // figure costs a pass over the text, not a tree of it.
  nlohmann::json tree = read_parts_ ? record.tree(parts->second) : record.tree();
  std::lock_guard lock(mu_);
  records_[id] = std::move(tree);
}

RunOutcome Runner::run(const nlohmann::json& local_interfaces) {
  std::vector<const Step*> steps;
  collect_steps(scenario_.root, steps);
  for (const Step* s : steps) {
    StepResult r;
    r.id = s->id;
    r.kind = s->kind == Step::Kind::kSpawn ? "spawn" : "action";
    r.plugin = s->plugin;
    r.action = s->action;
    r.params = s->params;
    r.reason = "not reached";
    results_[s->id] = r;
  }
  RunOutcome outcome;
  if (!scenario_.hosts.empty()) {
    // Preflight: every host answers before anything runs, or nothing runs.
    try {
      outcome.hosts = executor_.connect_hosts(scenario_.hosts, run_dir_, monotonic_now_ns() + kHostTimeoutNs);
      for (const auto& [name, h] : outcome.hosts.items()) {
        writer_.event("host", {{"host", name}, {"agent", h["agent"]}, {"clock", h["clock"]}});
        spdlog::info("host {}: sonda {} (pid {}), clock offset {} ± {} ns", name, h["agent"].value("sonda", "?"),
                     h["agent"].value("pid", 0), h["clock"].value("offset_ns", int64_t{0}),
                     h["clock"].value("uncertainty_ns", int64_t{0}));
      }
    } catch (const std::exception& e) {
      spdlog::error("{}", e.what());
      outcome.host_error = e.what();
      executor_.drain(monotonic_now_ns() + kInterruptGraceNs);
      for (const Step* s : steps) {
        StepResult& r = results_[s->id];
        r.reason = "not run: " + outcome.host_error;
        outcome.steps.push_back(std::move(r));
      }
      outcome.status = "host_unreachable";
      outcome.exit_code = kExitHostUnreachable;
      return outcome;
    }
  }
  {
    // `${hosts.NAME.ipv4}` and the like: each host's addresses, as its
    // preflight context read them; `local` is this runner's.
    nlohmann::json host_refs = {
        {"local", host_reference_record(local_interfaces.is_array() ? local_interfaces : collect_interfaces())}};
    for (const auto& [name, h] : outcome.hosts.items()) {
      host_refs[name] = host_reference_record(h["context"].value("interfaces", nlohmann::json::array()));
    }
    publish_record(kHostsRecord, host_refs);
  }
  try {
    run_group(scenario_.root);
  } catch (...) {
    // run_group stops its own backgrounds while unwinding; make sure no
    // child survives whatever went wrong, then report it.
    SpawnedProcess::kill_all_now();
    executor_.drain(monotonic_now_ns());
    throw;
  }
  // Steps end without waiting for their agents to exit; the run does.
  executor_.drain(monotonic_now_ns() + kInterruptGraceNs);

  bool step_failed = false;
  for (const Step* s : steps) {
    StepResult& r = results_[s->id];
    if (interrupted_ && r.status == StepStatus::kSkipped) {
      r.reason = "run interrupted before this step";
    }
    step_failed = step_failed || is_failure(r.status);
    outcome.steps.push_back(std::move(r));  // results_ is not read after this
  }
  // Every step has ended: the records are final and read below only.
  nlohmann::json records;
  {
    std::lock_guard lock(mu_);
    records = std::move(records_);
  }
  bool expectations_failed = false;
  if (!interrupted_) {
    for (const Expectation& e : scenario_.expectations) {
      ExpectationOutcome eo = evaluate(e, records);
      nlohmann::json j = {{"text", e.text}, {"passed", eo.passed}, {"measured", eo.measured},
                          {"message", eo.message}};
      writer_.event("expectation", j);
      (eo.passed ? spdlog::info("expect {}: pass ({})", e.text, eo.message)
                 : spdlog::warn("expect {}: FAIL ({})", e.text, eo.message));
      expectations_failed = expectations_failed || !eo.passed;
      outcome.expectations.push_back(std::move(j));
    }
  }
  {
    // Reports are built even after failures or Ctrl-C, from the steps that
    // succeeded only: a failed step's zeros are not figures, they show n/a.
    for (const StepResult& r : outcome.steps) {
      if (r.status != StepStatus::kOk) {
        records.erase(r.id);
      }
    }
    for (const ReportSpec& spec : report_specs_) {
      nlohmann::json built = build_report(spec, records);
      writer_.event("report", built);
      outcome.reports.push_back(std::move(built));
    }
  }
  if (interrupted_) {
    outcome.status = "interrupted";
    outcome.exit_code = kExitInterrupted;
  } else if (step_failed) {
    outcome.status = "failed";
    outcome.exit_code = kExitStepFailed;
  } else if (expectations_failed) {
    outcome.status = "expectations_failed";
    outcome.exit_code = kExitExpectationsFailed;
  } else {
    outcome.status = "ok";
    outcome.exit_code = kExitOk;
  }
  return outcome;
}

void Runner::run_group(const Group& group) {
  BackgroundList backgrounds;
  try {
    if (!group.parallel) {
      for (const Node& node : group.nodes) {
        run_node(node, backgrounds);
      }
    } else {
      // Servers first, from this thread (spawned children die with the
      // thread that forked them via PDEATHSIG, so not from a short-lived
      // one), then everything else at once.
      for (const Node& node : group.nodes) {
        if (!node.is_group() && node.step.background) {
          run_node(node, backgrounds);
        }
      }
      std::vector<std::thread> threads;
      std::mutex error_mu;
      std::exception_ptr error;
      for (const Node& node : group.nodes) {
        if (!node.is_group() && node.step.background) {
          continue;
        }
        threads.emplace_back([&, node_ptr = &node] {
          try {
            BackgroundList none;
            run_node(*node_ptr, none);
          } catch (...) {
            std::lock_guard lock(error_mu);
            error = std::current_exception();
          }
        });
      }
      for (auto& t : threads) {
        t.join();
      }
      if (error) {
        std::rethrow_exception(error);
      }
    }
  } catch (...) {
    stop_backgrounds(backgrounds);
    throw;
  }
  stop_backgrounds(backgrounds);
}

void Runner::run_node(const Node& node, BackgroundList& backgrounds) {
  if (node.is_group()) {
    run_group(*node.group);
    return;
  }
  if (node.step.background) {
    if (auto bg = start_background(node.step)) {
      backgrounds.push_back(std::move(bg));
    }
    return;
  }
  run_foreground_step(node.step);
}

StepResult Runner::begin_step(const Step& step, bool& skip) {
  StepResult r;
  {
    std::lock_guard lock(mu_);
    r = results_[step.id];
  }
  r.reason.clear();  // "not reached" was for a step that never starts
  skip = false;
  if (interrupted_) {
    r.reason = "run interrupted before this step";
    skip = true;
  } else if (scenario_.stop_on_failure && failed_) {
    r.reason = "an earlier step failed and the scenario has stop_on_failure";
    skip = true;
  }
  if (skip) {
    r.status = StepStatus::kSkipped;
    writer_.step_end(r);
    std::lock_guard lock(mu_);
    results_[step.id] = r;
  }
  return r;
}

bool Runner::resolve_step_params(const Step& step, StepResult& result) {
  if (step.deferred.empty()) {
    return true;
  }
  try {
    std::lock_guard lock(mu_);  // read in place: a copy would cost as much as the parse
    result.params = resolve_params(step, records_, registry_);
    return true;
  } catch (const std::exception& e) {
    result.status = StepStatus::kFailed;
    result.reason = e.what();
    return false;
  }
}

void Runner::finish_step(StepResult result) {
  if (is_failure(result.status)) {
    failed_ = true;
    spdlog::error("step {}: {} — {}", result.id, to_string(result.status), result.reason);
  } else if (result.status == StepStatus::kInterrupted) {
    spdlog::warn("step {}: interrupted after {}", result.id, seconds_text(result.duration_ns));
  } else {
    const nlohmann::json& top = result.record.top();
    const std::string summary =
        top.contains("summary") && top["summary"].is_string() ? top["summary"].get<std::string>() : "";
    spdlog::info("step {}: {} in {}{}{}", result.id, to_string(result.status), seconds_text(result.duration_ns),
                 summary.empty() ? "" : " — ", summary);
  }
  if (result.kind == "action" && !result.plugin.empty()) {
    if (auto plugin = registry_.get(result.plugin)) {
      result.figures = figure_values(plugin->figures(result.action), result.record);
    }
  }
  if (result.kind == "action" && !run_dir_.empty()) {
    // A record file its agent wrote but that is not the record (the host
    // edited the record, or the agent died after writing) must not stay.
    const std::string path = run_dir_ + "/" + record_file_name(result.id);
    if (result.record.file() != path) {
      ::unlink(path.c_str());
    }
  }
  publish_record(result.id, result.record);
  writer_.step_end(result);
  std::lock_guard lock(mu_);
  results_[result.id] = std::move(result);
}

}  // namespace sonda
