// The plugin's actions as plain functions of (normalised params, context), so
// the .so, the tests and the benchmark driver all run the same code.
#pragma once

#include <sonda/plugin.hpp>

namespace sonda::udp {

/// BACKGROUND: UDP sink/echo server with a TCP control port of the same number.
nlohmann::json server_action(const nlohmann::json& params, Context& ctx);
/// Paced/unlimited datagram stream; figures measured by the receiver.
nlohmann::json stream_action(const nlohmann::json& params, Context& ctx);
/// Request/response latency with per-request timeouts.
nlohmann::json rr_action(const nlohmann::json& params, Context& ctx);

/// Parameter access with errors naming the parameter (kind "invalid_param").
int64_t int_param(const nlohmann::json& params, const char* name, int64_t fallback);
std::string string_param(const nlohmann::json& params, const char* name, const std::string& fallback);
bool bool_param(const nlohmann::json& params, const char* name, bool fallback);

}  // namespace sonda::udp
