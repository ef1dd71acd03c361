// The tcp_transport actions. Each takes its bound options and returns the
// step's record; failures throw sonda::StepError with a one-line reason
// naming the target. Shared by the plugin module, the tests and the bench
// driver (all link tcp_transport_core).
#pragma once

#include <sonda/plugin.hpp>

#include "options.hpp"

namespace sonda::tcp {

/// Background: listens, serves sink/source/echo (or a sonda session) to any
/// number of clients until ctx.should_stop(); returns what it served.
json serve(const ServerOptions& o, Context& ctx);

/// Bulk throughput, measured at the receiver.
json stream(const StreamOptions& o, Context& ctx);

/// Request/response latency and transactions per second.
json rr(const RrOptions& o, Context& ctx);

/// Connect, one request/response, close: connections per second.
json crr(const RrOptions& o, Context& ctx);

/// The actions as the host runs them (parameters bound through the tables
/// in options.hpp). Tests and the driver call these with partial JSON.
inline constexpr auto& run_server = sonda::bound<kServerParams, &serve>;
inline constexpr auto& run_stream = sonda::bound<kStreamParams, &stream>;
inline constexpr auto& run_rr = sonda::bound<kRrParams, &rr>;
inline constexpr auto& run_crr = sonda::bound<kCrrParams, &crr>;

}  // namespace sonda::tcp
