// tcp_transport_driver: runs one action of the tcp_transport.so beside it
// through the plugin ABI, outside the sonda runner, and prints its record as
// one JSON line. For manual runs and comparisons with peers.
//
//   tcp_transport_driver server '{"listen":"127.0.0.1:5201","mode":"sink"}'
//       prints the ready() info, serves until SIGINT/SIGTERM, prints the record
//   tcp_transport_driver stream '{"target":"127.0.0.1:5201"}'
//   tcp_transport_driver rr '{"duration":2000000000}' --with-server '{"mode":"echo"}'
//       --with-server starts an in-process server first and targets it
//   --samples also prints every interval sample (one JSON line each, first)
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <unistd.h>

#include "support/fake_host.hpp"
#include "support/server_thread.hpp"

namespace {

volatile std::sig_atomic_t g_signalled = 0;
void on_signal(int) { g_signalled = 1; }

int usage() {
  std::fprintf(stderr,
               "usage: tcp_transport_driver server|stream|rr|crr 'PARAMS_JSON' [--with-server 'PARAMS_JSON'] "
               "[--samples] [--verbose]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using sonda::json;
  if (argc < 3) {
    return usage();
  }
  const std::string action = argv[1];
  json params;
  json server_params;
  bool with_server = false;
  bool print_samples = false;
  bool verbose = false;
  try {
    params = json::parse(argv[2]);
    for (int i = 3; i < argc; ++i) {
      if (std::strcmp(argv[i], "--with-server") == 0 && i + 1 < argc) {
        server_params = json::parse(argv[++i]);
        with_server = true;
      } else if (std::strcmp(argv[i], "--samples") == 0) {
        print_samples = true;
      } else if (std::strcmp(argv[i], "--verbose") == 0) {
        verbose = true;
      } else {
        return usage();
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tcp_transport_driver: bad JSON: %s\n", e.what());
    return 2;
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGPIPE, SIG_IGN);

  try {
    const sonda_plugin& plugin = sonda::testing::load_plugin_beside_executable("tcp_transport");
    if (action == "server") {
      // Serve on a thread so this one can watch for signals and print ready().
      sonda::testing::ServerThread server(plugin, "server", params);
      std::cout << server.ready().dump() << std::endl;
      while (g_signalled == 0) {
        ::usleep(50'000);
      }
      std::cout << server.stop().dump() << std::endl;
      return 0;
    }
    if (action != "stream" && action != "rr" && action != "crr") {
      return usage();
    }
    std::unique_ptr<sonda::testing::ServerThread> server;
    if (with_server) {
      server = std::make_unique<sonda::testing::ServerThread>(plugin, "server", server_params);
      if (!params.contains("target")) {
        params["target"] = server->ready()["listen"];
      }
    }
    sonda::testing::FakeHost host(verbose);
    const sonda::testing::Outcome out = host.run(plugin, action, params);
    if (out.status != 0) {
      std::cout << out.record.dump() << std::endl;
      std::fprintf(stderr, "tcp_transport_driver: %s\n", out.error.c_str());
      return 1;
    }
    json record = out.record;
    if (print_samples) {
      for (const json& s : host.samples()) {
        std::cout << s.dump() << "\n";
      }
    }
    if (server) {
      record["server"] = server->stop();
    }
    std::cout << record.dump() << std::endl;
    return 0;
  } catch (const sonda::StepError& e) {
    json rec = e.details();
    rec["error"] = {{"kind", e.kind()}, {"message", e.what()}};
    std::cout << rec.dump() << std::endl;
    std::fprintf(stderr, "tcp_transport_driver: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tcp_transport_driver: %s\n", e.what());
    return 1;
  }
}
