#include "report_sections.hpp"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "report.hpp"

namespace sonda {

using json = nlohmann::json;

namespace {

/// obj[key] when obj is a map that has it, else null (records are data from
/// plugins: nothing here may throw on a missing or odd-shaped field).
const json& field(const json& obj, const char* key) {
  static const json kNull;
  if (!obj.is_object()) return kNull;
  const auto it = obj.find(key);
  return it == obj.end() ? kNull : *it;
}

std::string text_of(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return v.dump();
}

std::string count_text(double v) {
  char buf[32];
  if (v >= 1e6) {
    std::snprintf(buf, sizeof buf, "%.1f M", v / 1e6);
  } else {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  }
  return buf;
}

/// "1.04 TiB / 100.6 M pkts" from counters with rx_bytes, rx_packets ...
std::string traffic_text(const json& counters, const std::string& dir) {
  const json& bytes = field(counters, (dir + "_bytes").c_str());
  const json& packets = field(counters, (dir + "_packets").c_str());
  if (!bytes.is_number()) return "";
  std::string text = format_value(bytes.get<double>(), "bytes");
  if (packets.is_number()) text += " / " + count_text(packets.get<double>()) + " pkts";
  return text;
}

std::string missing_note(const std::string& id) {
  return "step '" + id + "' did not run or failed: nothing to show";
}

// ---------------------------------------------------------------- interfaces

json interfaces_section(const ReportSpec& spec, const json& records, json section) {
  const json& record = field(records, spec.step.c_str());
  const json& list = field(record, "interfaces");
  if (!list.is_array()) {
    section["note"] = record.is_null() ? missing_note(spec.step)
                                       : "step '" + spec.step + "' has no interface list (not an iface_scanner.scan)";
    return section;
  }
  json rows = json::array();
  for (const json& i : list) {
    json addresses = json::array();
    for (const json& a : field(i, "addresses").is_array() ? field(i, "addresses") : json::array()) {
      addresses.push_back(text_of(field(a, "cidr")));
    }
    json row = {{"name", text_of(field(i, "name"))},
                {"operstate", text_of(field(i, "operstate"))},
                {"up", field(i, "up").is_boolean() && field(i, "up").get<bool>()},
                {"mtu", field(i, "mtu")},
                {"mac", text_of(field(i, "mac"))},
                {"addresses", addresses},
                {"counters", field(i, "counters")},
                {"changes", json::array()}};
    for (const std::string& w : spec.changes) {
      const json& watch = field(records, w.c_str());
      const json& delta = field(field(watch, "interfaces"), row["name"].get<std::string>().c_str());
      if (delta.is_object()) {
        row["changes"].push_back({{"step", w}, {"elapsed_ns", field(watch, "elapsed_ns")}, {"delta", delta}});
      }
    }
    rows.push_back(std::move(row));
  }
  section["rows"] = std::move(rows);
  json absent = json::array();
  for (const std::string& w : spec.changes) {
    if (field(records, w.c_str()).is_null()) absent.push_back(w);
  }
  if (!absent.empty()) section["note"] = "no counter changes from " + absent.dump() + " (did not run or failed)";
  return section;
}

std::string state_text(const json& row) {
  const std::string oper = row.value("operstate", std::string());
  if (!row.value("up", false)) return "DOWN (admin down)";
  if (oper == "DOWN") return "DOWN (no carrier)";
  return oper;
}

std::string render_interfaces(const json& s) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::vector<std::string>> notes;
  for (const json& r : field(s, "rows")) {
    std::string addresses;
    for (const json& a : field(r, "addresses")) addresses += (addresses.empty() ? "" : " ") + text_of(a);
    rows.push_back({text_of(field(r, "name")), state_text(r), text_of(field(r, "mtu")), text_of(field(r, "mac")),
                    traffic_text(field(r, "counters"), "rx"), traffic_text(field(r, "counters"), "tx")});
    std::vector<std::string> lines = {"addresses: " + (addresses.empty() ? std::string("none") : addresses)};
    const json& c = field(r, "counters");
    for (const char* k : {"rx_errors", "rx_dropped", "tx_errors", "tx_dropped"}) {
      if (field(c, k).is_number() && field(c, k).get<double>() > 0) {
        lines.push_back(std::string(k) + " " + text_of(field(c, k)));
      }
    }
    for (const json& ch : field(r, "changes")) {
      const json& d = field(ch, "delta");
      std::string line = "during " + text_of(field(ch, "step"));
      if (field(ch, "elapsed_ns").is_number()) line += " (" + format_value(field(ch, "elapsed_ns").get<double>(), "ns") + ")";
      line += ": rx +" + traffic_text(d, "rx") + ", tx +" + traffic_text(d, "tx");
      if (field(d, "rx_bits_per_sec").is_number()) {
        line += " (rx " + format_value(field(d, "rx_bits_per_sec").get<double>(), "bits_per_sec") + ")";
      }
      lines.push_back(line);
    }
    notes.push_back(lines);
  }
  return text_table({"INTERFACE", "STATE", "MTU", "MAC", "RX", "TX"}, rows, 110, notes);
}

// ---------------------------------------------------------------- services

/// A scan socket's owner {pid, process} as its whole entry in the record's
/// `processes` (a record from before that table: the owner as it is).
const json& owner_details(const json& record, const json& owner) {
  const json& processes = field(record, "processes");
  if (!processes.is_array()) return owner;
  for (const json& p : processes) {
    if (field(p, "pid") == field(owner, "pid")) return p;
  }
  return owner;
}

/// The sockets' owners of one service (same port, protocol, namespace).
std::vector<json> service_owners(const json& record, const json& service) {
  std::vector<json> owners;
  const json& pids = field(service, "pids");
  for (const json& sock : field(record, "sockets").is_array() ? field(record, "sockets") : json::array()) {
    if (field(field(sock, "local"), "port") != field(service, "port") ||
        field(sock, "protocol") != field(service, "protocol") || field(sock, "netns") != field(service, "netns")) {
      continue;
    }
    for (const json& o : field(sock, "owners").is_array() ? field(sock, "owners") : json::array()) {
      const bool listed = pids.is_array() && std::find(pids.begin(), pids.end(), field(o, "pid")) != pids.end();
      const bool seen = std::any_of(owners.begin(), owners.end(), [&](const json& x) { return x["pid"] == o["pid"]; });
      if (listed && !seen) owners.push_back(owner_details(record, o));
    }
  }
  return owners;
}

std::string netns_text(const json& record, const json& netns) {
  for (const json& n : field(record, "namespaces").is_array() ? field(record, "namespaces") : json::array()) {
    if (field(n, "inode") == netns) {
      if (field(n, "own").is_boolean() && field(n, "own").get<bool>()) return "";
      return field(n, "name").is_string() ? "netns " + n["name"].get<std::string>() : "netns " + text_of(netns);
    }
  }
  return "";
}

json services_section(const ReportSpec& spec, const json& records, json section) {
  const json& record = field(records, spec.step.c_str());
  const json& list = field(record, "services");
  if (!list.is_array()) {
    section["note"] = record.is_null() ? missing_note(spec.step)
                                       : "step '" + spec.step + "' has no services (not a proc_scanner.scan with identify)";
    return section;
  }
  json rows = json::array();
  for (const json& svc : list) {
    json owners = json::array();
    std::string user;
    std::string container;
    for (const json& o : service_owners(record, svc)) {
      owners.push_back({{"pid", field(o, "pid")}, {"process", field(o, "process")}, {"user", field(o, "user")},
                        {"container", field(o, "container")}, {"unit", field(o, "unit")}});
      if (user.empty()) user = text_of(field(o, "user"));
      const json& c = field(o, "container");
      if (container.empty() && c.is_object()) {
        container = text_of(field(c, "runtime")) + " " + text_of(field(c, "id")).substr(0, 12);
      }
    }
    rows.push_back({{"port", field(svc, "port")},
                    {"protocol", field(svc, "protocol")},
                    {"addresses", field(svc, "addresses")},
                    {"process", field(svc, "process")},
                    {"pids", field(svc, "pids")},
                    {"user", user},
                    {"owners", owners},
                    {"container", container},
                    {"netns", netns_text(record, field(svc, "netns"))},
                    {"application", field(svc, "application")},
                    {"port_name", field(svc, "port_name")},
                    {"confidence", field(svc, "confidence")},
                    {"evidence", field(svc, "evidence").is_array() ? field(svc, "evidence") : json::array()}});
  }
  section["rows"] = std::move(rows);
  section["count"] = section["rows"].size();
  if (field(record, "partial").is_boolean() && record["partial"].get<bool>()) {
    section["note"] = "partial: " + text_of(field(record, "partial_reason")) + " (run as root to see every owner)";
  }
  return section;
}

std::string render_services(const json& s) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::vector<std::string>> notes;
  for (const json& r : field(s, "rows")) {
    std::string pids;
    for (const json& p : field(r, "pids").is_array() ? field(r, "pids") : json::array()) {
      pids += (pids.empty() ? "" : ",") + text_of(p);
    }
    const std::string process = text_of(field(r, "process"));
    const std::string owner = process.empty() && pids.empty() ? "(owner not visible)" : process + " (pid " + pids + ")";
    std::string where = text_of(field(r, "container"));
    const std::string netns = text_of(field(r, "netns"));
    if (!netns.empty()) where += (where.empty() ? "" : ", ") + netns;
    std::string addresses;
    for (const json& a : field(r, "addresses").is_array() ? field(r, "addresses") : json::array()) {
      addresses += (addresses.empty() ? "" : " ") + text_of(a);
    }
    std::string application = text_of(field(r, "application"));
    if (application.empty()) application = "unknown";
    rows.push_back({text_of(field(r, "port")) + "/" + text_of(field(r, "protocol")), owner,
                    text_of(field(r, "user")).empty() ? "-" : text_of(field(r, "user")), where.empty() ? "-" : where,
                    text_of(field(r, "confidence")), application});
    std::vector<std::string> lines;
    if (!addresses.empty()) lines.push_back("listens on " + addresses);
    const json& evidence = field(r, "evidence");
    if (evidence.empty()) lines.push_back("evidence: none");
    for (const json& e : evidence) lines.push_back("evidence: " + text_of(e));
    notes.push_back(lines);
  }
  if (rows.empty()) return "(no listening services)\n";
  return text_table({"PORT", "OWNER", "USER", "CONTAINER", "CONFIDENCE", "APPLICATION"}, rows, 110, notes);
}

