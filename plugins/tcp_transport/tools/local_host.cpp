#include "local_host.hpp"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "actions.hpp"

namespace sonda::tcp {

LocalHost::LocalHost(bool verbose) : verbose_(verbose) {
  host_.abi_version = SONDA_ABI_VERSION;
  host_.ctx = this;
  host_.stop_flag = &stop_flag_;
  host_.deadline_ns = 0;
  host_.log = &on_log;
  host_.ready = &on_ready;
  host_.sample = &on_sample;
  host_.set_result = &on_set_result;
  host_.set_error = &on_set_error;
}

void LocalHost::request_stop() { __atomic_store_n(&stop_flag_, 1, __ATOMIC_RELAXED); }

std::optional<json> LocalHost::wait_ready(int timeout_ms) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [this] { return ready_.has_value(); });
  return ready_;
}

std::vector<json> LocalHost::samples() const {
  std::lock_guard<std::mutex> lock(mu_);
  return samples_;
}

void LocalHost::on_log(void* ctx, int level, const char* msg) {
  if (static_cast<LocalHost*>(ctx)->verbose_) {
    std::fprintf(stderr, "[tcp_transport:%d] %s\n", level, msg);
  }
}

void LocalHost::notify_ready(const json& info) {
  std::lock_guard<std::mutex> lock(mu_);
  ready_ = info;
  cv_.notify_all();
}

void LocalHost::on_ready(void* ctx, const char* json_text) {
  static_cast<LocalHost*>(ctx)->notify_ready(json::parse(json_text));
}

void LocalHost::on_sample(void* ctx, const char* json_text) {
  auto* self = static_cast<LocalHost*>(ctx);
  std::lock_guard<std::mutex> lock(self->mu_);
  self->samples_.push_back(json::parse(json_text));
}

void LocalHost::on_set_result(void*, const char*) {}
void LocalHost::on_set_error(void*, const char*) {}

void enter_netns(const std::string& name) {
  const std::string path = "/var/run/netns/" + name;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw std::runtime_error("open(" + path + "): " + std::strerror(errno));
  }
  const int rc = ::setns(fd, CLONE_NEWNET);
  const int err = errno;
  ::close(fd);
  if (rc != 0) {
    throw std::runtime_error("setns(" + path + "): " + std::strerror(err));
  }
}

BackgroundServer::BackgroundServer(json params, std::string netns) {
  thread_ = std::thread([this, params = std::move(params), netns = std::move(netns)] {
    try {
      if (!netns.empty()) {
        enter_netns(netns);
      }
      Context ctx(host_.host());
      record_ = run_server(params, ctx);
    } catch (...) {
      error_ = std::current_exception();
    }
    // Wake a constructor still waiting for ready() after a failed start.
    if (!host_.wait_ready(0)) {
      host_.notify_ready({{"failed", true}});
    }
  });
  std::optional<json> ready = host_.wait_ready(10000);
  if (!ready || ready->contains("failed")) {
    thread_.join();
    stopped_ = true;
    if (error_) {
      std::rethrow_exception(error_);
    }
    throw std::runtime_error("server did not become ready within 10 s");
  }
  ready_ = *ready;
}

BackgroundServer::~BackgroundServer() {
  if (!stopped_) {
    host_.request_stop();
    thread_.join();
  }
}

json BackgroundServer::stop() {
  if (!stopped_) {
    host_.request_stop();
    thread_.join();
    stopped_ = true;
  }
  if (error_) {
    std::rethrow_exception(error_);
  }
  return record_;
}

}  // namespace sonda::tcp
