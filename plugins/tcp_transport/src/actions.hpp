// The tcp_transport actions. Each takes the normalised parameters and returns
// the step's record; failures throw sonda::StepError with a one-line reason
// naming the target. Shared by the plugin module, the tests and the bench
// driver (all link tcp_transport_core).
#pragma once

#include <sonda/plugin.hpp>

namespace sonda::tcp {

/// Background: listens, serves sink/source/echo (or a sonda session) to any
/// number of clients until ctx.should_stop(); returns what it served.
json run_server(const json& params, Context& ctx);

/// Bulk throughput, measured at the receiver.
json run_stream(const json& params, Context& ctx);

/// Request/response latency and transactions per second.
json run_rr(const json& params, Context& ctx);

/// Connect, one request/response, close: connections per second.
json run_crr(const json& params, Context& ctx);

}  // namespace sonda::tcp
