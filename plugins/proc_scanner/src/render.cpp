// render_scan() and render_scan_text(): the scan record as the runner
// stores it. Both share everything but the sockets array, which the text
// renderer writes directly (a test pins the two to the same JSON).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <cstring>
#include <exception>
#include <thread>
#include <utility>
#include <map>

#include "kernel_threads.hpp"
#include "scan.hpp"
#include "services.hpp"

namespace sonda::proc_scanner {
namespace {

using nlohmann::json;

/// Tallies that both renderers need.
struct SocketTally {
  // Counted per (protocol, state number) and named once at the end: a map
  // lookup with a std::string key per socket was the renderer's top cost.
  std::array<std::array<size_t, 256>, 2> per_state{};
  size_t tcp = 0;
  size_t listening = 0;
  size_t with_owners = 0;
  size_t owner_hidden = 0;

  void add(const SocketEntry& s, bool has_owners, bool hidden) {
    ++per_state[s.protocol == IPPROTO_TCP ? 0 : 1][s.state];
    tcp += s.protocol == IPPROTO_TCP ? 1 : 0;
    listening += is_listening(s) ? 1 : 0;
    with_owners += has_owners ? 1 : 0;
    owner_hidden += hidden ? 1 : 0;
  }

  /// {"ESTABLISHED": n, "LISTEN": n, "UNCONN": n, ...}
  std::map<std::string, size_t> by_state() const {
    std::map<std::string, size_t> named;
    for (int state = 0; state < 256; ++state) {
      const auto number = static_cast<uint8_t>(state);
      if (per_state[0][number] != 0) {
        named[state_name(IPPROTO_TCP, number)] += per_state[0][number];
      }
      if (per_state[1][number] != 0) {
        named[state_name(IPPROTO_UDP, number)] += per_state[1][number];
      }
    }
    return named;
  }
};

bool is_partial(const ScanResult& result, const ScanOptions& options) {
  return options.owners && ::geteuid() != 0 && result.owners.skipped.fd_dirs_denied > 0;
}

// Another user's socket whose /proc/<pid>/fd we may not read.
bool hidden_owner(bool partial, const SocketEntry& s, bool has_owners) {
  return !has_owners && partial && s.inode != 0 && s.uid != static_cast<uint32_t>(::geteuid());
}

json endpoint_json(uint8_t family, const std::array<uint8_t, 16>& addr, uint16_t port,
                   const std::string* interface = nullptr) {
  json e = {{"address", format_address(family, addr)}, {"port", port}};
  if (interface != nullptr) {
    e["interface"] = *interface;
  }
  return e;
}

// The device a socket is bound to, by name; nullptr when it is not bound.
const std::string* bound_interface(const ScanResult& result, const SocketEntry& s) {
  return s.bound_ifindex == 0 ? nullptr
                              : find_interface(result.interfaces, s.netns, s.bound_ifindex);
}

// A string literal, appended with its length known at compile time.
template <size_t N>
void lit(std::string& out, const char (&text)[N]) {
  out.append(text, N - 1);
}

// The most bytes put_* below write for one socket, owners aside: the
// literals (~150), two endpoints (<= 60 each), five numbers (<= 20 each),
// the longest state name and a device name (<= 15 bytes, 90 escaped),
// rounded up generously.
constexpr size_t kMaxSocketBytes = 640;

// Copies a string literal to the cursor; returns the new cursor.
template <size_t N>
char* put(char* c, const char (&text)[N]) {
  std::memcpy(c, text, N - 1);
  return c + N - 1;
}

char* put_number(char* c, uint64_t value) { return std::to_chars(c, c + 20, value).ptr; }

char* put_endpoint(char* c, uint8_t family, const std::array<uint8_t, 16>& addr, uint16_t port,
                   const std::string* interface = nullptr) {
  c = put(c, "{\"address\":\"");
  if (family == AF_INET6) {
    ::inet_ntop(AF_INET6, addr.data(), c, INET6_ADDRSTRLEN);
    c += std::strlen(c);
  } else {
    // glibc's inet_ntop formats IPv4 through sprintf: a third of the
    // renderer's time for tens of thousands of sockets.
    for (size_t i = 0; i < 4; ++i) {
      if (i != 0) {
        *c++ = '.';
      }
      c = put_number(c, addr[i]);
    }
  }
  if (interface != nullptr) {  // keys in sorted order: address, interface, port
    // Device names may hold quotes or backslashes: escaped as JSON.
    const std::string quoted = json(*interface).dump(-1, ' ', false,
                                                     json::error_handler_t::replace);
    c = put(c, "\",\"interface\":");
    c = static_cast<char*>(std::memcpy(c, quoted.data(), quoted.size())) + quoted.size();
    c = put(c, ",\"port\":");
  } else {
    c = put(c, "\",\"port\":");
  }
  c = put_number(c, port);
  *c++ = '}';
  return c;
}

// A buffer written through a cursor and handed to the sink in chunks.
class ChunkWriter {
 public:
  ChunkWriter(const std::function<void(std::string_view)>& sink, size_t capacity)
      : sink_(sink), buffer_(capacity) {}
  ChunkWriter(const ChunkWriter&) = delete;
  ChunkWriter& operator=(const ChunkWriter&) = delete;