// ---------------------------------------------------------------- kernel threads

json kernel_threads_section(const ReportSpec& spec, const json& records, json section) {
  const json& record = field(records, spec.step.c_str());
  const json& threads = field(record, "kernel_threads");
  if (!threads.is_object()) {
    section["note"] = record.is_null() ? missing_note(spec.step)
                                       : "step '" + spec.step + "' has no kernel_threads table (a proc_scanner.scan "
                                                                "with owners: true records one)";
    return section;
  }
  section["count"] = field(threads, "count");
  section["rows"] = field(threads, "groups").is_array() ? field(threads, "groups") : json::array();
  section["init"] = field(threads, "init");
  return section;
}

std::string render_kernel_threads(const json& s) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::vector<std::string>> notes;
  for (const json& g : field(s, "rows")) {
    std::string sockets = text_of(field(g, "sockets"));
    sockets = sockets.substr(0, sockets.find(':'));
    const std::string what = text_of(field(g, "what"));
    rows.push_back({text_of(field(g, "name")), text_of(field(g, "count")), sockets.empty() ? "-" : sockets,
                    what.empty() ? "(not in the catalog)" : what});
    std::vector<std::string> lines;
    for (const json& q : field(g, "queues").is_array() ? field(g, "queues") : json::array()) {
      lines.push_back("queue " + text_of(field(q, "queue")) + ": " + text_of(field(q, "what")));
    }
    notes.push_back(lines);
  }
  std::string out = text_table({"THREADS", "COUNT", "SOCKETS", "WHAT THEY DO"}, rows, 110, notes);
  out += text_of(field(s, "count")) +
         " kernel threads; none holds a socket (kernel threads have no file descriptors, so no port is theirs).\n";
  const json& init = field(s, "init");
  if (init.is_object()) {
    out += wrap_text("pid 1 is " + text_of(field(init, "process")) +
                         (field(init, "what").is_string() ? ": " + init["what"].get<std::string>() : std::string()),
                     110, "  ") +
           "\n";
  }
  return out;
}

