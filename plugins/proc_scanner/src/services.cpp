#include "services.hpp"

#include <netinet/in.h>

#include <algorithm>
#include <map>
#include <sonda/plugin.hpp>
#include <tuple>

#include "banner.hpp"

namespace sonda::proc_scanner {
namespace {

using nlohmann::json;

struct ServiceKey {
  uint64_t netns;
  uint8_t protocol;
  uint16_t port;
  std::vector<int> pids;
  bool operator<(const ServiceKey& o) const {
    return std::tie(netns, protocol, port, pids) < std::tie(o.netns, o.protocol, o.port, o.pids);
  }
};

struct ServiceGroup {
  std::vector<const SocketEntry*> sockets;
  std::vector<const ProcessInfo*> owners;
};

std::string join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (const std::string& p : parts) {
    if (!out.empty()) {
      out += sep;
    }
    out += p;
  }
  return out;
}

}  // namespace

Catalog load_catalog(const std::vector<std::string>& extra_files) {
  Catalog catalog;
  try {
    const std::string shipped = default_catalog_path();
    if (!shipped.empty()) {
      catalog.load_file(shipped, /*cached=*/true);
    }
    for (const std::string& f : extra_files) {
      catalog.load_file(f);
    }
  } catch (const std::exception& e) {
    throw StepError(std::string("proc_scanner.scan: parameter 'catalog': ") + e.what(),
                    "invalid_param");
  }
  return catalog;
}

json identify_services(const ScanResult& result, const ScanOptions& options,
                       const Catalog& catalog, std::vector<std::string>& summary_lines) {
  return identify_services(result.sockets, result, options, catalog, summary_lines);
}

json identify_services(const SocketList& sockets, const ScanResult& result,
                       const ScanOptions& options, const Catalog& catalog,
                       std::vector<std::string>& summary_lines) {
  std::map<ServiceKey, ServiceGroup> groups;
  for (const SocketEntry& s : sockets) {
    if (!is_listening(s)) {
      continue;
    }
    ServiceKey key{s.netns, s.protocol, s.local_port, {}};
    std::vector<const ProcessInfo*> owners;
    if (s.inode != 0) {
      const auto [first, last] = result.owners.owners_of(s.inode);
      for (size_t i = first; i < last; ++i) {
        const ProcessInfo* p = &result.owners.processes[result.owners.inode_owners[i].second];
        owners.push_back(p);
        key.pids.push_back(p->pid);
      }
    }
    std::sort(key.pids.begin(), key.pids.end());
    ServiceGroup& g = groups[key];
    g.sockets.push_back(&s);
    if (g.owners.empty()) {
      g.owners = std::move(owners);
    }
  }
  json services = json::array();
  // Most listeners of a busy host belong to a few processes: each is
  // matched against the catalog once.
  std::map<const ProcessInfo*, ProcessMatch> matches;
  for (const auto& [key, group] : groups) {
    const std::string protocol = key.protocol == IPPROTO_TCP ? "tcp" : "udp";
    // The parent of a forked server is the one to name: lowest pid.
    const ProcessInfo* main = nullptr;
    for (const ProcessInfo* p : group.owners) {
      if (main == nullptr || p->pid < main->pid) {
        main = p;
      }
    }
    ServiceFacts facts;
    facts.port = key.port;
    facts.protocol = protocol;
    if (main != nullptr) {
      facts.comm = main->comm;
      facts.exe = main->exe;
      facts.cmdline = main->cmdline;
    }
    json banner_json;
    const bool banner_wanted =
        key.protocol == IPPROTO_TCP && key.netns == result.own_netns &&
        std::find(options.banner_ports.begin(), options.banner_ports.end(), key.port) !=
            options.banner_ports.end();
    if (banner_wanted) {
      const BannerResult b =
          read_banner(*group.sockets.front(), options.banner_http, options.banner_timeout_ns);
      facts.banner = b.text;
      facts.banner_http = b.http;
      banner_json = b.error.empty() ? json{{"text", b.text}, {"http", b.http}}
                                    : json{{"error", b.error}};
    }
    auto [m, added] = matches.try_emplace(main);
    if (added) {
      m->second = catalog.match_process(facts);
    }
    const Identification id = catalog.identify(facts, &m->second);
    json addresses = json::array();
    for (const SocketEntry* s : group.sockets) {
      addresses.push_back(format_endpoint(s->family, s->local_addr, s->local_port));
    }
    json service = {{"port", key.port},
                    {"protocol", protocol},
                    {"netns", key.netns},
                    {"addresses", std::move(addresses)},
                    {"pids", key.pids},
                    {"process", main != nullptr ? json(main->comm) : json(nullptr)},
                    {"application", id.entry != nullptr ? json(id.entry->name) : json(nullptr)},
                    {"catalog_id", id.entry != nullptr ? json(id.entry->id) : json(nullptr)},
                    {"port_name", id.port_name.empty() ? json(nullptr) : json(id.port_name)},
                    {"confidence", id.confidence},
                    {"tags", id.tags},
                    {"evidence", id.evidence}};
    if (main != nullptr && !main->cgroup.unit.empty()) {
      service["unit"] = main->cgroup.unit;
      service["evidence"].push_back("systemd unit " + main->cgroup.unit);
    }
    std::string where;  // " in container web1 (busybox:lab)" for the summary
    if (main != nullptr && !main->cgroup.container_runtime.empty()) {
      service["container"] = container_json(*main);
      const std::string label = main->container != nullptr
                                    ? container_label(*main->container)
                                    : main->cgroup.container_id.substr(0, 12);
      where = " in container " + label;
      service["evidence"].push_back("runs in " + main->cgroup.container_runtime + " container " +
                                    label);
    }
    if (main != nullptr) {
      if (const auto f = docker_proxy_forward(*main, result.containers)) {
        service["forwards_to"] = forward_json(*f);
        const std::string to = (f->container != nullptr ? "container " +
                                                              container_label(*f->container) + " "
                                                        : std::string("an address no container has: ")) +
                               f->address + ":" + std::to_string(f->port) + "/" + f->protocol;
        service["evidence"].push_back("docker-proxy publishes this port for " + to);
        where += " -> " + to + " (docker-proxy)";
      }
    }
    if (!banner_json.is_null()) {
      service["banner"] = banner_json;
    }
    std::string who = "(owner not visible)";
    if (main != nullptr) {
      std::vector<std::string> pids;
      for (const int pid : key.pids) {
        pids.push_back(std::to_string(pid));
      }
      who = main->comm + (pids.size() == 1 ? " (pid " : " (pids ") + join(pids, ", ") + ")";
    }
    const bool process_matched = !id.tags.empty() && id.tags.front() == "catalog";
    std::string what = "unknown";
    if (id.entry != nullptr) {
      what = process_matched ? id.entry->name : id.entry->name + "?";
    } else if (!id.port_name.empty()) {
      what = "'" + id.port_name + "' (/etc/services)";
    }
    // /etc/services only names ports; it is shown when it is all we have.
    std::vector<std::string> shown_tags;
    for (const std::string& t : id.tags) {
      if (t != "services" || id.tags.size() == 1) {
        shown_tags.push_back(t);
      }
    }
    std::string line = std::to_string(key.port) + "/" + protocol + " " + who + " -> " + what + " [" +
                       (shown_tags.empty() ? "no evidence" : join(shown_tags, "+")) + ", " +
                       id.confidence + "]" + where;
    service["summary"] = line;  // the scan's summary shows the first few only
    summary_lines.push_back(std::move(line));
    services.push_back(std::move(service));
  }
  return services;
}

}  // namespace sonda::proc_scanner
