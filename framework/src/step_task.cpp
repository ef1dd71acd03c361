#include "step_task.hpp"

#include <spdlog/spdlog.h>

#include <ctime>

#include "logging.hpp"

namespace sonda {

int64_t monotonic_now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

/// Everything the plugin thread touches. Shared by the task and the thread
/// so an abandoned thread never writes into freed memory.
struct ActionTask::State {
  std::shared_ptr<const LoadedPlugin> plugin;
  std::string action;
  std::string params_text;
  SampleCallback on_sample;
  TaskHooks hooks;
  std::shared_ptr<spdlog::logger> logger;
  int stop_flag = 0;  // read by the plugin with __atomic_load_n
  sonda_host host{};

  mutable std::mutex mu;
  std::condition_variable cv;
  ActionOutcome outcome;
  /// The pieces appended since the last set_result(), without an
  /// on_record_piece hook; `streaming` once one came. Plugin thread only.
  std::string streamed;
  bool streaming = false;
};

namespace {

ActionTask::State* state_of(void* ctx) { return static_cast<ActionTask::State*>(ctx); }

/// A plugin's text is untrusted: keep it as a string when it is not JSON.
nlohmann::json parse_or_wrap(const char* text) {
  auto j = nlohmann::json::parse(text != nullptr ? text : "null", nullptr, false);
  if (j.is_discarded()) {
    return nlohmann::json{{"invalid_json", text != nullptr ? text : ""}};
  }
  return j;
}

void host_log(void* ctx, int level, const char* msg) {
  auto* s = state_of(ctx);
  const int clamped = level < SONDA_LOG_TRACE ? SONDA_LOG_TRACE : (level > SONDA_LOG_ERROR ? SONDA_LOG_ERROR : level);
  if (s->hooks.on_log) {
    s->hooks.on_log(clamped, msg != nullptr ? msg : "");
    return;
  }
  s->logger->log(static_cast<spdlog::level::level_enum>(clamped), "{}", msg != nullptr ? msg : "");
}

void host_ready(void* ctx, const char* json_text) {
  auto* s = state_of(ctx);
  auto info = parse_or_wrap(json_text);
  {
    std::lock_guard lock(s->mu);
    if (s->outcome.ready_info) {
      return;
    }
    s->outcome.ready_info = info;
    s->cv.notify_all();
  }
  if (s->hooks.on_ready) {
    s->hooks.on_ready(info);
  }
}

void host_sample(void* ctx, const char* json_text) {
  auto* s = state_of(ctx);
  auto sample = parse_or_wrap(json_text);
  {
    std::lock_guard lock(s->mu);
    s->outcome.samples.push_back(sample);
  }
  if (s->on_sample) {
    s->on_sample(sample);
  }
}

/// Sets the outcome's record from a plugin's text.
void take_record_text(ActionTask::State* s, std::string text) {
  // Validated here, on the plugin's thread, but not parsed into a tree: a
  // large record is mostly written out as it came (step_record.hpp).
  std::string problem;
  StepRecord record = StepRecord::from_text(std::move(text), problem);
  std::lock_guard lock(s->mu);
  s->outcome.record = std::move(record);
  s->outcome.record_problem = std::move(problem);
}

void host_append_result(void* ctx, const char* data, size_t size) {
  auto* s = state_of(ctx);
  const std::string_view piece(data != nullptr ? data : "", data != nullptr ? size : 0);
  if (s->hooks.on_record_piece) {
    s->hooks.on_record_piece(piece);
    return;
  }
  s->streaming = true;
  s->streamed.append(piece);
}

void host_set_result(void* ctx, const char* json_text) {
  auto* s = state_of(ctx);
  s->streaming = false;
  std::string().swap(s->streamed);
  if (s->hooks.on_record_text) {
    s->hooks.on_record_text(json_text != nullptr ? json_text : "null");
    return;
  }
  take_record_text(s, std::string(json_text != nullptr ? json_text : "null"));
}

void host_set_error(void* ctx, const char* message) {
  auto* s = state_of(ctx);
  std::lock_guard lock(s->mu);
  s->outcome.error = message != nullptr ? message : "";
}

}  // namespace

ActionTask::ActionTask(std::shared_ptr<const LoadedPlugin> plugin, std::string action,
                       nlohmann::json params, int64_t deadline_ns, SampleCallback on_sample)
    : state_(std::make_shared<State>()) {
  state_->logger = plugin_logger(plugin->name());
  state_->plugin = std::move(plugin);
  state_->action = std::move(action);
  state_->params_text = params.dump();
  state_->on_sample = std::move(on_sample);
  sonda_host& h = state_->host;
  h.abi_version = SONDA_HOST_REVISION;
  h.ctx = state_.get();
  h.stop_flag = &state_->stop_flag;
  h.deadline_ns = deadline_ns;
  h.log = &host_log;
  h.ready = &host_ready;
  h.sample = &host_sample;
  h.set_result = &host_set_result;
  h.set_error = &host_set_error;
  h.append_result = &host_append_result;
}

ActionTask::~ActionTask() {
  if (thread_.joinable()) {
    thread_.detach();
  }
}

void ActionTask::set_hooks(TaskHooks hooks) { state_->hooks = std::move(hooks); }

void ActionTask::start() {
  thread_ = std::thread([s = state_] {
    const int rc = s->plugin->descriptor->run(s->action.c_str(), s->params_text.c_str(), &s->host);
    if (s->streaming) {
      s->streaming = false;
      take_record_text(s.get(), std::move(s->streamed));
    }
    std::string error;
    {
      std::lock_guard lock(s->mu);
      s->outcome.rc = rc;
      if (rc != 0 && s->outcome.error.empty()) {
        s->outcome.error = s->plugin->name() + "." + s->action + " failed with status " +
                           std::to_string(rc) + " and no message";
      }
      error = s->outcome.error;
    }
    // Forwarded before `finished`, so whoever waits for the task sees the
    // forwarding done.
    if (s->hooks.on_done) {
      s->hooks.on_done(rc, error);
    }
    std::lock_guard lock(s->mu);
    s->outcome.finished = true;
    s->cv.notify_all();
  });
}

void ActionTask::request_stop() { __atomic_store_n(&state_->stop_flag, 1, __ATOMIC_RELAXED); }

namespace {

/// Converts a monotonic deadline into the steady_clock time cv waits use.
std::chrono::steady_clock::time_point steady_deadline(int64_t until_ns) {
  return std::chrono::steady_clock::now() + std::chrono::nanoseconds(until_ns - monotonic_now_ns());
}

}  // namespace

bool ActionTask::wait_ready(int64_t until_ns) {
  std::unique_lock lock(state_->mu);
  state_->cv.wait_until(lock, steady_deadline(until_ns), [&] {
    return state_->outcome.ready_info.has_value() || state_->outcome.finished;
  });
  return state_->outcome.ready_info.has_value();
}

bool ActionTask::wait_done(int64_t until_ns) {
  {
    std::unique_lock lock(state_->mu);
    auto done = [&] { return state_->outcome.finished; };
    if (until_ns == 0) {
      state_->cv.wait(lock, done);
    } else if (!state_->cv.wait_until(lock, steady_deadline(until_ns), done)) {
      return false;
    }
  }
  if (thread_.joinable()) {
    thread_.join();
  }
  return true;
}

ActionOutcome ActionTask::outcome() const {
  std::lock_guard lock(state_->mu);
  return state_->outcome;
}

ActionOutcome ActionTask::run_sync(std::shared_ptr<const LoadedPlugin> plugin, const std::string& action,
                                   const nlohmann::json& params, int64_t deadline_ns,
                                   const int* stop_flag) {
  ActionTask task(std::move(plugin), action, params, deadline_ns);
  task.start();
  while (!task.wait_done(monotonic_now_ns() + 20'000'000)) {
    if (stop_flag != nullptr && __atomic_load_n(stop_flag, __ATOMIC_RELAXED) != 0) {
      task.request_stop();
    }
  }
  return task.outcome();
}

}  // namespace sonda
