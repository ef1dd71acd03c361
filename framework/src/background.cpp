// Background steps: BACKGROUND actions (servers) and spawned programs. They
// start, the runner waits for readiness, and they are stopped when their
// enclosing group ends.
#include <filesystem>
#include <spdlog/spdlog.h>
#include <sys/wait.h>

#include "runner.hpp"
#include "runner_internal.hpp"

namespace sonda {

std::unique_ptr<Runner::Background> Runner::start_background(const Step& step) {
  bool skip = false;
  StepResult result = begin_step(step, skip);
  if (skip) {
    return nullptr;
  }
  result.started_at = utc_iso_timestamp();
  const int64_t start_ns = monotonic_now_ns();
  writer_.event("step_start", {{"id", step.id}, {"kind", result.kind}, {"plugin", step.plugin},
                               {"action", step.action}, {"params", step.params},
                               {"started_at", result.started_at}});
  if (step.kind == Step::Kind::kSpawn) {
    return start_spawn(step, std::move(result), start_ns);
  }
  spdlog::info("step {}: starting {}.{} in the background", step.id, step.plugin, step.action);
  auto fail = [&](std::string reason) -> std::unique_ptr<Background> {
    result.status = StepStatus::kFailed;
    result.reason = std::move(reason);
    result.duration_ns = monotonic_now_ns() - start_ns;
    finish_step(std::move(result));
    return nullptr;
  };
  if (!resolve_step_params(step, result)) {
    return fail(result.reason);
  }
  auto plugin = registry_.get(step.plugin);
  if (plugin == nullptr) {
    return fail("plugin '" + step.plugin + "' is not loaded");
  }
  auto bg = std::make_unique<Background>();
  bg->start_ns = start_ns;
  bg->stop_grace_ns = 5'000'000'000;
  // Background actions run until stopped: the step timeout bounds readiness.
  std::string why;
  bg->task = launch(step.id, "", {plugin, step.action, result.params, 0, sample_forwarder(step.id), "", {}, ""}, why,
                    step.host, /*background=*/true);
  if (bg->task == nullptr) {
    return fail(why);
  }
  const int64_t ready_timeout_ns = step.timeout_ns.value_or(kDefaultReadyTimeoutNs);
  const WaitEnd end = await(**bg->task, true, start_ns + ready_timeout_ns, [this] { return interrupted_.load(); });
  bg->result = std::move(result);
  if (end != WaitEnd::kReady) {
    ActionRun& run = **bg->task;
    WaitEnd stopped = end;
    if (end != WaitEnd::kReturned) {
      run.request_stop();
      stopped = await(run, false, monotonic_now_ns() + stop_grace_ns(2'000'000'000), {}, false);
    }
    StepResult& r = bg->result;
    r.duration_ns = monotonic_now_ns() - start_ns;
    settle(r, run, stopped, 0, "");
    if (interrupted_) {
      r.status = StepStatus::kInterrupted;
      r.reason = "interrupted before it was ready";
    } else if (r.status == StepStatus::kOk || r.status == StepStatus::kTimeout) {
      r.status = StepStatus::kFailed;
      r.reason = end == WaitEnd::kReturned ? "returned without calling ready()"
                                           : "not ready after " + seconds_text(ready_timeout_ns);
    }
    finish_step(std::move(r));
    return nullptr;
  }
  bg->ready_info = *(*bg->task)->outcome().ready_info;
  if (!bg->ready_info.is_object()) {
    bg->ready_info = {{"ready", bg->ready_info}};
  }
  bg->ready_info["ready_after_ns"] = monotonic_now_ns() - start_ns;
  publish_record(step.id, bg->ready_info);
  writer_.event("step_ready", {{"id", step.id}, {"ready", bg->ready_info}});
  spdlog::info("step {}: ready {}", step.id, bg->ready_info.dump());
  return bg;
}

std::unique_ptr<Runner::Background> Runner::start_spawn(const Step& step, StepResult result, int64_t start_ns) {
  // ${...} in the command, env or cwd come from earlier steps' records.
  SpawnSpec spec;
  try {
    {
      std::lock_guard lock(mu_);  // read in place: a copy would cost as much as the parse
      spec = resolve_spawn(step, records_);
    }
    // Relative paths in a scenario are relative to the scenario file, so the
    // same scenario runs from any working directory. On a host, cwd is that
    // host's, as written (empty: where its agent runs).
    if (step.host.empty()) {
      const std::filesystem::path base = std::filesystem::absolute(scenario_.file).parent_path();
      spec.cwd = spec.cwd.empty() ? base.string() : (base / spec.cwd).lexically_normal().string();
    }
  } catch (const std::exception& e) {
    result.status = StepStatus::kFailed;
    result.reason = e.what();
    result.duration_ns = monotonic_now_ns() - start_ns;
    finish_step(std::move(result));
    return nullptr;
  }
  spdlog::info("step {}: spawning {}{}", step.id, nlohmann::json(spec.argv).dump(),
               step.host.empty() ? "" : " on host " + step.host);
  auto bg = std::make_unique<Background>();
  bg->start_ns = start_ns;
  bg->stop_grace_ns = spec.stop_grace_ns;
  const std::string stdout_path = run_dir_ + "/" + step.id + ".stdout";
  const std::string stderr_path = run_dir_ + "/" + step.id + ".stderr";
  const bool tcp = spec.ready_tcp_port.has_value();
  const std::optional<uint16_t> port = tcp ? spec.ready_tcp_port : spec.ready_udp_port;
  const std::string protocol = tcp ? "tcp" : "udp";
  result.params = {{"argv", spec.argv}, {"env", spec.env}, {"cwd", spec.cwd}};
  result.record = StepRecord(nlohmann::json{
      {"argv", spec.argv}, {"stdout", stdout_path}, {"stderr", stderr_path},
      {"port", port ? nlohmann::json(*port) : nlohmann::json(nullptr)},
      {"protocol", port ? nlohmann::json(protocol) : nlohmann::json(nullptr)}});
  if (!step.host.empty()) {
    result.record.edit()["host"] = step.host;
  }
  auto fail = [&](const std::string& reason) -> std::unique_ptr<Background> {
    if (bg->process) {
      const int status = bg->process->stop(stop_grace_ns(spec.stop_grace_ns));
      result.record.edit()["exit_status"] = bg->process->describe_status(status);
    }
    result.status = interrupted_ ? StepStatus::kInterrupted : StepStatus::kFailed;
    result.reason = reason;
    result.duration_ns = monotonic_now_ns() - start_ns;
    finish_step(std::move(result));
    return nullptr;
  };
  std::shared_ptr<const LoadedPlugin> scanner;
  if (port) {
    scanner = registry_.with_capability(SONDA_CAP_PORT_OWNER);  // the loader checked its "wait_for"
    if (scanner == nullptr) {
      return fail("readiness on port " + std::to_string(*port) + "/" + protocol +
                  " needs a plugin with the port_owner capability (proc_scanner), which is not loaded");
    }
  }
  try {
    bg->process = step.host.empty() ? start_local_spawn(spec, stdout_path, stderr_path)
                                    : start_host_spawn(executor_, step.host, spec, stdout_path, stderr_path,
                                                       monotonic_now_ns() + kDefaultReadyTimeoutNs);
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  result.record.edit()["pid"] = bg->process->pid();
  if (port) {
    const int64_t deadline_ns = monotonic_now_ns() + spec.ready_timeout_ns;
    std::string why;
    auto wait = launch(step.id, ".wait_for",
                       {scanner, "wait_for",
                        {{"port", *port}, {"protocol", protocol}, {"pid", bg->process->pid()},
                         {"timeout", spec.ready_timeout_ns}},
                        deadline_ns, {}, "", {}, ""},
                       why, step.host);
    if (wait == nullptr) {
      return fail(why);
    }
    std::optional<int> early_exit;
    WaitEnd end = await(**wait, false, deadline_ns + kDeadlineGraceNs, [&] {
      return (early_exit = bg->process->poll_exit()).has_value() || interrupted_;
    });
    if (end == WaitEnd::kAborted) {
      // Bounded: a wait_for that ignores its stop flag is given up on.
      (*wait)->request_stop();
      if (await(**wait, false, monotonic_now_ns() + kInterruptGraceNs / 2, {}, false) == WaitEnd::kReturned) {
        end = WaitEnd::kReturned;
      }
    }
    StepResult ready;
    ready.plugin = scanner->name();
    ready.action = "wait_for";
    settle(ready, **wait, end, deadline_ns, "timed out after " + seconds_text(spec.ready_timeout_ns));
    if (!early_exit) {
      early_exit = bg->process->poll_exit();
    }
    if (early_exit) {
      const std::string tail = tail_lines(stderr_path, 5);
      result.record.edit()["exit_status"] = bg->process->describe_status(*early_exit);
      return fail(spec.argv[0] + " " + bg->process->describe_status(*early_exit) +
                  " before listening on " + std::to_string(*port) + "/" + protocol +
                  (tail.empty() ? "" : "; stderr: " + tail));
    }
    if (interrupted_) {
      return fail("interrupted before it was ready");
    }
    if (ready.status != StepStatus::kOk) {
      const std::string tail = tail_lines(stderr_path, 5);
      return fail("not ready: " + ready.reason + (tail.empty() ? "" : "; stderr: " + tail));
    }
    result.record.edit()["ready"] = ready.record.tree();
  }
  result.record.edit()["ready_after_ns"] = monotonic_now_ns() - start_ns;
  bg->ready_info = result.record.top();
  bg->result = std::move(result);
  publish_record(step.id, bg->ready_info);
  writer_.event("step_ready", {{"id", step.id}, {"ready", bg->ready_info}});
  spdlog::info("step {}: pid {} ready{}", step.id, bg->process->pid(),
               port ? " on " + std::to_string(*port) + "/" + protocol : "");
  return bg;
}

void Runner::stop_backgrounds(BackgroundList& backgrounds) {
  // Reverse start order: clients of a server started later stop first.
  for (auto it = backgrounds.rbegin(); it != backgrounds.rend(); ++it) {
    stop_background(**it);
  }
  backgrounds.clear();
}

void Runner::stop_background(Background& bg) {
  StepResult& r = bg.result;
  if (bg.process) {
    const std::optional<int> exited_early = bg.process->poll_exit();
    const int status = bg.process->stop(stop_grace_ns(bg.stop_grace_ns));
    nlohmann::json& record = r.record.edit();
    record = bg.ready_info;
    record["exit_status"] = bg.process->describe_status(status);
    record["exit_code"] = WIFEXITED(status) ? nlohmann::json(WEXITSTATUS(status)) : nlohmann::json(nullptr);
    record["exit_signal"] = WIFSIGNALED(status) ? nlohmann::json(WTERMSIG(status)) : nlohmann::json(nullptr);
    if (exited_early) {
      r.status = StepStatus::kFailed;
      const std::string tail = tail_lines(record.value("stderr", std::string()), 5);
      r.reason = "exited before its group ended: " + bg.process->describe_status(status) +
                 (tail.empty() ? "" : "; stderr: " + tail);
    } else {
      r.status = interrupted_ ? StepStatus::kInterrupted : StepStatus::kOk;
    }
  } else {
    ActionRun& run = **bg.task;
    run.request_stop();
    const int64_t grace_ns = stop_grace_ns(bg.stop_grace_ns);
    const WaitEnd end = await(run, false, monotonic_now_ns() + grace_ns, {}, false);
    settle(r, run, end == WaitEnd::kReturned ? end : WaitEnd::kLimit, 0, "");
    // The ready object under the returned record: merging needs the tree.
    nlohmann::json record = bg.ready_info;
    record.update(r.record.tree());
    r.record = StepRecord(std::move(record));
    if (end != WaitEnd::kReturned) {
      r.status = StepStatus::kFailed;
      r.reason = "did not stop within " + seconds_text(grace_ns) + " (" + gave_up_text() + ")";
    } else if (r.status == StepStatus::kOk && interrupted_) {
      r.status = StepStatus::kInterrupted;
    } else if (r.status == StepStatus::kInterrupted && r.reason == "interrupted (partial record kept)") {
      r.reason.clear();  // stopped by Ctrl-C as asked: nothing to explain
    }
    bg.task.reset();
  }
  r.duration_ns = monotonic_now_ns() - bg.start_ns;
  finish_step(std::move(r));
}

}  // namespace sonda
