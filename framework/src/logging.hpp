// Human output: one stderr sink shared by the host's logger and a logger per
// plugin (named after it), so every line says who wrote it. spdlog's
// registry is per library, hence the host creates the plugin loggers and
// plugins only see the sonda_host log callback.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace sonda {

/// Sets up the shared stderr sink and the "sonda" default logger. `verbosity`:
/// -1 quiet (warnings and errors), 0 info, 1 debug. Call once, early.
void init_logging(int verbosity);

/// The logger named `plugin_name`, created on first use with the shared
/// sink and the current level. Thread-safe.
std::shared_ptr<spdlog::logger> plugin_logger(const std::string& plugin_name);

}  // namespace sonda
