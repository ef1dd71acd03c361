// The runner's two questions about one port: who holds it (owner) and
// "tell me when it is listening" (wait_for).
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace sonda::proc_scanner {

/// Who holds a port (1..65535, protocol tcp or udp: the `owner` table in
/// params.hpp says so): listening or bound sockets on that local port in this
/// network namespace. Record: {port, protocol, found, owners[], summary}.
/// Not an error when nothing holds it (found=false).
nlohmann::json find_port_owner(int port, const std::string& protocol, bool all_netns = false);

/// What wait_for waits for.
struct WaitSpec {
  int port = 0;
  std::string protocol = "tcp";
  std::optional<int> pid;  ///< absent: any owner; else that pid or one of its descendants
  int64_t timeout_ns = 10'000'000'000;
  int64_t interval_ns = 50'000'000;
  /// Also accept a listener in another network namespace (a container's, an
  /// ip netns one): each look is then an all-namespace scan of that port.
  bool all_netns = false;
};

/// Polls the socket table every interval until something listens on the
/// port (owned by spec.pid or its descendants when given). Record: {port,
/// protocol, pid, process, local, waited_ns}, plus {netns, netns_name?,
/// container?} when spec.all_netns found it in another namespace. Throws sonda::StepError kind
/// "timeout" ("nothing listening on 10000/tcp after 10s"), or kind
/// "cancelled" when should_stop() turns true first.
nlohmann::json wait_for_port(const WaitSpec& spec, const std::function<bool()>& should_stop);

/// "10s", "250ms", "1.5s", "800us": a duration as people write it.
std::string format_duration_ns(int64_t ns);

}  // namespace sonda::proc_scanner