// ---------------------------------------------------------------- occupation

json occupation_section(const ReportSpec& spec, const json& records, json section) {
  json rows = json::array();
  for (const OccupationRow& o : spec.occupation) {
    json row = {{"label", o.label}, {"load", o.load}, {"owner_step", o.owner}, {"holders", json::array()}};
    const json& record = field(records, o.owner.c_str());
    if (!o.load.empty() && field(records, o.load.c_str()).is_null()) {
      row["note"] = "the load (" + o.load + ") did not run or failed";
    }
    if (record.is_null()) {
      row["note"] = missing_note(o.owner);
      rows.push_back(std::move(row));
      continue;
    }
    if (field(record, "owners").is_array()) {  // proc_scanner.owner
      row["port"] = field(record, "port");
      row["protocol"] = field(record, "protocol");
      row["found"] = field(record, "found");
      for (const json& h : record["owners"]) {
        row["holders"].push_back({{"pid", field(h, "pid")}, {"process", field(h, "process")},
                                  {"user", field(h, "user")}, {"state", field(h, "state")},
                                  {"local", field(h, "local")}, {"protocol", field(record, "protocol")}});
      }
    } else if (field(record, "sockets").is_array()) {  // proc_scanner.scan
      row["port"] = spec.port;
      for (const json& sock : record["sockets"]) {
        const std::string state = text_of(field(sock, "state"));
        if (field(field(sock, "local"), "port") != json(spec.port) || (state != "LISTEN" && state != "UNCONN")) continue;
        const json& local = field(sock, "local");
        for (const json& owner : field(sock, "owners").is_array() ? sock["owners"] : json::array()) {
          const json& h = owner_details(record, owner);
          row["holders"].push_back({{"pid", field(h, "pid")}, {"process", field(h, "process")},
                                    {"user", field(h, "user")}, {"state", state},
                                    {"local", text_of(field(local, "address")) + ":" + text_of(field(local, "port"))},
                                    {"protocol", field(sock, "protocol")}});
        }
      }
      row["found"] = !row["holders"].empty();
    } else {
      row["note"] = "step '" + o.owner + "' is neither a proc_scanner.owner nor a proc_scanner.scan record";
    }
    rows.push_back(std::move(row));
  }
  section["rows"] = std::move(rows);
  return section;
}

