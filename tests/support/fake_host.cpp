#include "fake_host.hpp"

#include <dlfcn.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <stdexcept>

namespace sonda::testing {

const sonda_plugin& load_plugin(const std::string& path) {
  void* lib = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    throw std::runtime_error("dlopen(" + path + "): " + ::dlerror());
  }
  // BOOST_DLL_ALIAS exports a pointer to the aliased function or variable.
  auto* abi = static_cast<void* const*>(::dlsym(lib, SONDA_ABI_SYMBOL));
  auto* entry = static_cast<void* const*>(::dlsym(lib, SONDA_ENTRY_SYMBOL));
  if (abi == nullptr || entry == nullptr) {
    throw std::runtime_error(path + ": no " SONDA_ABI_SYMBOL " / " SONDA_ENTRY_SYMBOL " symbol");
  }
  const uint32_t version = *static_cast<const uint32_t*>(*abi);
  if (version != SONDA_ABI_VERSION) {
    throw std::runtime_error(path + ": plugin ABI " + std::to_string(version) + ", host ABI " +
                             std::to_string(SONDA_ABI_VERSION));
  }
  return *reinterpret_cast<sonda_plugin_entry_fn>(*entry)();
}

const sonda_plugin& load_plugin_beside_executable(const std::string& name) {
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) {
    throw std::runtime_error("readlink(/proc/self/exe): " + ec.message());
  }
  return load_plugin((exe.parent_path() / (name + ".so")).string());
}

const json& Outcome::record_or_throw() const {
  if (status == 0) {
    return record;
  }
  const json err = record.is_object() ? record.value("error", json::object()) : json::object();
  throw StepError(err.value("message", error), err.value("kind", "error"),
                  record.is_object() ? record : json::object());
}

FakeHost::FakeHost(bool echo_to_stderr) : echo_(echo_to_stderr) {
  host_.abi_version = SONDA_ABI_VERSION;
  host_.ctx = this;
  host_.stop_flag = &stop_flag_;
  host_.deadline_ns = 0;
  host_.log = &on_log;
  host_.ready = &on_ready;
  host_.sample = &on_sample;
  host_.set_result = &on_result;
  host_.set_error = &on_error;
}

Outcome FakeHost::run(const sonda_plugin& plugin, const std::string& action, const json& params) {
  {
    std::lock_guard lock(mutex_);
    finished_ = false;
    ready_.reset();
    samples_.clear();
    warnings_.clear();
    record_ = nullptr;
    error_.clear();
  }
  Outcome out;
  out.status = plugin.run(action.c_str(), params.dump().c_str(), &host_);
  std::lock_guard lock(mutex_);
  finished_ = true;
  changed_.notify_all();
  out.record = record_;
  out.error = error_;
  return out;
}

std::optional<json> FakeHost::wait_ready(int timeout_ms) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                    [this] { return ready_.has_value() || finished_; });
  return ready_;
}

std::vector<json> FakeHost::samples() const {
  std::lock_guard lock(mutex_);
  return samples_;
}

std::vector<std::string> FakeHost::warnings() const {
  std::lock_guard lock(mutex_);
  return warnings_;
}

void FakeHost::on_log(void* ctx, int level, const char* msg) {
  auto* self = static_cast<FakeHost*>(ctx);
  if (self->echo_) {
    std::fprintf(stderr, "log[%d] %s\n", level, msg);
  }
  if (level >= SONDA_LOG_WARN) {
    std::lock_guard lock(self->mutex_);
    self->warnings_.emplace_back(msg);
  }
}

void FakeHost::on_ready(void* ctx, const char* text) {
  auto* self = static_cast<FakeHost*>(ctx);
  if (self->echo_) {
    std::fprintf(stderr, "ready %s\n", text);
  }
  std::lock_guard lock(self->mutex_);
  self->ready_ = json::parse(text);
  self->changed_.notify_all();
}

void FakeHost::on_sample(void* ctx, const char* text) {
  auto* self = static_cast<FakeHost*>(ctx);
  if (self->echo_) {
    std::fprintf(stderr, "sample %s\n", text);
  }
  std::lock_guard lock(self->mutex_);
  self->samples_.push_back(json::parse(text));
}

void FakeHost::on_result(void* ctx, const char* text) {
  auto* self = static_cast<FakeHost*>(ctx);
  std::lock_guard lock(self->mutex_);
  self->record_ = json::parse(text);
}

void FakeHost::on_error(void* ctx, const char* msg) {
  auto* self = static_cast<FakeHost*>(ctx);
  if (self->echo_) {
    std::fprintf(stderr, "error %s\n", msg);
  }
  std::lock_guard lock(self->mutex_);
  self->error_ = msg;
}

json run_action(const sonda_plugin& plugin, const std::string& action, const json& params,
                std::vector<json>* samples) {
  FakeHost host;
  const Outcome out = host.run(plugin, action, params);
  if (samples != nullptr) {
    *samples = host.samples();
  }
  return out.record_or_throw();
}

}  // namespace sonda::testing
