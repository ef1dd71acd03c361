// render_scan(): the scan record as the runner stores it.
#include <netinet/in.h>
#include <unistd.h>

#include <map>

#include "scan.hpp"
#include "services.hpp"

namespace sonda::proc_scanner {
namespace {

using nlohmann::json;

json endpoint_json(uint8_t family, const std::array<uint8_t, 16>& addr, uint16_t port) {
  return {{"address", format_address(family, addr)}, {"port", port}};
}

}  // namespace

json render_scan(const ScanResult& result, const ScanOptions& options) {
  const bool root = ::geteuid() == 0;
  const auto euid = static_cast<uint32_t>(::geteuid());
  const SkipCounts& skipped = result.owners.skipped;
  const bool partial = options.owners && !root && skipped.fd_dirs_denied > 0;

  json sockets = json::array();
  sockets.get_ref<json::array_t&>().reserve(result.sockets.size());
  std::map<std::string, int> by_state;
  size_t tcp = 0;
  size_t listening = 0;
  size_t with_owners = 0;
  size_t owner_hidden = 0;
  for (const SocketEntry& s : result.sockets) {
    const char* state = state_name(s.protocol, s.state);
    ++by_state[state];
    tcp += s.protocol == IPPROTO_TCP ? 1 : 0;
    listening += is_listening(s) ? 1 : 0;
    json owners = options.owners ? owners_json(result, s) : json::array();
    json entry = {{"protocol", s.protocol == IPPROTO_TCP ? "tcp" : "udp"},
                  {"family", s.family == AF_INET6 ? "ipv6" : "ipv4"},
                  {"local", endpoint_json(s.family, s.local_addr, s.local_port)},
                  {"remote", endpoint_json(s.family, s.remote_addr, s.remote_port)},
                  {"state", state},
                  {"recv_q", s.recv_q},
                  {"send_q", s.send_q},
                  {"uid", s.uid},
                  {"inode", s.inode},
                  {"netns", s.netns}};
    if (!owners.empty()) {
      ++with_owners;
    } else if (partial && s.inode != 0 && s.uid != euid) {
      // Another user's socket whose /proc/<pid>/fd we may not read.
      entry["owner_hidden"] = true;
      ++owner_hidden;
    }
    entry["owners"] = std::move(owners);
    sockets.push_back(std::move(entry));
  }

  json record;
  record["source"] = source_name(result.source);
  if (!result.fallback_reason.empty()) {
    record["source_note"] = result.fallback_reason;
  }
  record["sockets"] = std::move(sockets);

  std::vector<std::string> summary_lines;
  if (options.identify) {
    const Catalog catalog = load_catalog(options.extra_catalogs);
    record["services"] = identify_services(result, options, catalog, summary_lines);
    record["catalog_files"] = catalog.files();
  } else {
    record["services"] = json::array();
  }

  json namespaces = json::array();
  namespaces.push_back({{"inode", result.own_netns}, {"own", true}});
  for (const NetnsDump& d : result.namespaces) {
    json ns = {{"inode", d.target.inode}, {"path", d.target.path}, {"sockets", d.sockets},
               {"source", source_name(d.source)}};
    if (!d.target.name.empty()) {
      ns["name"] = d.target.name;
    }
    if (d.target.pid != 0) {
      ns["pid"] = d.target.pid;
    }
    if (!d.error.empty()) {
      ns["error"] = d.error;
    }
    namespaces.push_back(std::move(ns));
  }
  record["namespaces"] = std::move(namespaces);

  const size_t total = result.sockets.size();
  record["counts"] = {{"sockets", total},
                      {"tcp", tcp},
                      {"udp", total - tcp},
                      {"listening", listening},
                      {"with_owners", with_owners},
                      {"owner_hidden", owner_hidden},
                      {"by_state", by_state},
                      {"sockets_before_filters", result.sockets_dumped},
                      {"processes_seen", result.owners.processes_seen},
                      {"processes_with_sockets", result.owners.processes.size()},
                      {"kernel_threads", result.owners.kernel_threads},
                      {"socket_fds", result.owners.socket_fds}};
  record["skipped"] = {{"pids_vanished", skipped.pids_vanished},
                       {"pids_reused", skipped.pids_reused},
                       {"fds_vanished", skipped.fds_vanished},
                       {"fd_dirs_denied", skipped.fd_dirs_denied}};
  record["timing_ns"] = {{"socket_dump", result.socket_dump_ns},
                         {"proc_walk", result.proc_walk_ns}};
  record["partial"] = partial;
  if (partial) {
    record["partial_reason"] =
        "running as uid " + std::to_string(euid) + " without root: /proc/<pid>/fd of " +
        std::to_string(skipped.fd_dirs_denied) +
        " processes is unreadable, so other users' sockets are listed without owners "
        "(owner_hidden: true)";
  }
  if (!result.notes.empty()) {
    record["notes"] = result.notes;
  }
  std::string summary = std::to_string(total) + " sockets (" + source_name(result.source) +
                        "), " + std::to_string(summary_lines.size()) + " listening services";
  for (size_t i = 0; i < summary_lines.size(); ++i) {
    summary += (i == 0 ? ": " : "; ") + summary_lines[i];
  }
  record["summary"] = summary;
  return record;
}

}  // namespace sonda::proc_scanner
