#include "test_support.hpp"

#include <memory>

#include "support/fake_host.hpp"
#include "support/netns.hpp"

namespace sonda::udp::test {

const sonda_plugin& plugin() {
  static const sonda_plugin& p = sonda::testing::load_plugin(UDP_TRANSPORT_SO);
  return p;
}

nlohmann::json run(const std::string& action, const nlohmann::json& params) {
  sonda::testing::FakeHost host;
  return host.run(plugin(), action, params).record;
}

nlohmann::json run_in_netns(const std::string& netns, const std::string& action, const nlohmann::json& params) {
  std::unique_ptr<sonda::testing::NetnsGuard> in_netns;
  if (!netns.empty()) {
    in_netns = std::make_unique<sonda::testing::NetnsGuard>(netns);
  }
  return run(action, params);
}

nlohmann::json bits_per_sec(double v) { return {{"bits_per_sec", v}}; }
nlohmann::json packets_per_sec(double v) { return {{"packets_per_sec", v}}; }

}  // namespace sonda::udp::test
