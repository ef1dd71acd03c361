// SendResult <-> JSON, and the sender's totals across flows.
#include <algorithm>

#include "flow_receiver.hpp"
#include "sender.hpp"

namespace sonda::udp {

nlohmann::json SendResult::to_json() const {
  nlohmann::json j = {{"flow_id", flow_id},
                      {"sent", sent},
                      {"sent_bytes", sent_bytes},
                      {"start_ns", start_ns},
                      {"end_ns", end_ns},
                      {"duration_ns", end_ns - start_ns},
                      {"skipped_slots", skipped_slots},
                      {"send_errors", send_errors},
                      {"gso", gso_used},
                      {"target_packets_per_sec", target_packets_per_sec}};
  j.update(rate_json(sent, sent_bytes, end_ns - start_ns));
  if (!first_error.empty()) {
    j["first_error"] = first_error;
  }
  return j;
}

SendResult SendResult::from_json(const nlohmann::json& j) {
  SendResult r;
  r.flow_id = j.value("flow_id", 0u);
  r.sent = j.value("sent", uint64_t{0});
  r.sent_bytes = j.value("sent_bytes", uint64_t{0});
  r.start_ns = j.value("start_ns", int64_t{0});
  r.end_ns = j.value("end_ns", int64_t{0});
  r.skipped_slots = j.value("skipped_slots", uint64_t{0});
  r.send_errors = j.value("send_errors", uint64_t{0});
  r.first_error = j.value("first_error", std::string());
  r.gso_used = j.value("gso", false);
  r.target_packets_per_sec = j.value("target_packets_per_sec", 0.0);
  return r;
}

nlohmann::json sender_totals(const std::vector<SendResult>& flows, const RateSpec& rate,
                             uint64_t payload_bytes) {
  uint64_t sent = 0;
  uint64_t bytes = 0;
  uint64_t skipped = 0;
  uint64_t errors = 0;
  int64_t start = flows.empty() ? 0 : flows.front().start_ns;
  int64_t end = start;
  std::string first_error;
  nlohmann::json per_flow = nlohmann::json::array();
  for (const SendResult& f : flows) {
    sent += f.sent;
    bytes += f.sent_bytes;
    skipped += f.skipped_slots;
    errors += f.send_errors;
    start = std::min(start, f.start_ns);
    end = std::max(end, f.end_ns);
    if (first_error.empty()) {
      first_error = f.first_error;
    }
    per_flow.push_back(f.to_json());
  }
  nlohmann::json j = {{"sent", sent},         {"sent_bytes", bytes},
                      {"duration_ns", end - start}, {"skipped_slots", skipped},
                      {"send_errors", errors}, {"target", rate.to_json()},
                      {"gso", !flows.empty() && flows.front().gso_used}};
  j.update(rate_json(sent, bytes, end - start));
  if (rate.unlimited) {
    j["rate_held"] = true;
    j["shortfall_pct"] = 0.0;
  } else {
    const double target_pps = rate.flow_packets_per_sec(payload_bytes, 1);
    const double achieved = j["packets_per_sec"].get<double>();
    const double shortfall = std::max(0.0, (target_pps - achieved) / target_pps * 100.0);
    j["target_packets_per_sec"] = target_pps;
    j["target_bits_per_sec"] = target_pps * 8.0 * static_cast<double>(payload_bytes);
    j["rate_held"] = shortfall <= 1.0;
    j["shortfall_pct"] = shortfall;
  }
  if (!first_error.empty()) {
    j["first_error"] = first_error;
  }
  j["flows"] = std::move(per_flow);
  return j;
}

}  // namespace sonda::udp
