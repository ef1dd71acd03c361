#include "server_thread.hpp"

#include <memory>
#include <stdexcept>

#include "netns.hpp"

namespace sonda::testing {

ServerThread::ServerThread(const sonda_plugin& plugin, std::string action, json params, std::string netns,
                           int ready_timeout_ms) {
  const std::string what = std::string(plugin.name) + "." + action;
  thread_ = std::thread([this, &plugin, action = std::move(action), params = std::move(params),
                         netns = std::move(netns)] {
    try {
      std::unique_ptr<NetnsGuard> in_netns;
      if (!netns.empty()) {
        in_netns = std::make_unique<NetnsGuard>(netns);
      }
      outcome_ = host_.run(plugin, action, params);
    } catch (const std::exception& e) {
      // Only NetnsGuard throws here; run() never does. Report it like a failed run.
      outcome_.status = 1;
      outcome_.error = e.what();
      outcome_.record = {{"error", {{"kind", "netns"}, {"message", e.what()}}}};
    }
    done_ = true;
  });
  // run() ending wakes wait_ready(); a failed NetnsGuard does not, hence the slices.
  std::optional<json> ready;
  for (int waited = 0; !ready && !done_ && waited < ready_timeout_ms; waited += 20) {
    ready = host_.wait_ready(20);
  }
  if (!ready) {
    host_.stop();
    thread_.join();
    if (outcome_.status != 0) {
      outcome_.record_or_throw();
    }
    throw std::runtime_error(what + " not ready within " + std::to_string(ready_timeout_ms) + " ms");
  }
  ready_ = std::move(*ready);
}

ServerThread::~ServerThread() {
  host_.stop();
  if (thread_.joinable()) {
    thread_.join();
  }
}

json ServerThread::stop() {
  host_.stop();
  if (thread_.joinable()) {
    thread_.join();
  }
  return outcome_.record_or_throw();
}

}  // namespace sonda::testing
