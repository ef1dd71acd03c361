// The context every result file carries (Google Benchmark's "context"):
// who measured, on what kernel and CPU, with which socket buffer limits and
// congestion control, and whether a Docker engine is around. Recorded,
// never required: anything unreadable becomes null.
#pragma once

#include <nlohmann/json.hpp>

namespace sonda {

/// {host, kernel{sysname,release,version,machine}, cpu{count,model},
///  sysctls{...}, docker{installed, engine_running, version}}.
nlohmann::json collect_run_context();

/// This network namespace's interfaces, by index: [{name, index, up,
/// loopback, mtu, mac, ipv4: ["a.b.c.d/len"...], ipv6: [...]}] (getifaddrs:
/// what `ip addr` shows, from the namespace the process is in).
nlohmann::json collect_interfaces();

/// What `${hosts.NAME...}` references read about a host, from its context's
/// interfaces: {ipv4, ipv6, interfaces: {NAME: {ipv4: [...], ipv6: [...],
/// mtu, mac, up}}}. `ipv4`/`ipv6` are the first address, by interface index,
/// on an up interface that is not loopback (IPv4 not 169.254/16, IPv6 of
/// global scope); null when there is none.
nlohmann::json host_reference_record(const nlohmann::json& interfaces);

/// Docker facts alone: installed (a `docker` binary on PATH), engine_running
/// (/var/run/docker.sock accepts a connection), version (engine's /version,
/// asked with a short timeout; null when unknown).
nlohmann::json collect_docker_context();

}  // namespace sonda
