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
    result.status = "failed";
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
  // Background tasks run until stopped: the step timeout bounds readiness.
  bg->task = std::make_unique<ActionTask>(plugin, step.action, result.params, 0,
                                          sample_forwarder(step.id));
  watch(bg->task.get(), true);
  bg->task->start();
  const int64_t ready_timeout_ns = step.timeout_ns.value_or(kDefaultReadyTimeoutNs);
  const int64_t until_ns = start_ns + ready_timeout_ns;
  bool ready = false;
  while (!ready && monotonic_now_ns() < until_ns && !interrupted_) {
    ready = bg->task->wait_ready(std::min(until_ns, monotonic_now_ns() + kPollSliceNs));
    if (!ready && bg->task->outcome().finished) {
      break;
    }
  }
  bg->result = std::move(result);
  if (!ready) {
    bg->task->request_stop();
    const bool returned = bg->task->wait_done(monotonic_now_ns() + stop_grace_ns(2'000'000'000));
    watch(bg->task.get(), false);
    ActionOutcome out = bg->task->outcome();
    bg->result.record = std::move(out.record);
    bg->result.samples = std::move(out.samples);
    bg->result.duration_ns = monotonic_now_ns() - start_ns;
    if (interrupted_) {
      bg->result.status = "interrupted";
      bg->result.reason = "interrupted before it was ready";
    } else if (returned && out.rc != 0) {
      bg->result.status = "failed";
      bg->result.reason = out.error;
      explain_addr_in_use(bg->result);
    } else {
      bg->result.status = "failed";
      bg->result.reason = returned ? "returned without calling ready()"
                                   : "not ready after " + seconds_text(ready_timeout_ns);
    }
    finish_step(std::move(bg->result));
    return nullptr;
  }
  bg->ready_info = *bg->task->outcome().ready_info;
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
    // same scenario runs from any working directory.
    const std::filesystem::path base = std::filesystem::absolute(scenario_.file).parent_path();
    spec.cwd = spec.cwd.empty() ? base.string() : (base / spec.cwd).lexically_normal().string();
  } catch (const std::exception& e) {
    result.status = "failed";
    result.reason = e.what();
    result.duration_ns = monotonic_now_ns() - start_ns;
    finish_step(std::move(result));
    return nullptr;
  }
  spdlog::info("step {}: spawning {}", step.id, nlohmann::json(spec.argv).dump());
  auto bg = std::make_unique<Background>();
  bg->start_ns = start_ns;
  bg->stop_grace_ns = spec.stop_grace_ns;
  const std::string stdout_path = writer_.dir() + "/" + step.id + ".stdout";
  const std::string stderr_path = writer_.dir() + "/" + step.id + ".stderr";
  const bool tcp = spec.ready_tcp_port.has_value();
  const std::optional<uint16_t> port = tcp ? spec.ready_tcp_port : spec.ready_udp_port;
  const std::string protocol = tcp ? "tcp" : "udp";
  result.params = {{"argv", spec.argv}, {"env", spec.env}, {"cwd", spec.cwd}};
  result.record = StepRecord(nlohmann::json{
      {"argv", spec.argv}, {"stdout", stdout_path}, {"stderr", stderr_path},
      {"port", port ? nlohmann::json(*port) : nlohmann::json(nullptr)},
      {"protocol", port ? nlohmann::json(protocol) : nlohmann::json(nullptr)}});
  auto fail = [&](const std::string& reason) -> std::unique_ptr<Background> {
    if (bg->process) {
      const int status = bg->process->stop(stop_grace_ns(spec.stop_grace_ns));
      result.record.edit()["exit_status"] = SpawnedProcess::describe_status(status);
    }
    result.status = interrupted_ ? "interrupted" : "failed";
    result.reason = reason;
    result.duration_ns = monotonic_now_ns() - start_ns;
    finish_step(std::move(result));
    return nullptr;
  };
  std::shared_ptr<const LoadedPlugin> scanner;
  if (port) {
    scanner = registry_.get("proc_scanner");
    if (scanner == nullptr || scanner->find_action("wait_for") == nullptr) {
      return fail("readiness on port " + std::to_string(*port) + "/" + protocol +
                  " needs the proc_scanner plugin (wait_for), which is not loaded");
    }
  }
  try {
    bg->process = SpawnedProcess::start(spec, stdout_path, stderr_path);
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  result.record.edit()["pid"] = bg->process->pid();
  if (port) {
    ActionTask wait(scanner, "wait_for",
                    {{"port", *port}, {"protocol", protocol}, {"pid", bg->process->pid()},
                     {"timeout", spec.ready_timeout_ns}},
                    monotonic_now_ns() + spec.ready_timeout_ns);
    watch(&wait, true);
    wait.start();
    std::optional<int> early_exit;
    while (!wait.wait_done(monotonic_now_ns() + kPollSliceNs)) {
      if ((early_exit = bg->process->poll_exit()) || interrupted_) {
        // Bounded: a wait_for that ignores its stop flag is abandoned.
        wait.request_stop();
        wait.wait_done(monotonic_now_ns() + kInterruptGraceNs / 2);
        break;
      }
    }
    watch(&wait, false);
    const ActionOutcome out = wait.outcome();
    if (!early_exit) {
      early_exit = bg->process->poll_exit();
    }
    if (early_exit) {
      const std::string tail = tail_lines(stderr_path, 5);
      result.record.edit()["exit_status"] = SpawnedProcess::describe_status(*early_exit);
      return fail(spec.argv[0] + " " + SpawnedProcess::describe_status(*early_exit) +
                  " before listening on " + std::to_string(*port) + "/" + protocol +
                  (tail.empty() ? "" : "; stderr: " + tail));
    }
    if (interrupted_) {
      return fail("interrupted before it was ready");
    }
    if (out.rc != 0) {
      const std::string tail = tail_lines(stderr_path, 5);
      return fail("not ready: " + out.error + (tail.empty() ? "" : "; stderr: " + tail));
    }
    result.record.edit()["ready"] = out.record.tree();
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
    record["exit_status"] = SpawnedProcess::describe_status(status);
    record["exit_code"] = WIFEXITED(status) ? nlohmann::json(WEXITSTATUS(status)) : nlohmann::json(nullptr);
    record["exit_signal"] = WIFSIGNALED(status) ? nlohmann::json(WTERMSIG(status)) : nlohmann::json(nullptr);
    if (exited_early) {
      r.status = "failed";
      const std::string tail = tail_lines(record.value("stderr", std::string()), 5);
      r.reason = "exited before its group ended: " + SpawnedProcess::describe_status(status) +
                 (tail.empty() ? "" : "; stderr: " + tail);
    } else {
      r.status = interrupted_ ? "interrupted" : "ok";
    }
  } else {
    bg.task->request_stop();
    const bool returned = bg.task->wait_done(monotonic_now_ns() + stop_grace_ns(bg.stop_grace_ns));
    watch(bg.task.get(), false);
    ActionOutcome out = bg.task->outcome();
    // The ready object under the returned record: merging needs the tree.
    nlohmann::json record = bg.ready_info;
    record.update(out.record.tree());
    r.record = StepRecord(std::move(record));
    r.samples = std::move(out.samples);
    if (!returned) {
      r.status = "failed";
      r.reason = "did not stop within " + seconds_text(stop_grace_ns(bg.stop_grace_ns)) + " (abandoned)";
    } else if (out.rc != 0) {
      r.status = "failed";
      r.reason = out.error;
    } else {
      r.status = interrupted_ ? "interrupted" : "ok";
    }
  }
  r.duration_ns = monotonic_now_ns() - bg.start_ns;
  finish_step(std::move(r));
}

}  // namespace sonda