  /// A cursor with at least `bytes` free after it (flushing, or growing for
  /// one huge socket, first). Write, then commit() the end.
  char* room(size_t bytes) {
    if (buffer_.size() - used_ < bytes) {
      flush();
      if (buffer_.size() < bytes) {
        buffer_.resize(bytes);
      }
    }
    return buffer_.data() + used_;
  }
  void commit(const char* end) { used_ = static_cast<size_t>(end - buffer_.data()); }
  void append(std::string_view text) {
    char* c = room(text.size());
    commit(static_cast<char*>(std::memcpy(c, text.data(), text.size())) + text.size());
  }
  size_t size() const { return used_; }
  void flush() {
    if (used_ != 0) {
      sink_(std::string_view(buffer_.data(), used_));
      used_ = 0;
    }
  }

 private:
  const std::function<void(std::string_view)>& sink_;
  std::vector<char> buffer_;
  size_t used_ = 0;
};

/// The services part of the record: computed apart so it can run beside
/// the socket rendering, or during the dump (ScanResult::services). Its
/// kernel-thread table (its /proc/<pid>/comm reads are ~1 ms of a
/// 19 000-socket scan) is null when it was not made with it.
using Services = ServiceTable;

json kernel_threads_of(const ScanResult& result, const ScanOptions& options) {
  return kernel_thread_table(result.owners.kernel_thread_pids, options.proc_root,
                             result.catalog ? &*result.catalog : nullptr);
}

Services compute_services(const ScanResult& result, const ScanOptions& options) {
  if (const auto made = std::exchange(result.services, nullptr)) {
    return std::move(*made);  // made during the dump
  }
  Services out;
  if (!options.identify) {
    return out;
  }
  std::optional<Catalog> loaded;
  if (!result.catalog) {
    loaded = load_catalog(options.extra_catalogs);
  }
  const Catalog& catalog = result.catalog ? *result.catalog : *loaded;
  out.list = identify_services(result, options, catalog, out.summary_lines);
  out.catalog_files = catalog.files();
  return out;
}

json render_without_sockets(const ScanResult& result, const ScanOptions& options,
                            const SocketTally& tally, Services services,
                            const std::vector<bool>& owners_listed);

/// Marks in `used` the processes that own the socket with this inode.
void mark_owners(const ScanResult& result, uint64_t inode, std::vector<bool>& used) {
  if (inode == 0) {
    return;
  }
  const auto [first, last] = result.owners.owners_of(inode);
  for (size_t i = first; i < last; ++i) {
    used[result.owners.inode_owners[i].second] = true;
  }
}

/// One UNIX socket's object (both renderers: the text one dumps it).
json unix_entry_json(const UnixSocketEntry& u, json owners) {
  return {{"type", unix_type_name(u.type)},
          {"state", unix_state_name(u.state)},
          {"path", u.path},
          {"inode", u.inode},
          {"peer_inode", u.peer_inode},
          {"recv_q", u.recv_q},
          {"send_q", u.send_q},
          {"netns", u.netns},
          {"owners", std::move(owners)}};
}

}  // namespace

std::string partial_reason(const ScanResult& result, const ScanOptions& options) {
  if (!is_partial(result, options)) {
    return {};
  }
  return "running as uid " + std::to_string(::geteuid()) + " without root: /proc/<pid>/fd of " +
         std::to_string(result.owners.skipped.fd_dirs_denied) +
         " processes is unreadable, so other users' sockets are listed without owners "
         "(owner_hidden: true)";
}

json render_scan(const ScanResult& result, const ScanOptions& options) {
  const bool partial = is_partial(result, options);
  json sockets = json::array();
  sockets.get_ref<json::array_t&>().reserve(result.sockets.size());
  SocketTally tally;
  std::vector<bool> owners_listed(result.owners.processes.size());
  for (const SocketEntry& s : result.sockets) {
    json owners = options.owners ? owners_json(result, s) : json::array();
    if (options.owners) {
      mark_owners(result, s.inode, owners_listed);
    }
    const bool hidden = hidden_owner(partial, s, !owners.empty());
    tally.add(s, !owners.empty(), hidden);
    json entry = {{"protocol", s.protocol == IPPROTO_TCP ? "tcp" : "udp"},
                  {"family", s.family == AF_INET6 ? "ipv6" : "ipv4"},
                  {"local", endpoint_json(s.family, s.local_addr, s.local_port,
                                          bound_interface(result, s))},
                  {"remote", endpoint_json(s.family, s.remote_addr, s.remote_port)},
                  {"state", state_name(s.protocol, s.state)},
                  {"recv_q", s.recv_q},
                  {"send_q", s.send_q},
                  {"uid", s.uid},
                  {"inode", s.inode},
                  {"netns", s.netns},
                  {"owners", std::move(owners)}};
    if (hidden) {
      entry["owner_hidden"] = true;
    }
    sockets.push_back(std::move(entry));
  }
  json unix_list = json::array();
  if (options.unix_sockets) {
    for (const UnixSocketEntry& u : result.unix_sockets) {
      unix_list.push_back(unix_entry_json(u, options.owners ? owners_json(result, u.inode)
                                                            : json::array()));
      if (options.owners) {
        mark_owners(result, u.inode, owners_listed);
      }
    }
  }
  json record = render_without_sockets(result, options, tally, compute_services(result, options),
                                       owners_listed);
  record["sockets"] = std::move(sockets);
  if (options.unix_sockets) {
    record["unix_sockets"] = std::move(unix_list);
  }
  return record;
}

void write_scan_text(const ScanResult& result, const ScanOptions& options,
                     const std::function<void(std::string_view)>& sink) {
  const bool partial = is_partial(result, options);
  // Service identification (catalog matching, banners) runs on the other
  // core while this one renders the sockets; both only read `result`.
  Services services;
  std::exception_ptr services_error;
  std::thread identifier;
  if (const auto made = std::exchange(result.services, nullptr)) {
    services = std::move(*made);  // identified during the dump already
  } else if (options.identify) {  // without it there is nothing to compute: no thread
    identifier = std::thread([&] {
      try {
        services = compute_services(result, options);
        if (!result.owners.kernel_thread_pids.empty()) {
          services.kernel_threads = kernel_threads_of(result, options);
        }
      } catch (...) {
        services_error = std::current_exception();
      }
    });
  }
  struct Joiner {
    std::thread& thread;
    ~Joiner() {
      if (thread.joinable()) {
        thread.join();
      }
    }
  } joiner{identifier};
  // Each process's {pid, process}, serialised once; its whole entry goes
  // into `processes` at the end.
  std::vector<std::string> owner_text(result.owners.processes.size());
  std::vector<bool> owners_listed(result.owners.processes.size());
  // Written out in chunks: a whole record of tens of thousands of sockets
  // is megabytes, and building it in one string cost more in page faults
  // and copies than everything else in the scan.
  constexpr size_t kChunkBytes = 1 << 16;
  std::string out;
  out.reserve(kChunkBytes + 4096);
  out += "{\"sockets\":[";
  SocketTally tally;
  {
    // Each socket is written through a raw cursor into room reserved for
    // its longest form: ~20 appends a socket, each checking capacity, cost
    // ~1 ms of a 19 000-socket render (measured).
    ChunkWriter writer(sink, kChunkBytes * 2);
    writer.append(out);
    out.clear();
    constexpr size_t kPrefetchAhead = 16;
    const size_t socket_count = result.sockets.size();
    for (size_t k = 0; k < socket_count; ++k) {
      const SocketEntry& s = result.sockets[k];
      if (options.owners && k + kPrefetchAhead < socket_count) {
        result.owners.prefetch(result.sockets[k + kPrefetchAhead].inode);
      }
      const auto [first, last] = options.owners && s.inode != 0
                                     ? result.owners.owners_of(s.inode)
                                     : std::pair<size_t, size_t>{0, 0};
      const bool has_owners = first != last;
      const bool hidden = hidden_owner(partial, s, has_owners);
      tally.add(s, has_owners, hidden);
      size_t owner_bytes = 0;
      for (size_t i = first; i < last; ++i) {
        const uint32_t p = result.owners.inode_owners[i].second;
        if (owner_text[p].empty()) {
          owner_text[p] = owner_ref_json(result.owners.processes[p])
                              .dump(-1, ' ', false, json::error_handler_t::replace);
          owners_listed[p] = true;
        }
        owner_bytes += owner_text[p].size() + 1;
      }
      // The device the socket is bound to, if any (ss: address%name).
      const std::string* interface = bound_interface(result, s);
      // Keys in nlohmann's (sorted) order so both renderers print alike.
      char* c = writer.room(kMaxSocketBytes + owner_bytes);
      if (k != 0) {
        *c++ = ',';
      }
      c = put(c, "{\"family\":\"");
      c = s.family == AF_INET6 ? put(c, "ipv6") : put(c, "ipv4");
      c = put(c, "\",\"inode\":");
      c = put_number(c, s.inode);
      c = put(c, ",\"local\":");
      c = put_endpoint(c, s.family, s.local_addr, s.local_port, interface);
      c = put(c, ",\"netns\":");
      c = put_number(c, s.netns);
      if (hidden) {
        c = put(c, ",\"owner_hidden\":true");
      }
      c = put(c, ",\"owners\":[");
      for (size_t i = first; i < last; ++i) {
        if (i != first) {
          *c++ = ',';
        }
        const std::string& text = owner_text[result.owners.inode_owners[i].second];
        c = static_cast<char*>(std::memcpy(c, text.data(), text.size())) + text.size();
      }
      c = put(c, "],\"protocol\":\"");
      c = s.protocol == IPPROTO_TCP ? put(c, "tcp") : put(c, "udp");
      c = put(c, "\",\"recv_q\":");
      c = put_number(c, s.recv_q);
      c = put(c, ",\"remote\":");
      c = put_endpoint(c, s.family, s.remote_addr, s.remote_port);
      c = put(c, ",\"send_q\":");
      c = put_number(c, s.send_q);
      c = put(c, ",\"state\":\"");
      const char* state = state_name(s.protocol, s.state);
      const size_t state_len = std::strlen(state);
      c = static_cast<char*>(std::memcpy(c, state, state_len)) + state_len;
      c = put(c, "\",\"uid\":");
      c = put_number(c, s.uid);
      *c++ = '}';
      writer.commit(c);
      if (writer.size() >= kChunkBytes) {
        writer.flush();
      }
    }
    writer.flush();
  }
  out += "],";
  if (options.unix_sockets) {
    // Few enough (hundreds) to go through the DOM: paths need JSON escaping.
    lit(out, "\"unix_sockets\":[");
    for (size_t i = 0; i < result.unix_sockets.size(); ++i) {
      const UnixSocketEntry& u = result.unix_sockets[i];
      if (i != 0) {
        out += ',';
      }
      out += unix_entry_json(u, options.owners ? owners_json(result, u.inode) : json::array())
                 .dump(-1, ' ', false, json::error_handler_t::replace);
      if (options.owners) {
        mark_owners(result, u.inode, owners_listed);
      }
      if (out.size() >= kChunkBytes) {
        sink(out);
        out.clear();
      }
    }
    lit(out, "],");
  }
  if (identifier.joinable()) {
    identifier.join();
  }
  if (services_error) {
    std::rethrow_exception(services_error);
  }
  const std::string rest =
      render_without_sockets(result, options, tally, std::move(services), owners_listed)
          .dump(-1, ' ', false, json::error_handler_t::replace);
  // The rest of the record is an object: continue it after its '{'.
  out.append(rest, 1, std::string::npos);
  sink(out);
}

std::string render_scan_text(const ScanResult& result, const ScanOptions& options) {
  // Reserved generously up front: growing by doubling copied the record
  // several times over and touched twice the pages (untouched reserve is
  // only address space).
  std::string text;
  text.reserve((result.sockets.size() + 1) * 640 + result.unix_sockets.size() * 320 + (1 << 20));
  // ~9 MB written into fresh pages for 19 000 sockets: 4 KiB faults cost
  // ~3 ms per MiB on the VMs sonda is measured on (huge_page_allocator.hpp),
  // 2 MiB ones a fraction of that.
  common::advise_huge_pages(text.data(), text.capacity());
  write_scan_text(result, options, [&text](std::string_view chunk) { text += chunk; });
  return text;
}

namespace {

json render_without_sockets(const ScanResult& result, const ScanOptions& options,
                            const SocketTally& tally, Services services,
                            const std::vector<bool>& owners_listed) {
  const SkipCounts& skipped = result.owners.skipped;
  const bool partial = is_partial(result, options);
  const auto by_state = tally.by_state();
  const size_t tcp = tally.tcp;
  const size_t listening = tally.listening;
  const size_t with_owners = tally.with_owners;
  const size_t owner_hidden = tally.owner_hidden;
  json record;
  record["source"] = source_name(result.source);
  if (!result.fallback_reason.empty()) {
    record["source_note"] = result.fallback_reason;
  }

  const std::vector<std::string>& summary_lines = services.summary_lines;
  record["services"] = std::move(services.list);
  if (options.identify) {
    record["catalog_files"] = std::move(services.catalog_files);
  }

  if (result.containers.size() != 0) {
    record["published"] = published_json(result.containers);
  }

  json namespaces = json::array();
  namespaces.push_back({{"inode", result.own_netns}, {"own", true}});
  for (const NetnsDump& d : result.namespaces) {
    json ns = {{"inode", d.target.inode}, {"path", d.target.path}, {"sockets", d.sockets},
               {"source", source_name(d.source)}};
    if (!d.target.name.empty()) {
      ns["name"] = d.target.name;
    }
    if (!d.target.docker_path.empty()) {
      ns["docker_path"] = d.target.docker_path;
    }
    if (!d.target.containers.empty()) {
      json held = json::array();
      for (size_t i = 0; i < d.target.containers.size(); ++i) {
        held.push_back({{"id", d.target.container_ids[i]}, {"label", d.target.containers[i]}});
      }
      ns["containers"] = std::move(held);
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
  if (options.unix_sockets) {
    record["counts"]["unix"] = result.unix_sockets.size();
  }
  if (!result.owners.kernel_thread_pids.empty()) {
    record["kernel_threads"] = services.kernel_threads.is_null() ? kernel_threads_of(result, options)
                                                                 : std::move(services.kernel_threads);
  }
  record["skipped"] = {{"pids_vanished", skipped.pids_vanished},
                       {"pids_reused", skipped.pids_reused},
                       {"fds_vanished", skipped.fds_vanished},
                       {"fd_dirs_denied", skipped.fd_dirs_denied}};
  record["timing_ns"] = {{"socket_dump", result.socket_dump_ns},
                         {"proc_walk", result.proc_walk_ns},
                         {"bpf_setup", result.owners.bpf_setup_ns},
                         {"containers", result.containers_ns}};
  if (options.owners) {
    // Each listed socket's owners are {pid, process}; here is the rest of
    // each of those processes, once.
    record["processes"] = processes_json(result, owners_listed);
    record["owner_source"] = result.owners.source;
    if (result.owners.source == "bpf_iter") {
      // Where the programs' structure offsets came from (bpf_layout.hpp).
      record["bpf_layout"] = result.owners.bpf_layout_cached ? "cache" : "btf";
    }
    if (!result.owners.source_note.empty()) {
      record["owner_source_note"] = result.owners.source_note;
    }
  }
  record["partial"] = partial;
  if (partial) {
    record["partial_reason"] = partial_reason(result, options);
  }
  if (!result.notes.empty()) {
    record["notes"] = result.notes;
  }
  std::string summary = std::to_string(total) + " sockets (" + source_name(result.source) + "), ";
  if (options.unix_sockets) {
    summary += std::to_string(result.unix_sockets.size()) + " UNIX sockets, ";
  }
  summary += std::to_string(summary_lines.size()) + " listening services";
  // A summary is one line of a table; the record's `services` has them all.
  // (A host with 500 listeners made this line 30 KB.)
  constexpr size_t kSummaryServices = 12;
  for (size_t i = 0; i < summary_lines.size() && i < kSummaryServices; ++i) {
    summary += (i == 0 ? ": " : "; ") + summary_lines[i];
  }
  if (summary_lines.size() > kSummaryServices) {
    summary += "; and " + std::to_string(summary_lines.size() - kSummaryServices) + " more (record: services)";
  }
  record["summary"] = summary;
  return record;
}

}  // namespace

}  // namespace sonda::proc_scanner
