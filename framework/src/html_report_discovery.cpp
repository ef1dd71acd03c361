// Discovery tables: what iface_scanner and proc_scanner found, as `ip addr`,
// `ss -tuanp` and the services list would show it. A scan of tens of
// thousands of sockets is summarised (counts by protocol and state, by
// owner) and only its first rows are listed; every row stays in run.json.
#include <algorithm>
#include <map>
#include <set>

#include "html_report_internal.hpp"
#include "report.hpp"

namespace sonda::html {

namespace {

/// Cell with one escaped line per entry.
void lines_cell(std::string& out, const std::vector<std::string>& lines, const char* cls = nullptr) {
  out += cls != nullptr ? std::string("<td class=\"") + cls + "\">" : std::string("<td>");
  for (size_t i = 0; i < lines.size(); ++i) {
    out += i > 0 ? "<br>" : "";
    escape_into(out, lines[i]);
  }
  out += "</td>";
}

void header(std::string& out, std::initializer_list<const char*> names) {
  out += "<thead><tr>";
  for (const char* n : names) {
    out += "<th>";
    out += n;
    out += "</th>";
  }
  out += "</tr></thead><tbody>\n";
}

std::string count_text(const json& v) { return v.is_number() ? format_value(v.get<double>(), "") : scalar_text(v); }

/// "127.0.0.1:80", "[::1]:80", "[fe80::1%eth0]:5353" as ss prints them.
std::string endpoint_text(const json& ep) {
  if (!ep.is_object()) {
    return scalar_text(ep);
  }
  std::string addr = scalar_text(member(ep, "address"));
  const std::string iface = scalar_text(member(ep, "interface"));
  if (!iface.empty()) addr += "%" + iface;
  if (addr.find(':') != std::string::npos) addr = "[" + addr + "]";
  return addr + ":" + scalar_text(member(ep, "port"));
}

/// "python3 (pid 4242, root)" per owner.
std::vector<std::string> owner_lines(const json& owners) {
  std::vector<std::string> lines;
  for (const json& o : owners) {
    std::string line = scalar_text(member(o, "process")) + " (pid " + scalar_text(member(o, "pid"));
    const std::string user = scalar_text(member(o, "user"));
    line += user.empty() ? ")" : ", " + user + ")";
    lines.push_back(std::move(line));
  }
  return lines;
}

/// "docker 3f2a9c1b7e04" (short id), or the systemd unit, or "".
std::string container_text(const json& owner) {
  const json& c = member(owner, "container");
  if (c.is_object()) {
    const std::string id = scalar_text(member(c, "id"));
    return scalar_text(member(c, "runtime")) + " " + id.substr(0, 12);
  }
  return "";
}

/// Each owning process by pid: the scan record's `processes` (its sockets
/// list owners as {pid, process} only), or, in a record from before that
/// table, the owner objects the sockets repeat.
std::map<int64_t, const json*> owners_by_pid(const json& record) {
  std::map<int64_t, const json*> out;
  auto add = [&out](const json& o) {
    const json& pid = member(o, "pid");
    if (pid.is_number_integer()) out.emplace(pid.get<int64_t>(), &o);
  };
  if (const json& processes = member(record, "processes"); processes.is_array()) {
    for (const json& p : processes) add(p);
    return out;
  }
  for (const json& s : member(record, "sockets")) {
    for (const json& o : member(s, "owners")) add(o);
  }
  return out;
}

/// A socket's owner as its whole process entry (the owner itself when the
/// table has none).
const json& owner_details(const json& owner, const std::map<int64_t, const json*>& by_pid) {
  const json& pid = member(owner, "pid");
  if (!pid.is_number_integer()) return owner;
  const auto it = by_pid.find(pid.get<int64_t>());
  return it != by_pid.end() ? *it->second : owner;
}

void summary_list(std::string& out, const json& record) {
  const json& counts = member(record, "counts");
  const json& timing = member(record, "timing_ns");
  std::vector<std::pair<std::string, std::string>> items = {
      {"sockets", count_text(member(counts, "sockets")) + " (tcp " + count_text(member(counts, "tcp")) + ", udp " +
                      count_text(member(counts, "udp")) + "; before filters " +
                      count_text(member(counts, "sockets_before_filters")) + ")"},
      {"listening", count_text(member(counts, "listening"))},
      {"with owners", count_text(member(counts, "with_owners")) + " (owner hidden: " +
                          count_text(member(counts, "owner_hidden")) + ")"},
      {"processes", count_text(member(counts, "processes_seen")) + " seen, " +
                        count_text(member(counts, "processes_with_sockets")) + " with sockets, " +
                        count_text(member(counts, "socket_fds")) + " socket fds"},
      {"kernel threads", count_text(member(counts, "kernel_threads"))},
      {"sources", "sockets: " + scalar_text(member(record, "source")) +
                      ", owners: " + scalar_text(member(record, "owner_source")) +
                      (member(record, "owner_source_note").is_string()
                           ? " (" + scalar_text(member(record, "owner_source_note")) + ")"
                           : "")},
  };
  if (timing.is_object()) {
    std::string t;
    for (const auto& [k, v] : timing.items()) {
      t += (t.empty() ? "" : ", ") + k + " " + format_in_unit(v, "ns");
    }
    items.emplace_back("timing", t);
  }
  if (member(record, "partial") == true) {
    items.emplace_back("partial", scalar_text(member(record, "partial_reason")));
  }
  out += "<dl class=\"facts\">";
  for (const auto& [k, v] : items) {
    out += "<dt>" + escape(k) + "</dt><dd>" + escape(v) + "</dd>";
  }
  out += "</dl>\n";
}

/// high, medium, low, none: identified applications first.
int confidence_rank(const json& service) {
  static const char* const kOrder[] = {"high", "medium", "low"};
  const json& c = member(service, "confidence");
  for (int i = 0; i < 3; ++i) {
    if (c == kOrder[i]) return i;
  }
  return 3;
}

void services_table(std::string& out, const json& record, const std::map<int64_t, const json*>& owners) {
  const json& services = member(record, "services");
  std::vector<const json*> sorted;
  size_t identified = 0;
  for (const json& s : services) {
    sorted.push_back(&s);
    identified += confidence_rank(s) < 3 ? 1 : 0;
  }
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const json* a, const json* b) { return confidence_rank(*a) < confidence_rank(*b); });
  out += "<details" + std::string(sorted.size() <= 60 ? " open" : "") + "><summary>Listening services: " +
         std::to_string(sorted.size()) + ", " + std::to_string(identified) +
         " identified (identified first)</summary>\n";
  if (sorted.empty()) {
    out += "</details>\n";
    return;
  }
  out += "<table class=\"services\">";
  header(out, {"port", "addresses", "process", "user", "container", "application", "confidence", "evidence"});
  size_t shown = 0;
  for (const json* service : sorted) {
    const json& s = *service;
    if (++shown > kSocketRowsShown) {
      out += "<tr><td colspan=\"8\" class=\"muted\">" + std::to_string(sorted.size() - kSocketRowsShown) +
             " more services: every one is in run.json</td></tr>\n";
      break;
    }
    out += "<tr>";
    std::string port = scalar_text(member(s, "port")) + "/" + scalar_text(member(s, "protocol"));
    if (member(s, "port_name").is_string()) port += " (" + scalar_text(member(s, "port_name")) + ")";
    cell(out, port, "num");
    std::vector<std::string> addrs;
    for (const json& a : member(s, "addresses")) addrs.push_back(scalar_text(a));
    lines_cell(out, addrs, "code");
    std::string pids;
    std::set<std::string> users;
    std::set<std::string> containers;
    for (const json& p : member(s, "pids")) {
      pids += (pids.empty() ? "" : ", ") + scalar_text(p);
      auto it = p.is_number_integer() ? owners.find(p.get<int64_t>()) : owners.end();
      if (it != owners.end()) {
        if (const std::string u = scalar_text(member(*it->second, "user")); !u.empty()) users.insert(u);
        if (const std::string c = container_text(*it->second); !c.empty()) containers.insert(c);
      }
    }
    const std::string process = scalar_text(member(s, "process"));
    cell(out, process.empty() ? "(owner not visible)" : process + (pids.empty() ? "" : " (pid " + pids + ")"),
         "nowrap");
    lines_cell(out, {users.begin(), users.end()});
    lines_cell(out, {containers.begin(), containers.end()});
    std::string app = scalar_text(member(s, "application"));
    if (member(s, "catalog_id").is_string()) app += " [" + scalar_text(member(s, "catalog_id")) + "]";
    if (const json& banner = member(s, "banner"); banner.is_object()) {
      app += "\nbanner: " + scalar_text(member(banner, "text"));
    }
    cell(out, app.empty() ? "unknown" : app, "pre");
    cell(out, scalar_text(member(s, "confidence")), ("conf conf-" + scalar_text(member(s, "confidence"))).c_str());
    std::vector<std::string> evidence;
    for (const json& e : member(s, "evidence")) evidence.push_back(scalar_text(e));
    lines_cell(out, evidence, "reason");
    out += "</tr>\n";
  }
  out += "</tbody></table></details>\n";
}

