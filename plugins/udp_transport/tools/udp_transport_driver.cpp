// udp_transport_driver ACTION 'PARAMS-JSON': runs one action of the
// udp_transport.so beside it through the plugin ABI, in this process (no sonda
// runner needed), and prints its record as one JSON line on stdout. Log
// lines, ready() and samples go to stderr; background actions (server) run
// until SIGINT/SIGTERM. Parameters are the normalised JSON the host would
// pass (durations in ns, sizes in bytes, rates as objects).
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "support/fake_host.hpp"

namespace {

sonda::testing::FakeHost* g_host = nullptr;

void on_signal(int) {
  if (g_host != nullptr) {
    g_host->stop();
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s server|stream|rr 'PARAMS-JSON'\n", argv[0]);
    return 2;
  }
  const std::string action = argv[1];
  if (action != "server" && action != "stream" && action != "rr") {
    std::fprintf(stderr, "unknown action '%s' (server|stream|rr)\n", argv[1]);
    return 2;
  }
  const nlohmann::json params = nlohmann::json::parse(argv[2], nullptr, false);
  if (params.is_discarded() || !params.is_object()) {
    std::fprintf(stderr, "PARAMS-JSON is not a JSON object: %s\n", argv[2]);
    return 2;
  }
  sonda::testing::FakeHost host(/*echo_to_stderr=*/true);
  g_host = &host;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  try {
    const sonda_plugin& plugin = sonda::testing::load_plugin_beside_executable("udp_transport");
    const sonda::testing::Outcome out = host.run(plugin, action, params);
    std::cout << out.record.dump() << std::endl;
    return out.status == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", argv[1], e.what());
    return 1;
  }
}
