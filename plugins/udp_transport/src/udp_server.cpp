#include "udp_server.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <sonda/plugin.hpp>

#include "control_channel.hpp"
#include "clock_sync.hpp"
#include "receive_loop.hpp"
#include "stream_shape.hpp"
#include "udp_socket.hpp"

namespace sonda::udp {
namespace {

constexpr int kPortAttempts = 32;
constexpr int64_t kRequestTimeoutNs = 5'000'000'000;
constexpr int64_t kMaxQuietWaitNs = 10'000'000'000;

common::Fd open_tcp_listener(const common::SockAddr& addr) {
  common::Fd fd(::socket(addr.family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) {
    common::throw_sys("socket", "control (TCP)", errno);
  }
  common::set_opt(fd.get(), SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
  return fd;
}

void set_port(common::SockAddr& a, uint16_t port) {
  if (a.family() == AF_INET) {
    reinterpret_cast<sockaddr_in*>(&a.storage)->sin_port = htons(port);
  } else {
    reinterpret_cast<sockaddr_in6*>(&a.storage)->sin6_port = htons(port);
  }
}

}  // namespace

UdpServer::UdpServer(const ServerOptions& options)
    : options_(options), boot_id_(clock_identity()), table_(options.interval_ns) {
  common::SockAddr want = common::resolve_endpoint(options.listen, SOCK_DGRAM);
  if (options.control_port >= 0) {
    bind_apart(want);
    return;
  }
  const bool any_port = want.port() == 0;
  // Port 0: the kernel picks the UDP port, and TCP must get the same number;
  // if some other TCP socket holds it, try another.
  for (int attempt = 0;; ++attempt) {
    udp_ = open_udp(want.family());
    bind_or_throw(udp_.get(), want, "udp");
    bound_ = local_address(udp_.get());
    port_ = bound_.port();
    tcp_ = open_tcp_listener(bound_);
    if (::bind(tcp_.get(), bound_.get(), bound_.len) == 0) {
      break;
    }
    const int err = errno;
    if (err == EADDRINUSE && any_port && attempt + 1 < kPortAttempts) {
      continue;
    }
    if (err == EADDRINUSE) {
      throw StepError("bind tcp (control) " + bound_.to_string() + ": " + std::strerror(err), "addr_in_use",
                      {{"port", port_}, {"protocol", "tcp"}});
    }
    common::throw_sys("bind", "tcp (control) " + bound_.to_string(), err);
  }
  control_ = bound_;
  finish_setup();
}

void UdpServer::bind_apart(const common::SockAddr& want) {
  udp_ = open_udp(want.family());
  bind_or_throw(udp_.get(), want, "udp");
  bound_ = local_address(udp_.get());
  port_ = bound_.port();
  common::SockAddr control = bound_;
  set_port(control, static_cast<uint16_t>(options_.control_port));
  tcp_ = open_tcp_listener(control);
  if (::bind(tcp_.get(), control.get(), control.len) != 0) {
    const int err = errno;
    if (err == EADDRINUSE) {
      throw StepError("bind tcp (control) " + control.to_string() + ": " + std::strerror(err), "addr_in_use",
                      {{"port", options_.control_port}, {"protocol", "tcp"}});
    }
    common::throw_sys("bind", "tcp (control) " + control.to_string(), err);
  }
  control_ = local_address(tcp_.get());
  finish_setup();
}

void UdpServer::finish_setup() {
  if (::listen(tcp_.get(), 64) != 0) {
    common::throw_sys("listen", "tcp (control) " + control_.to_string(), errno);
  }
  rcvbuf_effective_ = size_buffer(udp_.get(), true, options_.rcvbuf_bytes);
  // Echo replies datagram by datagram, so coalescing would only add work.
  gro_ = !options_.echo && enable_gro(udp_.get());
}

UdpServer::~UdpServer() {
  for (std::thread& t : workers_) {
    if (t.joinable()) {
      t.join();
    }
  }
}

nlohmann::json UdpServer::ready_info() const {
  return {{"listen", bound_.to_string()}, {"port", port_},           {"protocol", "udp"},
          {"control", "tcp"},             {"control_port", control_.port()},
          {"mode", options_.echo ? "echo" : "sink"},
          {"rcvbuf_bytes", rcvbuf_effective_}, {"gro", gro_}};
}

nlohmann::json UdpServer::run(const std::function<bool()>& should_stop,
                              const std::function<void(const nlohmann::json&)>& on_sample) {
  std::thread acceptor([this, &should_stop] { accept_loop(should_stop); });
  int64_t interval_start = common::monotonic_ns();
  ReceiveLoopStats stats;
  try {
    stats = run_receive_loop(udp_.get(), table_, options_.echo, should_stop, [&] {
      const int64_t now = common::monotonic_ns();
      if (options_.interval_ns <= 0 || now - interval_start < options_.interval_ns) {
        return;
      }
      std::pair<uint64_t, uint64_t> iv;
      {
        std::lock_guard<std::mutex> lock(table_.mutex());
        iv = table_.take_interval();
      }
      nlohmann::json s = {{"interval_ns", now - interval_start}, {"packets", iv.first}, {"bytes", iv.second}};
      s.update(rate_json(iv.first, iv.second, now - interval_start));
      interval_start = now;
      on_sample(s);
    });
  } catch (...) {
    acceptor.join();
    throw;
  }
  acceptor.join();
  {
    std::lock_guard<std::mutex> lock(workers_mutex_);
    for (std::thread& t : workers_) {
      t.join();
    }
    workers_.clear();
  }
  std::lock_guard<std::mutex> lock(table_.mutex());
  nlohmann::json rec = ready_info();
  rec.update(table_.to_json(true, wire_overhead_bytes(bound_.family())));
  rec["echoed"] = stats.echoed;
  rec["echo_errors"] = stats.echo_errors;
  rec["reports_served"] = reports_.load();
  rec["reverse_streams"] = reverse_streams_.load();
  rec["control_errors"] = control_errors_.load();
  rec["summary"] = std::string(options_.echo ? "udp echo" : "udp sink") + " on " + bound_.to_string() +
                   ": " + std::to_string(table_.datagrams()) + " datagrams, " +
                   std::to_string(table_.too_short() + table_.foreign_magic()) + " malformed, " +
                   std::to_string(reports_.load()) + " stream reports served";
  return rec;
}

void UdpServer::accept_loop(const std::function<bool()>& should_stop) {
  while (!should_stop()) {
    pollfd p{tcp_.get(), POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) {
      continue;
    }
    common::Fd conn(::accept4(tcp_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!conn) {
      continue;
    }
    std::lock_guard<std::mutex> lock(workers_mutex_);
    workers_.emplace_back([this, c = conn.release(), &should_stop]() mutable {
      serve_control(common::Fd(c), should_stop);
    });
  }
}

void UdpServer::serve_control(common::Fd conn, const std::function<bool()>& should_stop) {
  common::SockAddr peer;
  peer.len = sizeof peer.storage;
  ::getpeername(conn.get(), peer.get(), &peer.len);
  ControlChannel ch(std::move(conn));
  try {
    nlohmann::json req = ch.receive(common::monotonic_ns() + kRequestTimeoutNs, should_stop);
    // A client measuring our clock asks a few times, then says done (or
    // goes on with its request on the same connection).
    while (req.value("op", "") == "clock") {
      ch.send({{"clock", clock_identity()}, {"now_ns", wire_now_ns()}});
      req = ch.receive(common::monotonic_ns() + kRequestTimeoutNs, should_stop);
    }
    const std::string op = req.value("op", "");
    if (op == "done") {
      return;
    }
    if (op == "report") {
      ch.send(report_flows(req, should_stop));
      ++reports_;
    } else if (op == "send") {
      ch.send(reverse_stream(req, peer, should_stop));
      ++reverse_streams_;
    } else {
      throw StepError("control: unknown op '" + op + "'", "protocol");
    }
  } catch (const std::exception& e) {
    ++control_errors_;
    try {
      ch.send({{"error", e.what()}});
    } catch (...) {
    }
  }
}

nlohmann::json UdpServer::report_flows(const nlohmann::json& request,
                                       const std::function<bool()>& should_stop) {
  const ReceiveTable::Reader reading(table_);  // an echo loop lets go of the lock
  std::vector<std::pair<FlowKey, uint64_t>> wanted;
  for (const nlohmann::json& f : request.at("flows")) {
    const common::SockAddr src = common::resolve_endpoint(f.at("source").get<std::string>(), SOCK_DGRAM);
    wanted.emplace_back(FlowKey::from(src.storage, f.at("flow_id").get<uint32_t>()), f.at("sent").get<uint64_t>());
  }
  // The sender has stopped; datagrams may still sit in our socket buffer.
  // Answer once none of the flows has delivered anything for quiet_ns.
  std::vector<FlowKey> keys;
  for (const auto& w : wanted) {
    keys.push_back(w.first);
  }
  wait_until_quiet(table_, udp_.get(), keys, options_.quiet_ns, kMaxQuietWaitNs, should_stop);
  // One clock, or the sender wrote its send times in ours (clock_sync.hpp).
  const bool shared_clock = request.value("boot_id", "") == boot_id_ || request.value("send_times_in_receiver_clock", false);
  const uint64_t overhead = wire_overhead_bytes(bound_.family());
  nlohmann::json flows = nlohmann::json::array();
  std::lock_guard<std::mutex> lock(table_.mutex());
  for (const auto& [key, sent] : wanted) {
    const FlowReceiver* f = table_.find(key);
    const FlowReceiver empty(options_.interval_ns);
    nlohmann::json j = (f != nullptr ? *f : empty).to_json(sent, shared_clock, overhead);
    j["flow_id"] = key.flow_id;
    j["source"] = key.source();
    flows.push_back(std::move(j));
    table_.erase(key);
  }
  return {{"boot_id", boot_id_},
          {"rcvbuf_bytes", rcvbuf_effective_},
          {"gro", gro_},
          {"flows", std::move(flows)},
          {"server_malformed",
           {{"too_short", table_.too_short()},
            {"foreign_magic", table_.foreign_magic()},
            {"too_many_flows", table_.too_many_flows()}}}};
}

nlohmann::json UdpServer::reverse_stream(const nlohmann::json& request, const common::SockAddr& peer,
                                         const std::function<bool()>& should_stop) {
  const StreamShape shape = StreamShape::from_json(request.at("shape"));
  common::SockAddr target = peer;
  set_port(target, request.at("udp_port").get<uint16_t>());
  int sndbuf = 0;
  const std::vector<FlowSend> sent = send_flows(target, shape, should_stop, &sndbuf);
  nlohmann::json flows = nlohmann::json::array();
  for (const FlowSend& f : sent) {
    nlohmann::json j = f.result.to_json();
    j["source"] = f.local.to_string();
    flows.push_back(std::move(j));
  }
  return {{"boot_id", boot_id_}, {"sndbuf_bytes", sndbuf}, {"flows", std::move(flows)}};
}

}  // namespace sonda::udp
