// udp_transport's own test helpers on top of tests/support: the plugin .so
// this build made, its actions run through the C ABI, rate parameters.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "support/process.hpp"
#include "support/server_thread.hpp"

namespace sonda::udp::test {

using sonda::testing::ChildProcess;

/// udp_transport.so from this build, loaded once.
const sonda_plugin& plugin();

/// Runs `action` through the plugin's ABI entry and returns the record; a
/// failure is in it as {"error": {kind, message, ...}}, as the runner keeps it.
nlohmann::json run(const std::string& action, const nlohmann::json& params);

/// run() on this thread moved into network namespace `netns` (empty = the
/// current one) for the call.
nlohmann::json run_in_netns(const std::string& netns, const std::string& action, const nlohmann::json& params);

/// udp_transport.server on its own thread until stop() or destruction,
/// inside `netns` when not empty.
class ServerThread : public sonda::testing::ServerThread {
 public:
  explicit ServerThread(nlohmann::json params, std::string netns = "")
      : sonda::testing::ServerThread(plugin(), "server", std::move(params), std::move(netns)) {}
};

nlohmann::json bits_per_sec(double v);
nlohmann::json packets_per_sec(double v);
inline const nlohmann::json kUnlimited = {{"unlimited", true}};

}  // namespace sonda::udp::test
