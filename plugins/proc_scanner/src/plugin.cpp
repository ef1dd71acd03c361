// proc_scanner plugin: action table and the glue from sonda::Context to the
// core library (which tests and the benchmark use directly).
#include <sonda/plugin.hpp>

#include "port_lookup.hpp"
#include "scan.hpp"

namespace {

using sonda::json;
using namespace sonda::proc_scanner;

json scan(const ScanParams& params, sonda::Context& ctx) {
  const auto options = ScanOptions::from(params);
  const auto result = collect_scan(options);
  // Written as text: building the record as a json DOM cost ~0.5 s for
  // 27k sockets, the text renderer (pinned to the same JSON by a test) 10 ms.
  // Handed over in the renderer's 64 KiB pieces as they are written: the
  // host stores and checks each while the next is rendered, and no copy of
  // the whole record (megabytes) is made here.
  write_scan_text(result, options, [&ctx](std::string_view piece) { ctx.append_record_text(piece); });
  if (const std::string partial = partial_reason(result, options); !partial.empty()) {
    ctx.warn(partial);
  }
  ctx.debug(std::to_string(result.sockets.size()) + " sockets, owners via " + result.owners.source);
  return json();
}

json owner(const OwnerParams& params, sonda::Context& /*ctx*/) {
  return find_port_owner(params.port, params.protocol, params.all_netns);
}

json wait_for(const WaitSpec& spec, sonda::Context& ctx) {
  return wait_for_port(spec, [&ctx] { return ctx.should_stop(); });
}

const sonda::Action kActions[] = {
    sonda::action<kScanParams, &scan>(
        {.name = "scan", .doc = "TCP/UDP sockets with owners, containers, namespaces and identified services"}),
    sonda::action<kOwnerParams, &owner>({.name = "owner", .doc = "who holds a local port (listening or bound)"}),
    sonda::action<kWaitParams, &wait_for>(
        {.name = "wait_for", .doc = "block until a port is listening, optionally owned by a process tree"}),
};

}  // namespace

/// Headline figures: what `sonda compare`, reports and summaries read.
constexpr sonda_figure_spec kFigures[] = {
    {.action = "scan", .path = "timing_ns.socket_dump", .unit = "ns", .better = "lower", .doc = "time to read the socket table"},
    {.action = "scan", .path = "timing_ns.proc_walk", .unit = "ns", .better = "lower", .doc = "time to find owners in /proc"},
};

SONDA_PLUGIN_WITH_FIGURES("proc_scanner", "0.1.0",
             "Who listens where: sockets, owning processes, containers, namespaces, services",
             SONDA_CAP_DISCOVERY | SONDA_CAP_PORT_OWNER, kActions, kFigures)
