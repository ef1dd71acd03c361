// The `server` action and the parameter accessors shared by all actions.
#include <cstdlib>

#include "actions.hpp"
#include "udp_server.hpp"

namespace sonda::udp {

int64_t int_param(const nlohmann::json& params, const char* name, int64_t fallback) {
  if (!params.contains(name) || params[name].is_null()) {
    return fallback;
  }
  const nlohmann::json& v = params[name];
  if (v.is_number_integer() || v.is_number_unsigned()) {
    return v.get<int64_t>();
  }
  if (v.is_number_float()) {
    return static_cast<int64_t>(v.get<double>());
  }
  invalid_param(name, "expected a number, got " + v.dump());
}

std::string string_param(const nlohmann::json& params, const char* name, const std::string& fallback) {
  if (!params.contains(name) || params[name].is_null()) {
    return fallback;
  }
  if (!params[name].is_string()) {
    invalid_param(name, "expected a string, got " + params[name].dump());
  }
  return params[name].get<std::string>();
}

bool bool_param(const nlohmann::json& params, const char* name, bool fallback) {
  if (!params.contains(name) || params[name].is_null()) {
    return fallback;
  }
  if (!params[name].is_boolean()) {
    invalid_param(name, "expected true/false, got " + params[name].dump());
  }
  return params[name].get<bool>();
}

nlohmann::json server_action(const nlohmann::json& params, Context& ctx) {
  ServerOptions o;
  o.listen = string_param(params, "listen", "0.0.0.0:0");
  const std::string mode = string_param(params, "mode", "sink");
  if (mode != "sink" && mode != "echo") {
    invalid_param("mode", "expected sink|echo, got '" + mode + "'");
  }
  o.echo = mode == "echo";
  o.rcvbuf_bytes = static_cast<int>(int_param(params, "rcvbuf", 32 << 20));
  o.interval_ns = int_param(params, "interval", 1'000'000'000);
  const std::string control = string_param(params, "control", "same");
  if (control != "same") {
    char* end = nullptr;
    const long port = std::strtol(control.c_str(), &end, 10);
    if (control.empty() || *end != '\0' || port < 0 || port > 65535) {
      invalid_param("control", "expected 'same' or a TCP port number (0: any free port), got '" + control + "'");
    }
    o.control_port = static_cast<int>(port);
  }
  UdpServer server(o);
  ctx.ready(server.ready_info());
  return server.run([&ctx] { return ctx.should_stop(); }, [&ctx](const nlohmann::json& s) { ctx.sample(s); });
}

}  // namespace sonda::udp
