// iface_scanner's own test helpers on top of tests/support (fake host, veth
// pair, commands): the plugin .so, `ip -j`, UDP traffic.
#pragma once

#include <nlohmann/json.hpp>
#include <sonda/plugin.hpp>
#include <sonda_common/net.hpp>
#include <string>
#include <vector>

#include "support/fake_host.hpp"
#include "support/netns.hpp"
#include "support/process.hpp"
#include "support/server_thread.hpp"

namespace sonda::iface::testing {

using json = nlohmann::json;

using sonda::testing::check_command;
using sonda::testing::FakeHost;
using sonda::testing::ServerThread;
using sonda::testing::VethPair;

/// iface_scanner.so from this build, loaded once.
const sonda_plugin& plugin();

/// `ip -j <args>` parsed.
json ip_json(const std::string& args);

/// A UDP socket bound to `ip`:`port` (0: any port) in the calling thread's
/// network namespace. Throws StepError naming the call on failure.
common::Fd bound_udp_socket(const std::string& ip, uint16_t port);

/// Sends `count` datagrams of `payload_bytes` from `fd` to `to`.
void send_datagrams(int fd, const common::SockAddr& to, int count, size_t payload_bytes);

/// Reads datagrams from `fd` until `count` arrived or `timeout_ms` of
/// silence; returns how many arrived.
int receive_datagrams(int fd, int count, int timeout_ms);

}  // namespace sonda::iface::testing
