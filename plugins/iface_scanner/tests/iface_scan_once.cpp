// One `scan` per process, JSON on stdout: the process-for-process peer of
// `ip -j -s addr` in tools/iface_vs_ip.py. Usage: iface_scan_once [NETNS]
#include <cstdio>
#include <exception>

#include "actions.hpp"

int main(int argc, char** argv) {
  static int stop_flag = 0;
  sonda_host host{};
  host.abi_version = SONDA_ABI_VERSION;
  host.stop_flag = &stop_flag;
  host.log = [](void*, int, const char*) {};
  try {
    sonda::Context ctx(&host);
    sonda::json params = {{"include_down", true}};
    if (argc > 1) {
      params["netns"] = argv[1];
    }
    const std::string text = sonda::iface::scan_action(params, ctx).dump();
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fputc('\n', stdout);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "iface_scan_once: %s\n", e.what());
    return 1;
  }
}
