// Turning listening sockets into named services with evidence.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "catalog.hpp"
#include "scan.hpp"

namespace sonda::proc_scanner {

/// The shipped catalog plus the user's extra files, in that order. Throws
/// sonda::StepError naming the file when one cannot be loaded.
Catalog load_catalog(const std::vector<std::string>& extra_files);

/// One entry per listening service (the sockets of the same owners on the
/// same port and namespace, e.g. 0.0.0.0:22 and [::]:22, form one service),
/// each with application, port name, evidence and confidence; banners are
/// read for the ports in options.banner_ports. Appends one summary line per
/// service ("22/tcp sshd (pid 812) -> OpenSSH server [catalog+port, high]").
nlohmann::json identify_services(const ScanResult& result, const ScanOptions& options,
                                 const Catalog& catalog, std::vector<std::string>& summary_lines);

/// The same over `sockets` (filtered and sorted as result.sockets would be)
/// instead of result.sockets: the owner thread identifies the listeners
/// while the rest of the table is still being dumped. Non-listening sockets
/// in `sockets` are ignored.
nlohmann::json identify_services(const SocketList& sockets, const ScanResult& result,
                                 const ScanOptions& options, const Catalog& catalog,
                                 std::vector<std::string>& summary_lines);

}  // namespace sonda::proc_scanner
