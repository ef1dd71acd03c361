// The plugin's actions as plain functions of (bound params, context), so
// the .so, the tests and the benchmark driver all run the same code.
#pragma once

#include <sonda/plugin.hpp>

#include "params.hpp"

namespace sonda::udp {

/// BACKGROUND: UDP sink/echo server with a TCP control port of the same number.
nlohmann::json serve(const ServerParams& p, Context& ctx);
/// Paced/unlimited datagram stream; figures measured by the receiver.
nlohmann::json stream(const StreamParams& p, Context& ctx);
/// Request/response latency with per-request timeouts.
nlohmann::json rr(const RrParams& p, Context& ctx);

/// The actions as the host runs them (parameters bound through the tables
/// in params.hpp). Tests and the driver call these with partial JSON.
inline constexpr auto& server_action = sonda::bound<kServerParams, &serve>;
inline constexpr auto& stream_action = sonda::bound<kStreamParams, &stream>;
inline constexpr auto& rr_action = sonda::bound<kRrParams, &rr>;

}  // namespace sonda::udp
