#include "logging.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <mutex>

namespace sonda {

namespace {

std::mutex g_mu;
spdlog::sink_ptr g_sink;
spdlog::level::level_enum g_level = spdlog::level::info;

spdlog::sink_ptr shared_sink() {
  if (!g_sink) {
    g_sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    g_sink->set_pattern("%H:%M:%S.%e %^%-5l%$ [%n] %v");
  }
  return g_sink;
}

}  // namespace

void init_logging(int verbosity) {
  std::lock_guard lock(g_mu);
  g_level = verbosity < 0 ? spdlog::level::warn
                          : (verbosity > 0 ? spdlog::level::debug : spdlog::level::info);
  auto logger = std::make_shared<spdlog::logger>("sonda", shared_sink());
  logger->set_level(g_level);
  spdlog::set_default_logger(logger);
  spdlog::set_level(g_level);
}

std::shared_ptr<spdlog::logger> plugin_logger(const std::string& plugin_name) {
  std::lock_guard lock(g_mu);
  if (auto existing = spdlog::get(plugin_name)) {
    return existing;
  }
  auto logger = std::make_shared<spdlog::logger>(plugin_name, shared_sink());
  logger->set_level(g_level);
  spdlog::register_logger(logger);
  return logger;
}

}  // namespace sonda