void namespaces_table(std::string& out, const json& record) {
  const json& namespaces = member(record, "namespaces");
  if (namespaces.size() < 2) {
    return;
  }
  out += "<h4>Network namespaces (" + std::to_string(namespaces.size()) + ")</h4>\n<table>";
  header(out, {"inode", "name", "path", "sockets", "source"});
  for (const json& n : namespaces) {
    out += "<tr>";
    cell(out, scalar_text(member(n, "inode")), "num");
    cell(out, member(n, "own") == true ? "(sonda's own)" : scalar_text(member(n, "name")));
    cell(out, scalar_text(member(n, "path")), "code");
    cell(out, scalar_text(member(n, "sockets")), "num");
    cell(out, scalar_text(member(n, "source")));
    out += "</tr>\n";
  }
  out += "</tbody></table>\n";
}

/// proc_scanner's kernel-thread table: {count, groups: [{name, count, what,
/// sockets, queues?: [{queue, what}]}], init: {pid, process, what}}.
void kernel_thread_groups(std::string& out, const json& threads) {
  const json& groups = member(threads, "groups");
  // Reference material more than a finding: folded, like a long services list.
  out += "<details><summary>Kernel threads: " + scalar_text(member(threads, "count")) + " in " +
         std::to_string(groups.size()) + " families, what each does</summary>\n<table class=\"threads\">";
  header(out, {"family", "threads", "what it does"});
  std::string sockets;
  for (const json& g : groups) {
    out += "<tr>";
    cell(out, scalar_text(member(g, "name")), "code");
    cell(out, scalar_text(member(g, "count")), "num");
    std::vector<std::string> what = {member(g, "what").is_string() ? scalar_text(member(g, "what"))
                                                                   : "(not in the catalog)"};
    for (const json& q : member(g, "queues")) {
      what.push_back(scalar_text(member(q, "queue")) + ": " +
                     (member(q, "what").is_string() ? scalar_text(member(q, "what")) : "(not in the catalog)"));
    }
    lines_cell(out, what, "reason");
    out += "</tr>\n";
    if (sockets.empty()) sockets = scalar_text(member(g, "sockets"));
  }
  out += "</tbody></table>\n";
  const json& init = member(threads, "init");
  if (init.is_object() || !sockets.empty()) {
    out += "<p class=\"muted\">";
    if (!sockets.empty()) out += "Sockets: " + escape(sockets) + ". ";
    if (init.is_object()) {
      out += "pid " + escape(scalar_text(member(init, "pid"))) + ": " + escape(scalar_text(member(init, "process"))) +
             " &mdash; " + escape(scalar_text(member(init, "what")));
    }
    out += "</p>\n";
  }
  out += "</details>\n";
}

