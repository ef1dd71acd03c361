#include "local_host.hpp"

#include <chrono>
#include <cstdio>

namespace sonda::udp {

LocalHost::LocalHost() {
  host_.abi_version = SONDA_ABI_VERSION;
  host_.ctx = this;
  host_.stop_flag = &stop_flag_;
  host_.deadline_ns = 0;
  host_.log = &LocalHost::on_log;
  host_.ready = &LocalHost::on_ready;
  host_.sample = &LocalHost::on_sample;
  host_.set_result = &LocalHost::on_result;
  host_.set_error = &LocalHost::on_error;
}

nlohmann::json LocalHost::run(ActionFn fn, const nlohmann::json& params) {
  Context ctx(&host_);
  try {
    return fn(params, ctx);
  } catch (const StepError& e) {
    nlohmann::json rec = e.details();
    nlohmann::json err = {{"kind", e.kind()}, {"message", e.what()}};
    if (rec.contains("error") && rec["error"].is_object()) {
      err.update(rec["error"]);
    }
    rec["error"] = err;
    return rec;
  }
}

std::optional<nlohmann::json> LocalHost::wait_ready(int timeout_ms) {
  std::unique_lock<std::mutex> lock(mutex_);
  ready_cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [this] { return ready_.has_value(); });
  return ready_;
}

std::vector<nlohmann::json> LocalHost::samples() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return samples_;
}

std::vector<std::string> LocalHost::warnings() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return warnings_;
}

void LocalHost::on_log(void* ctx, int level, const char* msg) {
  auto* self = static_cast<LocalHost*>(ctx);
  if (self->echo_to_stderr) {
    std::fprintf(stderr, "log[%d] %s\n", level, msg);
  }
  if (level >= SONDA_LOG_WARN) {
    std::lock_guard<std::mutex> lock(self->mutex_);
    self->warnings_.emplace_back(msg);
  }
}

void LocalHost::on_ready(void* ctx, const char* json) {
  auto* self = static_cast<LocalHost*>(ctx);
  {
    std::lock_guard<std::mutex> lock(self->mutex_);
    self->ready_ = nlohmann::json::parse(json);
  }
  if (self->echo_to_stderr) {
    std::fprintf(stderr, "ready %s\n", json);
  }
  self->ready_cv_.notify_all();
}

void LocalHost::on_sample(void* ctx, const char* json) {
  auto* self = static_cast<LocalHost*>(ctx);
  if (self->echo_to_stderr) {
    std::fprintf(stderr, "sample %s\n", json);
  }
  std::lock_guard<std::mutex> lock(self->mutex_);
  self->samples_.push_back(nlohmann::json::parse(json));
}

// Actions run through run() return their record directly; these two only
// matter when the plugin's own dispatcher is driven with host().
void LocalHost::on_result(void*, const char*) {}
void LocalHost::on_error(void* ctx, const char* msg) { on_log(ctx, SONDA_LOG_ERROR, msg); }

}  // namespace sonda::udp
