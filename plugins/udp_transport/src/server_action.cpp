// The `server` action and the check of its `control` parameter.
#include <cstdlib>

#include "actions.hpp"
#include "udp_server.hpp"

namespace sonda::udp {

int control_port_of(const std::string& control) {
  if (control == "same") {
    return -1;
  }
  char* end = nullptr;
  const long port = std::strtol(control.c_str(), &end, 10);
  if (control.empty() || *end != '\0' || port < 0 || port > 65535) {
    invalid_param("control", "expected 'same' or a TCP port number (0: any free port), got '" + control + "'");
  }
  return static_cast<int>(port);
}

void check_server_params(const ServerParams& p) { control_port_of(p.control); }

nlohmann::json serve(const ServerParams& p, Context& ctx) {
  ServerOptions o;
  o.listen = p.listen;
  o.echo = p.mode == "echo";
  o.rcvbuf_bytes = p.rcvbuf_bytes;
  o.interval_ns = p.interval_ns;
  o.control_port = control_port_of(p.control);
  UdpServer server(o);
  ctx.ready(server.ready_info());
  return server.run([&ctx] { return ctx.should_stop(); }, [&ctx](const nlohmann::json& s) { ctx.sample(s); });
}

}  // namespace sonda::udp
