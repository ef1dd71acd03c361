// proc_scanner plugin: action table and the glue from sonda::Context to the
// core library (which tests and the benchmark use directly).
#include <iterator>
#include <sonda/plugin.hpp>

#include "port_lookup.hpp"
#include "scan.hpp"

namespace {

using sonda::json;

json scan_action(const json& params, sonda::Context& ctx) {
  const auto options = sonda::proc_scanner::ScanOptions::from_json(params);
  const auto result = sonda::proc_scanner::collect_scan(options);
  // Written as text: building the record as a json DOM cost ~0.5 s for
  // 27k sockets, the text renderer (pinned to the same JSON by a test) 10 ms.
  std::string text = sonda::proc_scanner::render_scan_text(result, options);
  if (const std::string partial = sonda::proc_scanner::partial_reason(result, options);
      !partial.empty()) {
    ctx.warn(partial);
  }
  ctx.debug(std::to_string(result.sockets.size()) + " sockets, owners via " +
            result.owners.source);
  ctx.set_record_text(std::move(text));
  return json();
}

json owner_action(const json& params, sonda::Context& /*ctx*/) {
  return sonda::proc_scanner::find_port_owner(params.at("port").get<int>(),
                                              params.value("protocol", std::string("tcp")),
                                              params.value("all_netns", false));
}

json wait_for_action(const json& params, sonda::Context& ctx) {
  sonda::proc_scanner::WaitSpec spec;
  spec.port = params.at("port").get<int>();
  spec.protocol = params.value("protocol", std::string("tcp"));
  spec.pid = params.value("pid", 0);
  spec.all_netns = params.value("all_netns", false);
  spec.timeout_ns = params.value("timeout", spec.timeout_ns);
  spec.interval_ns = std::max<int64_t>(1'000'000, params.value("interval", spec.interval_ns));
  return sonda::proc_scanner::wait_for_port(spec, [&ctx] { return ctx.should_stop(); });
}

const sonda_param_spec kScanParams[] = {
    {.name = "protocol", .type = SONDA_PARAM_STRING, .default_value = "all",
     .choices = "tcp|udp|all", .doc = "which transport's sockets to list"},
    {.name = "state", .type = SONDA_PARAM_STRING_LIST,
     .doc = "only these states (LISTEN, ESTABLISHED, TIME_WAIT, UNCONN, ...; ss spellings too)"},
    {.name = "listening", .type = SONDA_PARAM_BOOL, .default_value = "false",
     .doc = "only TCP listeners and unconnected bound UDP sockets"},
    {.name = "port", .type = SONDA_PARAM_INT, .min = 1, .max = 65535,
     .doc = "only sockets with this local or remote port"},
    {.name = "pid", .type = SONDA_PARAM_INT, .min = 1, .max = 4194304,
     .doc = "only sockets this process holds (a kernel thread gets a note)"},
    {.name = "process", .type = SONDA_PARAM_STRING,
     .doc = "only sockets held by processes of this name (comm, as ps shows it)"},
    {.name = "all_netns", .type = SONDA_PARAM_BOOL, .default_value = "false",
     .doc = "also scan every other network namespace (/run/netns and those of processes)"},
    {.name = "owners", .type = SONDA_PARAM_BOOL, .default_value = "true",
     .doc = "find owning processes by walking /proc/*/fd"},
    {.name = "identify", .type = SONDA_PARAM_BOOL, .default_value = "true",
     .doc = "name the application behind each listening socket"},
    {.name = "catalog", .type = SONDA_PARAM_STRING_LIST,
     .doc = "extra application catalog YAML files (take precedence over the shipped one)"},
    {.name = "banner_ports", .type = SONDA_PARAM_INT_LIST,
     .doc = "read a banner from this host's TCP listeners on these ports (opt-in)"},
    {.name = "banner_http", .type = SONDA_PARAM_BOOL, .default_value = "false",
     .doc = "when a banner port says nothing, send one HTTP HEAD and read Server:"},
    {.name = "banner_timeout", .type = SONDA_PARAM_DURATION, .default_value = "300ms",
     .min = 1e6, .max = 5e9, .unit = "ns", .doc = "per-port connect+read budget"},
    {.name = "source", .type = SONDA_PARAM_STRING, .default_value = "auto",
     .choices = "auto|sock_diag|procfs",
     .doc = "socket table source; auto = sock_diag, /proc/net only if that fails"},
    {.name = "unix", .type = SONDA_PARAM_BOOL, .default_value = "false",
     .doc = "also list UNIX domain sockets (unix_sockets: path, type, peer, owners); filters apply, except port"},
    {.name = "owner_source", .type = SONDA_PARAM_STRING, .default_value = "auto",
     .choices = "auto|bpf|procfs",
     .doc = "owner lookup; auto = BPF task iterators (root), else one readlink per /proc/*/fd; bpf fails the step without BPF"},
};

const sonda_param_spec kOwnerParams[] = {
    {.name = "port", .type = SONDA_PARAM_INT, .required = 1, .min = 1, .max = 65535,
     .doc = "local port to look up"},
    {.name = "protocol", .type = SONDA_PARAM_STRING, .default_value = "tcp", .choices = "tcp|udp",
     .doc = "transport of the port"},
    {.name = "all_netns", .type = SONDA_PARAM_BOOL, .default_value = "false",
     .doc = "also list holders in every other network namespace (a port free here is looked up there anyway)"},
};

const sonda_param_spec kWaitParams[] = {
    {.name = "port", .type = SONDA_PARAM_INT, .required = 1, .min = 1, .max = 65535,
     .doc = "port that must be listening"},
    {.name = "protocol", .type = SONDA_PARAM_STRING, .default_value = "tcp", .choices = "tcp|udp",
     .doc = "transport of the port"},
    {.name = "pid", .type = SONDA_PARAM_INT, .min = 1, .max = 4194304,
     .doc = "the listener must belong to this process or one of its descendants"},
    {.name = "all_netns", .type = SONDA_PARAM_BOOL, .default_value = "false",
     .doc = "a listener in another network namespace (a container's, an ip netns one) counts too"},
    {.name = "timeout", .type = SONDA_PARAM_DURATION, .default_value = "10s", .min = 1e6,
     .max = 3.6e12, .unit = "ns", .doc = "give up (kind timeout) after this long"},
    {.name = "interval", .type = SONDA_PARAM_DURATION, .default_value = "50ms", .min = 1e6,
     .max = 6e10, .unit = "ns", .doc = "time between two looks at the socket table"},
};

const sonda::Action kActions[] = {
    {{.name = "scan",
      .doc = "TCP/UDP sockets with owners, containers, namespaces and identified services",
      .params = kScanParams,
      .param_count = std::size(kScanParams)},
     &scan_action},
    {{.name = "owner",
      .doc = "who holds a local port (listening or bound)",
      .params = kOwnerParams,
      .param_count = std::size(kOwnerParams)},
     &owner_action},
    {{.name = "wait_for",
      .doc = "block until a port is listening, optionally owned by a process tree",
      .params = kWaitParams,
      .param_count = std::size(kWaitParams)},
     &wait_for_action},
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
