// proc_scan: runs the scan engine once and prints the record, for the peer
// benchmark (tools/proc_vs_ss.py) and for people without the runner.
//
//   proc_scan '{"protocol":"tcp","listening":true}'   # params as the runner passes them
//   proc_scan --sockets-only '{...}'                  # skip service identification
//   proc_scan --timing                                # phase times on stderr
#include <malloc.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <sonda/plugin.hpp>

#include "scan.hpp"
#include "sonda_common/net.hpp"

int main(int argc, char** argv) {
  mallopt(M_ARENA_MAX, 1);
  nlohmann::json params = nlohmann::json::object();
  bool compact = true;
  bool timing = false;
  const int64_t start_ns = sonda::common::monotonic_ns();
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--pretty") == 0) {
      compact = false;
    } else if (std::strcmp(argv[i], "--timing") == 0) {
      timing = true;
    } else if (std::strcmp(argv[i], "--sockets-only") == 0) {
      params["identify"] = false;
    } else {
      try {
        params.update(nlohmann::json::parse(argv[i]));
      } catch (const std::exception& e) {
        std::fprintf(stderr, "proc_scan: argument %d is not a JSON object: %s\n", i, e.what());
        return 2;
      }
    }
  }
  try {
    const auto options = sonda::proc_scanner::ScanOptions::bind(params);
    const auto result = sonda::proc_scanner::collect_scan(options);
    const int64_t collected_ns = sonda::common::monotonic_ns();
    if (timing) {
      std::fprintf(stderr,
                   "proc_scan: collect %.2f ms (socket dump %.2f, owners %.2f via %s, bpf setup "
                   "%.2f, layout from %s)\n",
                   (collected_ns - start_ns) / 1e6, result.socket_dump_ns / 1e6,
                   result.proc_walk_ns / 1e6, result.owners.source.c_str(),
                   result.owners.bpf_setup_ns / 1e6,
                   result.owners.bpf_layout_cached ? "cache" : "btf");
    }
    if (compact) {
      // Straight to fd 1 in 64 KiB pieces; stdio would split them into 4 KiB writes.
      sonda::proc_scanner::write_scan_text(result, options, [](std::string_view chunk) {
        while (!chunk.empty()) {
          const ssize_t n = ::write(STDOUT_FILENO, chunk.data(), chunk.size());
          if (n < 0 && errno == EINTR) {
            continue;
          }
          if (n <= 0) {
            throw std::runtime_error(std::string("write(stdout): ") + std::strerror(errno));
          }
          chunk.remove_prefix(static_cast<size_t>(n));
        }
      });
      if (timing) {
        std::fprintf(stderr, "proc_scan: render+write %.2f ms\n",
                     (sonda::common::monotonic_ns() - collected_ns) / 1e6);
      }
      // Everything is written: leave without freeing the scan piece by
      // piece (tens of thousands of strings and vectors); the kernel takes
      // the whole address space back at once.
      ::_exit(::write(STDOUT_FILENO, "\n", 1) == 1 ? 0 : 1);
    } else {
      const std::string text = sonda::proc_scanner::render_scan_text(result, options);
      std::fputs(nlohmann::json::parse(text).dump(2).c_str(), stdout);
    }
    std::fputc('\n', stdout);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "proc_scan: %s\n", e.what());
    return 1;
  }
  return 0;
}