std::string render_occupation(const json& s) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::vector<std::string>> notes;
  for (const json& r : field(s, "rows")) {
    const std::string during = text_of(field(r, "label")) + " (" +
                               (text_of(field(r, "load")).empty() ? text_of(field(r, "owner_step"))
                                                                  : text_of(field(r, "load"))) + ")";
    std::vector<std::string> lines;
    if (field(r, "note").is_string()) lines.push_back(r["note"].get<std::string>());
    const json& holders = field(r, "holders");
    if (holders.empty()) {
      const bool looked = field(r, "found").is_boolean();
      const std::string port = field(r, "port").is_null() ? "-" : text_of(field(r, "port")) + "/" + text_of(field(r, "protocol"));
      rows.push_back({during, port, "-", "-", "-",
                      looked ? "free: nobody held it" : "n/a"});
    }
    for (const json& h : holders) {
      rows.push_back({during, text_of(field(r, "port")) + "/" + text_of(field(h, "protocol")),
                      text_of(field(h, "pid")), text_of(field(h, "process")), text_of(field(h, "user")),
                      text_of(field(h, "state")) + " " + text_of(field(h, "local"))});
    }
    // The note goes under the last of this load's rows.
    for (size_t i = 1; i < holders.size(); ++i) notes.emplace_back();
    notes.push_back(lines);
  }
  return text_table({"DURING", "PORT", "PID", "PROCESS", "USER", "SOCKET"}, rows, 110, notes);
}

}  // namespace

