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

/// Docker facts alone: installed (a `docker` binary on PATH), engine_running
/// (/var/run/docker.sock accepts a connection), version (engine's /version,
/// asked with a short timeout; null when unknown).
nlohmann::json collect_docker_context();

}  // namespace sonda
