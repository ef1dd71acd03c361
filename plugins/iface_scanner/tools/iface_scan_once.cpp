// One `scan` per process, JSON on stdout: the process-for-process peer of
// `ip -j -s addr` in tools/iface_vs_ip.py. Usage: iface_scan_once [NETNS [REPEAT]]
// REPEAT > 1 scans that many times in the one process (printing the last):
// the tool takes the marginal cost of a scan from the difference.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <algorithm>
#include <string>

#include "actions.hpp"
#include "support/fake_host.hpp"

int main(int argc, char** argv) {
  // A direct call into the engine, not through the .so: the figure is the
  // scan alone, without a dlopen (tools/peers.py sets it against `sonda run`).
  sonda::testing::FakeHost host;
  try {
    sonda::Context ctx(host.host());
    sonda::json params = {{"include_down", true}};
    if (argc > 1 && argv[1][0] != '\0') {
      params["netns"] = argv[1];
    }
    const long repeat = argc > 2 ? std::strtol(argv[2], nullptr, 10) : 1;
    std::string text;
    for (long i = 0; i < std::max(repeat, 1L); ++i) {
      text = sonda::iface::scan_action(params, ctx).dump();
    }
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fputc('\n', stdout);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "iface_scan_once: %s\n", e.what());
    return 1;
  }
}
