// The scan action's engine: socket tables of one or every network namespace,
// joined with their owners from one /proc walk, filtered, identified.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "catalog.hpp"
#include "containers.hpp"
#include "netns.hpp"
#include "params.hpp"
#include "proc_table.hpp"
#include "socket_table.hpp"
#include "unix_table.hpp"

namespace sonda::proc_scanner {

/// Validated scan options (the user-facing table is kScanParams).
struct ScanOptions {
  bool tcp = true;
  bool udp = true;
  std::vector<std::string> states;  ///< canonical names (LISTEN, UNCONN, ...); empty = all
  bool listening_only = false;
  int port = 0;  ///< local or remote port; 0 = any
  int pid = 0;   ///< owner pid; 0 = any
  std::string process;  ///< owner comm; "" = any
  bool all_netns = false;
  bool owners = true;  ///< walk /proc for owners (off: kernel table only)
  bool identify = true;
  std::vector<std::string> extra_catalogs;
  std::vector<int> banner_ports;
  bool banner_http = false;
  int64_t banner_timeout_ns = 300'000'000;
  bool force_procfs = false;  ///< source: procfs (tests the fallback)
  OwnerSource owner_source = OwnerSource::kAuto;  ///< owner_source: auto|bpf|procfs
  bool unix_sockets = false;  ///< unix: also list UNIX domain sockets
  std::string proc_root = "/proc";

  /// The scan's options from its bound parameters: protocol and source
  /// resolved, state names made canonical. Throws sonda::StepError kind
  /// "invalid_param" naming the parameter (an unknown state; pid/process
  /// without owners).
  static ScanOptions from(const ScanParams& params);
  /// from(kScanParams.bind(params)): params as the runner passes them, or
  /// partial (absent = the table's default).
  static ScanOptions bind(const nlohmann::json& params);
};

/// The services part of a record: the listening services identified, the
/// catalog files used, one summary line per service, and the kernel-thread
/// table (null when it was not made with them).
struct ServiceTable {
  nlohmann::json list = nlohmann::json::array();
  nlohmann::json catalog_files;
  std::vector<std::string> summary_lines;
  nlohmann::json kernel_threads;
};

/// Raw scan output before rendering: kept separate so the benchmark can time
/// collection and rendering apart.
struct ScanResult {
  SocketSource source = SocketSource::kSockDiag;
  std::string fallback_reason;
  uint64_t own_netns = 0;
  SocketList sockets;  ///< filtered and sorted
  std::vector<UnixSocketEntry> unix_sockets;  ///< when asked for; filtered and sorted
  OwnerIndex owners;
  std::vector<NetnsDump> namespaces;  ///< other namespaces (all_netns)
  std::vector<BoundInterface> interfaces;  ///< names of the devices sockets are bound to
  size_t sockets_dumped = 0;          ///< before filters
  int64_t socket_dump_ns = 0;
  int64_t proc_walk_ns = 0;
  int64_t containers_ns = 0;  ///< reading the runtimes' state (0 when not needed)
  std::vector<std::string> notes;
  /// The application catalog, loaded during the scan when identify is on
  /// (off the critical path: the owner thread loads it while the socket
  /// dump runs).
  std::optional<Catalog> catalog;
  /// The runtimes' containers, read when a process is containerised, a
  /// docker-proxy or dockerd holds sockets, or all_netns is on.
  ContainerDirectory containers;
  /// The services, when the owner thread identified them while the socket
  /// dump was still running (the listeners are dumped first); null when
  /// they are left to the renderer (identify off, all_netns, an error). The
  /// first render takes the table (hence mutable); a result rendered again
  /// (benchmarks, tests) is identified again.
  mutable std::shared_ptr<ServiceTable> services;
};

/// Dumps, walks, joins and filters. Throws sonda::StepError when neither
/// sock_diag nor /proc/net can be read.
ScanResult collect_scan(const ScanOptions& options);

/// Renders one process: {pid, process, exe, cmdline, user, uid, container?,
/// unit?} (an entry of the record's `processes`).
nlohmann::json owner_json(const ProcessInfo& p);

/// One owner of a socket as the socket lists it, like `ss -p`: {pid, process}.
/// The rest of the process is in the record's `processes`, once: repeated
/// per socket it was 43 % of a 19 000-socket record.
nlohmann::json owner_ref_json(const ProcessInfo& p);

/// Renders one socket's owner list ([] when unknown), as owner_ref_json().
nlohmann::json owners_json(const ScanResult& result, const SocketEntry& socket);

/// The owner list of the socket with this inode ([] when unknown or 0).
nlohmann::json owners_json(const ScanResult& result, uint64_t inode);

/// The record's `processes`: owner_json() of each process whose index in
/// result.owners.processes is set in `used`, by pid.
nlohmann::json processes_json(const ScanResult& result, const std::vector<bool>& used);

/// Replaces, in a scan record, every socket's (and UNIX socket's) owner
/// {pid, process} by its whole entry in `processes`, as records had it
/// before (port_lookup reads them so; so do tests).
void inline_owner_details(nlohmann::json& record);

/// Renders the full record: source, sockets, services, counts, skipped,
/// summary. Reads banners when the options ask for them.
nlohmann::json render_scan(const ScanResult& result, const ScanOptions& options);

/// The same record as render_scan(...).dump(), written without building a
/// DOM for the sockets (tens of thousands of small objects): each owner is
/// serialised once per process and the socket lines are appended directly.
/// Used where the text is the product (the proc_scan driver, the plugin).
std::string render_scan_text(const ScanResult& result, const ScanOptions& options);

/// render_scan_text() in pieces of about 64 KiB handed to `sink` as they
/// are made, so a record of megabytes never sits in memory whole.
void write_scan_text(const ScanResult& result, const ScanOptions& options,
                     const std::function<void(std::string_view)>& sink);

/// Why the scan could not see every owner ("" when it could): not root.
std::string partial_reason(const ScanResult& result, const ScanOptions& options);

/// collect_scan + render_scan.
nlohmann::json run_scan(const ScanOptions& options);

/// Orders sockets by (netns, protocol, family, local port, local address,
/// remote address, remote port, state, inode): a stable, diffable order.
void sort_sockets(SocketList& sockets);

}  // namespace sonda::proc_scanner
