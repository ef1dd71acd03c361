#include "rate_spec.hpp"

#include <sonda/plugin.hpp>

namespace sonda::udp {

RateSpec RateSpec::from(const Rate& rate) {
  RateSpec r;
  if (rate.unlimited()) {
    return r;
  }
  if (!(rate.value > 0)) {
    invalid_param("rate", "must be positive, got " + rate.to_json().dump());
  }
  r.unlimited = false;
  r.bits_per_sec = rate.bits_per_sec();
  r.packets_per_sec = rate.packets_per_sec();
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