/// A list of objects (kernel threads in another shape) as a table of their
/// scalar fields, the first kSocketRowsShown rows.
void generic_rows(std::string& out, const char* title, const json& rows) {
  if (!rows.is_array() || rows.empty()) {
    return;
  }
  std::vector<std::string> keys;
  for (const auto& [k, v] : rows.front().items()) {
    if (!v.is_structured()) keys.push_back(k);
  }
  out += "<h4>" + escape(title) + " (" + std::to_string(rows.size()) + ")</h4>\n<table><thead><tr>";
  for (const auto& k : keys) out += "<th>" + escape(k) + "</th>";
  out += "</tr></thead><tbody>\n";
  for (size_t i = 0; i < rows.size() && i < kSocketRowsShown; ++i) {
    out += "<tr>";
    for (const auto& k : keys) cell(out, scalar_text(member(rows[i], k)));
    out += "</tr>\n";
  }
  out += "</tbody></table>\n";
}

/// Counts by `kind` (protocol, or a UNIX socket's type) x state, and the
/// processes holding most sockets.
void socket_summary(std::string& out, const json& sockets, const char* kind) {
  std::map<std::string, std::map<std::string, size_t>> by_proto_state;
  std::set<std::string> states;
  std::map<std::string, std::pair<size_t, std::set<std::string>>> by_process;  // sockets, pids
  for (const json& s : sockets) {
    const std::string state = scalar_text(member(s, "state"));
    ++by_proto_state[scalar_text(member(s, kind))][state];
    states.insert(state);
    const json& owners = member(s, "owners");
    if (owners.empty()) {
      auto& e = by_process[member(s, "owner_hidden") == true ? "(owner hidden)" : "(no owner: kernel-held)"];
      ++e.first;
    }
    for (const json& o : owners) {
      auto& e = by_process[scalar_text(member(o, "process"))];
      ++e.first;
      e.second.insert(scalar_text(member(o, "pid")));
    }
  }
  out += "<div class=\"side-by-side\"><table class=\"matrix\"><thead><tr><th>";
  out += kind;
  out += "</th>";
  for (const auto& st : states) out += "<th>" + escape(st) + "</th>";
  out += "<th>total</th></tr></thead><tbody>\n";
  for (const auto& [proto, counts] : by_proto_state) {
    out += "<tr><th>" + escape(proto) + "</th>";
    size_t total = 0;
    for (const auto& st : states) {
      auto it = counts.find(st);
      const size_t n = it == counts.end() ? 0 : it->second;
      total += n;
      cell(out, n == 0 ? "" : std::to_string(n), "num");
    }
    cell(out, std::to_string(total), "num");
    out += "</tr>\n";
  }
  out += "</tbody></table>\n";
  std::vector<std::pair<std::string, std::pair<size_t, std::set<std::string>>>> top(by_process.begin(),
                                                                                    by_process.end());
  std::sort(top.begin(), top.end(), [](const auto& a, const auto& b) { return a.second.first > b.second.first; });
  out += "<table class=\"owners\"><thead><tr><th>process</th><th>pids</th><th>sockets</th></tr></thead><tbody>\n";
  for (size_t i = 0; i < top.size() && i < 15; ++i) {
    out += "<tr>";
    cell(out, top[i].first);
    cell(out, top[i].second.second.empty() ? "" : std::to_string(top[i].second.second.size()), "num");
    cell(out, std::to_string(top[i].second.first), "num");
    out += "</tr>\n";
  }
  if (top.size() > 15) {
    out += "<tr><td colspan=\"3\" class=\"muted\">" + std::to_string(top.size() - 15) + " more processes</td></tr>\n";
  }
  out += "</tbody></table></div>\n";
}

