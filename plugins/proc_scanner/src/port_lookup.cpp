#include "port_lookup.hpp"

#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <cstdio>
#include <sonda/plugin.hpp>
#include <thread>

#include "proc_table.hpp"
#include "scan.hpp"
#include "socket_table.hpp"
#include "sonda_common/net.hpp"

namespace sonda::proc_scanner {
namespace {

using nlohmann::json;

// TCP: listening or bound-only (CLOSE with a local port); UDP: any socket
// bound to the port.
bool holds_port(const SocketEntry& s, int port) {
  if (s.local_port != port) {
    return false;
  }
  return s.protocol == IPPROTO_UDP || s.state == 10 || s.state == 7;
}

SocketList sockets_on_port(int port, bool tcp, bool listening_only) {
  SocketList all;
  SocketSource source = SocketSource::kSockDiag;
  std::string fallback_reason;
  try {
    collect_inet_sockets(current_netns(), tcp, !tcp, false, all, source, fallback_reason);
  } catch (const std::exception& e) {
    throw StepError(std::string("proc_scanner: cannot read the socket table: ") + e.what());
  }
  SocketList hits;
  for (const SocketEntry& s : all) {
    if (listening_only ? (s.local_port == port && is_listening(s)) : holds_port(s, port)) {
      hits.push_back(s);
    }
  }
  return hits;
}

/// The port's holders in the other network namespaces this host has (named
/// ones under /run/netns, Docker's, and those of running processes), from an
/// all-namespace scan: [{netns, netns_name?, local, state, owners}].
json held_elsewhere(int port, const std::string& protocol) {
  json record;
  try {
    record = run_scan(ScanOptions::bind(
        {{"port", port}, {"protocol", protocol}, {"all_netns", true}, {"identify", false}}));
  } catch (const std::exception&) {
    return json::array();  // a best-effort hint: the answer for this namespace stands
  }
  inline_owner_details(record);  // `elsewhere` names owners whole, as `owners` does
  std::map<uint64_t, json> names;
  for (const json& ns : record.value("namespaces", json::array())) {
    names[ns.value("inode", uint64_t{0})] = ns;
  }
  uint64_t own = 0;
  for (const auto& [inode, ns] : names) {
    if (ns.value("own", false)) {
      own = inode;
    }
  }
  json out = json::array();
  for (const json& sock : record.value("sockets", json::array())) {
    const uint64_t netns = sock.value("netns", uint64_t{0});
    const json local = sock.value("local", json::object());
    const std::string state = sock.value("state", std::string());
    const bool holds = local.value("port", 0) == port &&
                       (protocol == "udp" || state == "LISTEN" || state == "CLOSE");
    if (!holds || netns == own) {
      continue;
    }
    json entry = {{"netns", netns},
                  {"local", local},
                  {"state", state},
                  {"owners", sock.value("owners", json::array())}};
    const json& ns = names[netns];
    if (ns.contains("name")) {
      entry["netns_name"] = ns["name"];
    }
    out.push_back(std::move(entry));
  }
  return out;
}

/// A listener on the port in another namespace, for wait_for with
/// all_netns (owned by one of `tree` when it is not empty); null when none.
json listening_elsewhere(const WaitSpec& spec, const std::vector<int>& tree) {
  json record = run_scan(ScanOptions::bind({{"port", spec.port},
                                                 {"protocol", spec.protocol},
                                                 {"all_netns", true},
                                                 {"listening", true},
                                                 {"identify", false}}));
  inline_owner_details(record);  // the answer carries the owner's container
  std::map<uint64_t, json> names;
  uint64_t own = 0;
  for (const json& ns : record.value("namespaces", json::array())) {
    names[ns.value("inode", uint64_t{0})] = ns;
    if (ns.value("own", false)) {
      own = ns.value("inode", uint64_t{0});
    }
  }
  for (const json& sock : record.value("sockets", json::array())) {
    const uint64_t netns = sock.value("netns", uint64_t{0});
    if (netns == own || sock["local"].value("port", 0) != spec.port) {
      continue;
    }
    const json owners = sock.value("owners", json::array());
    const json* owner = nullptr;
    for (const json& o : owners) {
      if (tree.empty() || std::find(tree.begin(), tree.end(), o.value("pid", 0)) != tree.end()) {
        owner = &o;
        break;
      }
    }
    if (!tree.empty() && owner == nullptr) {
      continue;
    }
    json found = {{"port", spec.port},
                  {"protocol", spec.protocol},
                  {"pid", owner != nullptr ? (*owner)["pid"] : json(nullptr)},
                  {"process", owner != nullptr ? (*owner)["process"] : json(nullptr)},
                  {"local", sock["local"]["address"].get<std::string>() + ":" +
                                std::to_string(spec.port)},
                  {"netns", netns}};
    if (names[netns].contains("name")) {
      found["netns_name"] = names[netns]["name"];
    }
    if (owner != nullptr && owner->contains("container")) {
      found["container"] = (*owner)["container"];
    }
    return found;
  }
  return nullptr;
}

/// "in network namespace blue by python3 (pid 7)" for the summary.
std::string elsewhere_text(const json& elsewhere) {
  std::string text;
  for (const json& e : elsewhere) {
    std::string who;
    for (const json& o : e["owners"]) {
      who += (who.empty() ? "" : ", ") + o.value("process", std::string("?")) + " (pid " +
             std::to_string(o.value("pid", 0)) + ")";
      if (o.contains("container") && o["container"].contains("name")) {
        who += " in container " + o["container"]["name"].get<std::string>();
      }
    }
    text += (text.empty() ? "" : "; ") + std::string("in network namespace ") +
            (e.contains("netns_name") ? e["netns_name"].get<std::string>() + " (" : "") +
            std::to_string(e["netns"].get<uint64_t>()) + (e.contains("netns_name") ? ")" : "") +
            (who.empty() ? "" : " by " + who);
  }
  return text;
}

}  // namespace

std::string format_duration_ns(int64_t ns) {
  char buf[64];
  if (ns % 1'000'000'000 == 0) {
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(ns / 1'000'000'000));
  } else if (ns >= 1'000'000'000) {
    std::snprintf(buf, sizeof buf, "%.3gs", static_cast<double>(ns) / 1e9);
  } else if (ns % 1'000'000 == 0) {
    std::snprintf(buf, sizeof buf, "%lldms", static_cast<long long>(ns / 1'000'000));
  } else {
    std::snprintf(buf, sizeof buf, "%lldus", static_cast<long long>(ns / 1000));
  }
  return buf;
}

json find_port_owner(int port, const std::string& protocol, bool all_netns) {
  const SocketList hits = sockets_on_port(port, protocol == "tcp", false);
  json record = {{"port", port}, {"protocol", protocol}, {"found", !hits.empty()}};
  json owners = json::array();
  std::vector<std::string> names;
  if (!hits.empty()) {
    OwnerIndex index = walk_proc(WalkOptions{});
    const bool containerised =
        std::any_of(index.processes.begin(), index.processes.end(),
                    [](const ProcessInfo& p) {
                      return !p.cgroup.container_runtime.empty() || p.comm == "docker-proxy";
                    });
    const ContainerDirectory containers =
        containerised ? ContainerDirectory::load(docker_roots_of(index.processes))
                      : ContainerDirectory{};
    attach_containers(containers, index.processes);
    for (const SocketEntry& s : hits) {
      const auto [first, last] = index.owners_of(s.inode);
      for (size_t i = first; s.inode != 0 && i < last; ++i) {
        const ProcessInfo& p = index.processes[index.inode_owners[i].second];
        owners.push_back({{"pid", p.pid},
                          {"process", p.comm},
                          {"exe", p.exe},
                          {"cmdline", p.cmdline},
                          {"user", p.user},
                          {"uid", p.uid},
                          {"state", state_name(s.protocol, s.state)},
                          {"local", format_endpoint(s.family, s.local_addr, s.local_port)},
                          {"netns", p.netns}});
        std::string who = p.comm + " (pid " + std::to_string(p.pid) + ")";
        if (!p.cgroup.container_runtime.empty()) {
          owners.back()["container"] = container_json(p);
          who += " in container " + (p.container != nullptr ? container_label(*p.container)
                                                            : p.cgroup.container_id.substr(0, 12));
        }
        if (const auto f = docker_proxy_forward(p, containers)) {
          owners.back()["forwards_to"] = forward_json(*f);
          who += " forwarding to " +
                 (f->container != nullptr ? "container " + f->container->name + " " : "") +
                 f->address + ":" + std::to_string(f->port);
        }
        if (std::find(names.begin(), names.end(), who) == names.end()) {
          names.push_back(who);
        }
      }
    }
  }
  // Free here is not free everywhere: a container's or a namespace's
  // listener holds "the same" port in its own stack.
  json elsewhere = (all_netns || hits.empty()) ? held_elsewhere(port, protocol) : json::array();
  std::string summary = "port " + std::to_string(port) + "/" + protocol;
  if (hits.empty()) {
    summary += elsewhere.empty() ? " is free" : " is free in this network namespace, but held " + elsewhere_text(elsewhere);
  } else if (names.empty()) {
    summary += ::geteuid() == 0 ? " is in use, but no process holds it in this pid namespace"
                                : " is in use (owner not visible without root)";
  } else {
    summary += " is in use by ";
    for (size_t i = 0; i < names.size(); ++i) {
      summary += (i == 0 ? "" : ", ") + names[i];
    }
  }
  if (!hits.empty() && !elsewhere.empty()) {
    summary += "; also held " + elsewhere_text(elsewhere);
  }
  record["owners"] = std::move(owners);
  if (all_netns || !elsewhere.empty()) {
    record["elsewhere"] = std::move(elsewhere);
  }
  record["summary"] = summary;
  return record;
}

json wait_for_port(const WaitSpec& spec, const std::function<bool()>& should_stop) {
  const int64_t start_ns = common::monotonic_ns();
  const bool tcp = spec.protocol == "tcp";
  const std::string what = std::to_string(spec.port) + "/" + spec.protocol +
                           (spec.pid ? " owned by pid " + std::to_string(*spec.pid) +
                                                " or its children"
                                          : "");
  for (;;) {
    const SocketList hits = sockets_on_port(spec.port, tcp, true);
    if (!hits.empty()) {
      WalkOptions walk;
      if (spec.pid) {
        walk.only_pids = process_tree(*spec.pid);
      }
      const OwnerIndex index = walk_proc(walk);
      for (const SocketEntry& s : hits) {
        const auto [first, last] = index.owners_of(s.inode);
        if (spec.pid && (s.inode == 0 || first == last)) {
          continue;  // listening, but not by the process tree we wait for
        }
        json record = {{"port", spec.port},
                       {"protocol", spec.protocol},
                       {"pid", nullptr},
                       {"process", nullptr},
                       {"local", format_endpoint(s.family, s.local_addr, s.local_port)},
                       {"waited_ns", common::monotonic_ns() - start_ns}};
        if (s.inode != 0 && first != last) {
          const ProcessInfo& p = index.processes[index.inode_owners[first].second];
          record["pid"] = p.pid;
          record["process"] = p.comm;
        }
        return record;
      }
    }
    if (spec.all_netns) {
      json found = listening_elsewhere(spec, spec.pid ? process_tree(*spec.pid)
                                                           : std::vector<int>{});
      if (!found.is_null()) {
        found["waited_ns"] = common::monotonic_ns() - start_ns;
        return found;
      }
    }
    const int64_t waited_ns = common::monotonic_ns() - start_ns;
    const json details = {{"port", spec.port}, {"protocol", spec.protocol},
                          {"waited_ns", waited_ns}};
    if (waited_ns >= spec.timeout_ns) {
      const json elsewhere = held_elsewhere(spec.port, spec.protocol);
      json d = details;
      if (!elsewhere.empty()) {
        d["elsewhere"] = elsewhere;
      }
      throw StepError("nothing listening on " + what + " after " + format_duration_ns(spec.timeout_ns) +
                          (elsewhere.empty() ? "" : " (the port is held " + elsewhere_text(elsewhere) + ")"),
                      "timeout", d);
    }
    if (should_stop()) {
      throw StepError("stopped waiting for " + what + " after " + format_duration_ns(waited_ns),
                      "cancelled", details);
    }
    const int64_t sleep_ns = std::min(spec.interval_ns, spec.timeout_ns - waited_ns);
    std::this_thread::sleep_for(std::chrono::nanoseconds(sleep_ns));
  }
}

}  // namespace sonda::proc_scanner
