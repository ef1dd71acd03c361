#include "rate_spec.hpp"

#include <sonda/plugin.hpp>

namespace sonda::udp {

RateSpec RateSpec::from_json(const nlohmann::json& j) {
  RateSpec r;
  if (j.is_null() || (j.is_object() && j.value("unlimited", false))) {
    return r;
  }
  if (j.is_object() && j.contains("bits_per_sec") && j["bits_per_sec"].is_number()) {
    r.unlimited = false;
    r.bits_per_sec = j["bits_per_sec"].get<double>();
  } else if (j.is_object() && j.contains("packets_per_sec") && j["packets_per_sec"].is_number()) {
    r.unlimited = false;
    r.packets_per_sec = j["packets_per_sec"].get<double>();
  } else {
    invalid_param("rate", "expected {bits_per_sec}|{packets_per_sec}|{unlimited}, got " + j.dump());
  }
  if (r.bits_per_sec < 0 || r.packets_per_sec < 0 || (r.bits_per_sec == 0 && r.packets_per_sec == 0)) {
    invalid_param("rate", "must be positive, got " + j.dump());
  }
  return r;
}

double RateSpec::flow_packets_per_sec(uint64_t payload_bytes, unsigned flows) const {
  if (unlimited) {
    return 0;
  }
  const double total = packets_per_sec > 0 ? packets_per_sec
                                           : bits_per_sec / (8.0 * static_cast<double>(payload_bytes));
  return total / static_cast<double>(flows == 0 ? 1 : flows);
}

double RateSpec::interval_ns(uint64_t payload_bytes, unsigned flows) const {
  const double pps = flow_packets_per_sec(payload_bytes, flows);
  return pps > 0 ? 1e9 / pps : 0;
}

nlohmann::json RateSpec::to_json() const {
  if (unlimited) {
    return {{"unlimited", true}};
  }
  if (packets_per_sec > 0) {
    return {{"packets_per_sec", packets_per_sec}};
  }
  return {{"bits_per_sec", bits_per_sec}};
}

}  // namespace sonda::udp