std::string wrap_text(const std::string& text, size_t width, const std::string& indent) {
  std::istringstream words(text);
  std::string out;
  std::string line;
  std::string word;
  const size_t room = std::max<size_t>(width, 20);
  while (words >> word) {
    if (!line.empty() && line.size() + 1 + word.size() > room) {
      out += (out.empty() ? "" : "\n" + indent) + line;
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
  }
  if (!line.empty() || out.empty()) out += (out.empty() ? "" : "\n" + indent) + line;
  return out;
}

std::string text_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows,
                       size_t width, const std::vector<std::vector<std::string>>& notes) {
  std::vector<size_t> w(header.size(), 0);
  for (size_t i = 0; i + 1 < header.size(); ++i) {
    w[i] = header[i].size();
    for (const auto& r : rows) w[i] = std::max(w[i], i < r.size() ? r[i].size() : 0);
  }
  size_t before_last = 0;
  for (size_t i = 0; i + 1 < header.size(); ++i) before_last += w[i] + 2;
  const size_t last_width = width > before_last + 30 ? width - before_last : 30;
  const std::string hanging(before_last, ' ');
  auto line_of = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (size_t i = 0; i + 1 < header.size(); ++i) {
      const std::string c = i < cells.size() ? cells[i] : "";
      line += c + std::string(w[i] - c.size() + 2, ' ');
    }
    line += wrap_text(cells.size() >= header.size() ? cells[header.size() - 1] : "", last_width, hanging);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    return line + "\n";
  };
  std::string out = line_of(header);
  for (size_t r = 0; r < rows.size(); ++r) {
    out += line_of(rows[r]);
    if (r < notes.size()) {
      for (const std::string& n : notes[r]) out += "    " + wrap_text(n, width - 6, "      ") + "\n";
    }
  }
  return out;
}

json build_section(const ReportSpec& spec, const json& records) {
  json section = {{"kind", spec.kind}, {"title", spec.title}, {"step", spec.step}, {"rows", json::array()}};
  if (spec.kind == "interfaces") return interfaces_section(spec, records, std::move(section));
  if (spec.kind == "services") return services_section(spec, records, std::move(section));
  if (spec.kind == "kernel_threads") return kernel_threads_section(spec, records, std::move(section));
  if (spec.kind == "occupation") return occupation_section(spec, records, std::move(section));
  section["note"] = "unknown report kind '" + spec.kind + "'";
  return section;
}

std::string render_section(const json& section) {
  const std::string kind = section.value("kind", std::string());
  std::string out = section.value("title", kind) + "\n";
  out += std::string(out.size() - 1, '=') + "\n";
  const json& rows = field(section, "rows");
  if (rows.is_array() && !rows.empty()) {
    if (kind == "interfaces") out += render_interfaces(section);
    if (kind == "services") out += render_services(section);
    if (kind == "kernel_threads") out += render_kernel_threads(section);
    if (kind == "occupation") out += render_occupation(section);
  } else if (kind == "services" && !field(section, "note").is_string()) {
    out += "(no listening services)\n";
  }
  if (field(section, "note").is_string()) out += "note: " + section["note"].get<std::string>() + "\n";
  return out;
}

}  // namespace sonda