void socket_rows(std::string& out, const json& sockets, const std::map<int64_t, const json*>& by_pid) {
  const size_t shown = std::min(sockets.size(), kSocketRowsShown);
  bool several_netns = false;
  for (size_t i = 1; i < sockets.size(); ++i) {
    if (member(sockets[i], "netns") != member(sockets[0], "netns")) {
      several_netns = true;
      break;
    }
  }
  out += "<details" + std::string(sockets.size() <= 40 ? " open" : "") + "><summary>Sockets: the first " +
         std::to_string(shown) + " of " + std::to_string(sockets.size()) +
         (shown < sockets.size() ? " (every socket is in the step's record)" : "") + "</summary>\n<table class=\"sockets\">";
  if (several_netns) {
    header(out, {"proto", "state", "local", "remote", "recv-q", "send-q", "owner", "container", "netns"});
  } else {
    header(out, {"proto", "state", "local", "remote", "recv-q", "send-q", "owner", "container"});
  }
  for (size_t i = 0; i < shown; ++i) {
    const json& s = sockets[i];
    out += "<tr>";
    cell(out, scalar_text(member(s, "protocol")) + (member(s, "family") == "ipv6" ? "6" : ""));
    cell(out, scalar_text(member(s, "state")));
    cell(out, endpoint_text(member(s, "local")), "code");
    cell(out, endpoint_text(member(s, "remote")), "code");
    cell(out, scalar_text(member(s, "recv_q")), "num");
    cell(out, scalar_text(member(s, "send_q")), "num");
    json owners = json::array();
    for (const json& o : member(s, "owners")) owners.push_back(owner_details(o, by_pid));
    lines_cell(out, owners.empty() && member(s, "owner_hidden") == true ? std::vector<std::string>{"(hidden)"}
                                                                       : owner_lines(owners));
    std::vector<std::string> containers;
    for (const json& o : owners) {
      if (std::string c = container_text(o); !c.empty()) containers.push_back(std::move(c));
    }
    lines_cell(out, containers);
    if (several_netns) cell(out, scalar_text(member(s, "netns")), "num");
    out += "</tr>\n";
  }
  out += "</tbody></table></details>\n";
}

}  // namespace

