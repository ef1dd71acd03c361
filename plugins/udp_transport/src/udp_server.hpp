// sonda's UDP server: a sink (count and analyse) or echo socket, plus a TCP
// control listener on the same port number through which stream clients
// fetch the receiver's figures or ask for a reverse stream.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "receive_table.hpp"
#include "sonda_common/net.hpp"

namespace sonda::udp {

/// Server settings after validation.
struct ServerOptions {
  std::string listen = "0.0.0.0:0";
  bool echo = false;
  int rcvbuf_bytes = 32 << 20;
  int64_t interval_ns = 1'000'000'000;
  /// How long the report waits for a flow to go quiet before answering.
  int64_t quiet_ns = 100'000'000;
  /// TCP port of the report channel: -1 the UDP port's number (so a client
  /// finds it without being told), 0 any free port, else that port. Another
  /// port lets a TCP server hold the UDP port's number, as in the lab.
  int control_port = -1;
};

/// Binds on construction (throws StepError kind "addr_in_use" with
/// {"port", "protocol"} when taken); serves in run() until told to stop.
class UdpServer {
 public:
  explicit UdpServer(const ServerOptions& options);
  ~UdpServer();
  UdpServer(const UdpServer&) = delete;
  UdpServer& operator=(const UdpServer&) = delete;

  /// The bound address, port and effective buffer (what ready() announces).
  nlohmann::json ready_info() const;
  uint16_t port() const { return port_; }
  /// The report channel's TCP port (the UDP port's number by default).
  uint16_t control_port() const { return control_.port(); }

  /// Serves until `should_stop()`. `on_sample` gets one interval sample per
  /// interval. Returns the server's record (totals, flows not yet reported).
  nlohmann::json run(const std::function<bool()>& should_stop,
                     const std::function<void(const nlohmann::json&)>& on_sample);

 private:
  void accept_loop(const std::function<bool()>& should_stop);
  void serve_control(common::Fd conn, const std::function<bool()>& should_stop);
  nlohmann::json report_flows(const nlohmann::json& request, const std::function<bool()>& should_stop);
  nlohmann::json reverse_stream(const nlohmann::json& request, const common::SockAddr& peer,
                                const std::function<bool()>& should_stop);

  ServerOptions options_;
  common::Fd udp_;
  /// Binds UDP on `want` and TCP on options_.control_port.
  void bind_apart(const common::SockAddr& want);
  void finish_setup();
  common::Fd tcp_;
  common::SockAddr bound_;
  uint16_t port_ = 0;
  common::SockAddr control_;
  int rcvbuf_effective_ = 0;
  bool gro_ = false;
  std::string boot_id_;
  ReceiveTable table_;
  std::mutex workers_mutex_;
  std::vector<std::thread> workers_;
  std::atomic<uint64_t> reports_{0};
  std::atomic<uint64_t> reverse_streams_{0};
  std::atomic<uint64_t> control_errors_{0};
};

}  // namespace sonda::udp
