// udp_transport_driver ACTION 'PARAMS-JSON': runs one udp_transport action in
// this process (no sonda runner needed) and prints its record as one JSON
// line on stdout. Background actions (server) print their ready() line on
// stderr and run until SIGINT/SIGTERM. Parameters are the normalised JSON the
// host would pass (durations in ns, sizes in bytes, rates as objects).
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "local_host.hpp"

namespace {

sonda::udp::LocalHost* g_host = nullptr;

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
  sonda::ActionFn fn = nullptr;
  if (std::strcmp(argv[1], "server") == 0) {
    fn = &sonda::udp::server_action;
  } else if (std::strcmp(argv[1], "stream") == 0) {
    fn = &sonda::udp::stream_action;
  } else if (std::strcmp(argv[1], "rr") == 0) {
    fn = &sonda::udp::rr_action;
  } else {
    std::fprintf(stderr, "unknown action '%s' (server|stream|rr)\n", argv[1]);
    return 2;
  }
  const nlohmann::json params = nlohmann::json::parse(argv[2], nullptr, false);
  if (params.is_discarded() || !params.is_object()) {
    std::fprintf(stderr, "PARAMS-JSON is not a JSON object: %s\n", argv[2]);
    return 2;
  }
  sonda::udp::LocalHost host;
  host.echo_to_stderr = true;
  g_host = &host;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  try {
    const nlohmann::json rec = host.run(fn, params);
    std::cout << rec.dump() << std::endl;
    return rec.contains("error") ? 1 : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", argv[1], e.what());
    return 1;
  }
}