void interfaces_table(std::string& out, const json& record) {
  const json& interfaces = member(record, "interfaces");
  out += "<table class=\"interfaces\">";
  header(out, {"name", "state", "MTU", "MAC", "addresses", "rx", "tx", "errors / dropped"});
  for (const json& i : interfaces) {
    const json& c = member(i, "counters");
    auto num = [&](const char* key) { return member(c, key).is_number() ? member(c, key).get<double>() : 0.0; };
    out += "<tr>";
    cell(out, scalar_text(member(i, "name")) + " (" + scalar_text(member(i, "link_type")) + ")");
    std::string flags;
    for (const json& f : member(i, "flags")) flags += (flags.empty() ? "" : ",") + scalar_text(f);
    std::vector<std::string> state = {scalar_text(member(i, "operstate"))};
    if (!flags.empty()) state.push_back("<" + flags + ">");
    lines_cell(out, state);
    cell(out, scalar_text(member(i, "mtu")), "num");
    cell(out, scalar_text(member(i, "mac")), "code");
    std::vector<std::string> addrs;
    for (const json& a : member(i, "addresses")) {
      const std::string scope = scalar_text(member(a, "scope"));
      addrs.push_back(scalar_text(member(a, "cidr")) + (scope.empty() ? "" : "  " + scope));
    }
    lines_cell(out, addrs, "code");
    lines_cell(out, {format_value(num("rx_bytes"), "bytes"), format_value(num("rx_packets"), "") + " packets"}, "num");
    lines_cell(out, {format_value(num("tx_bytes"), "bytes"), format_value(num("tx_packets"), "") + " packets"}, "num");
    lines_cell(out,
               {"rx " + format_value(num("rx_errors"), "") + " / " + format_value(num("rx_dropped"), ""),
                "tx " + format_value(num("tx_errors"), "") + " / " + format_value(num("tx_dropped"), "")},
               "num");
    out += "</tr>\n";
  }
  out += "</tbody></table>\n";
}

void proc_scan_tables(std::string& out, const json& record) {
  const json& sockets = member(record, "sockets");
  const std::map<int64_t, const json*> by_pid = owners_by_pid(record);
  summary_list(out, record);
  services_table(out, record, by_pid);
  namespaces_table(out, record);
  if (const json& threads = member(record, "kernel_threads"); member(threads, "groups").is_array()) {
    kernel_thread_groups(out, threads);
  } else {
    generic_rows(out, "Kernel threads", threads);
  }
  out += "<h4>Sockets by protocol and state, and by owner</h4>\n";
  socket_summary(out, sockets, "protocol");
  socket_rows(out, sockets, by_pid);
  const json& unix_sockets = member(record, "unix_sockets");
  if (unix_sockets.is_array() && !unix_sockets.empty()) {
    out += "<h4>UNIX sockets (" + std::to_string(unix_sockets.size()) + ")</h4>\n";
    socket_summary(out, unix_sockets, "type");
  }
}

}  // namespace sonda::html
