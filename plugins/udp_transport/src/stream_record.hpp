// Turns what the sender did and what the receiver measured into the stream
// step's record and interval samples.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sender.hpp"
#include "stream_shape.hpp"

namespace sonda::udp {

/// Sums per-flow receiver figures (as FlowReceiver::to_json makes them) into
/// totals: counts add up, rates add up, jitter and reorder distance are the
/// worst flow's, one-way delay is given when there is exactly one flow.
nlohmann::json receiver_totals(const nlohmann::json& flows);

/// Per-interval samples summed across flows (index i = i-th interval since
/// each flow's first arrival).
std::vector<nlohmann::json> interval_samples(const nlohmann::json& flows);

/// The stream step's record: {summary, mode, target, payload_bytes, flows,
/// sender{...}, receiver{...}|null, receiver_note}.
nlohmann::json stream_record(const std::string& mode, const std::string& target, const StreamShape& shape,
                             const std::vector<SendResult>& sent, const nlohmann::json& receiver_flows,
                             const std::string& receiver_note);

}  // namespace sonda::udp
