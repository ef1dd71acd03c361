// The `stream` action. Three ways to get receiver-measured figures:
//  - no target: a receiver on `listen` (loopback by default) runs in this
//    process next to the senders ("local");
//  - target = a sonda udp_transport.server: send, then ask the server over
//    its TCP control port for its figures for our (source, flow id)s
//    ("forward");
//  - reverse: ask the server to send to a socket of ours and measure here.
// Against a receiver that is not sonda's, the record has sender figures only
// and says why.
#include <atomic>
#include <cstdio>
#include <thread>

#include "actions.hpp"
#include "clock_sync.hpp"
#include "control_channel.hpp"
#include "receive_loop.hpp"
#include "stream_record.hpp"
#include "udp_socket.hpp"
#include "wire_header.hpp"

namespace sonda::udp {
namespace {

constexpr int64_t kQuietNs = 100'000'000;
constexpr int64_t kConnectTimeoutNs = 2'000'000'000;

StreamShape shape_from_params(const StreamParams& p, bool target_is_loopback) {
  StreamShape s;
  s.payload_bytes = static_cast<uint64_t>(p.payload_bytes);
  s.rate = RateSpec::from(p.rate);
  s.duration_ns = p.duration_ns;
  s.count = static_cast<uint64_t>(p.count);
  s.flows = static_cast<unsigned>(p.flows);
  s.gso = p.gso == "on" || (p.gso == "auto" && target_is_loopback);
  s.sndbuf_bytes = p.sndbuf_bytes;
  s.max_lag_ns = p.max_lag_ns;
  return s;
}

/// A receiving socket with its own thread, for local and reverse modes.
class LocalReceiver {
 public:
  LocalReceiver(const common::SockAddr& bind_to, int rcvbuf, int64_t interval_ns)
      : fd_(open_udp(bind_to.family())), table_(interval_ns) {
    bind_or_throw(fd_.get(), bind_to, "udp");
    addr_ = local_address(fd_.get());
    rcvbuf_ = size_buffer(fd_.get(), true, rcvbuf);
    gro_ = enable_gro(fd_.get());
    thread_ = std::thread([this] {
      try {
        run_receive_loop(fd_.get(), table_, false, [this] { return stop_.load(); }, [] {});
      } catch (...) {
        error_ = std::current_exception();
      }
    });
  }
  ~LocalReceiver() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) {
      thread_.join();
    }
    if (error_) {
      std::rethrow_exception(std::exchange(error_, nullptr));
    }
  }
  /// Per-flow figures for flows identified by (source, flow id, sent).
  nlohmann::json flows_json(const std::vector<std::pair<FlowKey, uint64_t>>& flows, bool shared_clock,
                            const std::function<bool()>& should_stop) {
    std::vector<FlowKey> keys;
    for (const auto& f : flows) {
      keys.push_back(f.first);
    }
    wait_until_quiet(table_, fd_.get(), keys, kQuietNs, 10'000'000'000, should_stop);
    stop();
    nlohmann::json out = nlohmann::json::array();
    const FlowReceiver empty(0);
    for (const auto& [key, sent] : flows) {
      const FlowReceiver* f = table_.find(key);
      nlohmann::json j = (f != nullptr ? *f : empty).to_json(sent, shared_clock, wire_overhead_bytes(addr_.family()));
      j["flow_id"] = key.flow_id;
      j["source"] = key.source();
      out.push_back(std::move(j));
    }
    return out;
  }
  nlohmann::json socket_json() {
    std::lock_guard<std::mutex> lock(table_.mutex());
    return {{"listen", addr_.to_string()}, {"rcvbuf_bytes", rcvbuf_}, {"gro", gro_},
            {"too_short", table_.too_short()}, {"foreign_magic", table_.foreign_magic()},
            {"too_many_flows", table_.too_many_flows()}};
  }
  const common::SockAddr& addr() const { return addr_; }

 private:
  common::Fd fd_;
  common::SockAddr addr_;
  int rcvbuf_ = 0;
  bool gro_ = false;
  ReceiveTable table_;
  std::atomic<bool> stop_{false};
  std::exception_ptr error_;
  std::thread thread_;
};

/// Adds the receiving socket's facts to the receiver record; its malformed
/// counters join the per-flow ones under "malformed".
void merge_socket_json(nlohmann::json& receiver, const nlohmann::json& socket) {
  for (const auto& [k, v] : socket.items()) {
    if (k == "too_short" || k == "foreign_magic" || k == "too_many_flows") {
      receiver["malformed"][k] = v;
    } else {
      receiver[k] = v;
    }
  }
}

/// The summary says the median one-way delay and which clock it is on.
void annotate_delay(nlohmann::json& record) {
  const nlohmann::json& recv = record["receiver"];
  if (!recv.contains("one_way_delay") || recv["one_way_delay"].value("count", uint64_t{0}) == 0) {
    return;
  }
  const nlohmann::json& clock = recv["one_way_delay_clock"];
  char text[160];
  if (clock.value("basis", "") == "corrected") {
    std::snprintf(text, sizeof text, "; one-way delay p50 %.1f us (clocks corrected, +/- %.1f us)",
                  recv["one_way_delay"].value("p50_ns", 0.0) / 1e3, clock.value("uncertainty_ns", 0.0) / 1e3);
  } else {
    std::snprintf(text, sizeof text, "; one-way delay p50 %.1f us (one clock)",
                  recv["one_way_delay"].value("p50_ns", 0.0) / 1e3);
  }
  record["summary"] = record.value("summary", std::string()) + text;
}

std::vector<SendResult> results_of(const std::vector<FlowSend>& sends) {
  std::vector<SendResult> out;
  for (const FlowSend& f : sends) {
    out.push_back(f.result);
  }
  return out;
}

}  // namespace

void check_stream_params(const StreamParams& p) {
  if (p.duration_ns <= 0 && p.count == 0) {
    throw StepError("parameters 'duration' and 'count': at least one must be positive", "invalid_param");
  }
  if (p.reverse && p.target.value_or("").empty()) {
    invalid_param("reverse", "needs a 'target' (a sonda udp_transport.server)");
  }
  RateSpec::from(p.rate);
}

nlohmann::json stream(const StreamParams& params, Context& ctx) {
  const std::string target_text = params.target.value_or("");
  const bool reverse = params.reverse;
  const int rcvbuf = params.rcvbuf_bytes;
  const int64_t interval_ns = params.interval_ns;
  const int64_t report_timeout_ns = params.report_timeout_ns;
  std::function<bool()> stop = [&ctx] { return ctx.should_stop(); };
  nlohmann::json record;
  nlohmann::json receiver_flows;
  std::string note;
  int sndbuf = 0;
  ClockSync clock;  // no target: one process, one clock
  clock.basis = ClockSync::Basis::kShared;

  if (target_text.empty()) {
    const common::SockAddr bind_to = common::resolve_endpoint(params.listen, SOCK_DGRAM);
    const StreamShape shape = shape_from_params(params, is_loopback(bind_to));
    LocalReceiver rx(bind_to, rcvbuf, interval_ns);
    const std::vector<FlowSend> sends = send_flows(rx.addr(), shape, stop, &sndbuf);
    std::vector<std::pair<FlowKey, uint64_t>> keys;
    for (const FlowSend& f : sends) {
      keys.emplace_back(FlowKey::from(f.local.storage, f.result.flow_id), f.result.sent);
    }
    // Same process, same CLOCK_MONOTONIC: one-way delay is meaningful.
    receiver_flows = rx.flows_json(keys, true, [] { return false; });
    record = stream_record("local", rx.addr().to_string(), shape, results_of(sends), receiver_flows, note);
    merge_socket_json(record["receiver"], rx.socket_json());
  } else {
    const common::SockAddr target = common::resolve_endpoint(target_text, SOCK_DGRAM);
    StreamShape shape = shape_from_params(params, is_loopback(target));
    // Before any datagram: the server's clock, so that one-way delay is
    // on one clock or corrected by a known amount (clock_sync.hpp).
    // The report channel: TCP on the target's port number, unless the server
    // was given another (`control`, from its ready info).
    common::SockAddr control = target;
    if (const int port = params.control_port; port > 0) {
      reinterpret_cast<sockaddr_in*>(&control.storage)->sin_port = htons(static_cast<uint16_t>(port));  // v6 too
    }
    clock = sync_clock(control, kConnectTimeoutNs);
    if (!reverse) {
      if (clock.basis == ClockSync::Basis::kCorrected) {
        shape.clock_offset_ns = clock.offset_ns;  // our send times, written in its clock
      }
      const std::vector<FlowSend> sends = send_flows(target, shape, stop, &sndbuf);
      nlohmann::json request = {{"op", "report"},
                                {"boot_id", clock_identity()},
                                {"send_times_in_receiver_clock", clock.basis == ClockSync::Basis::kCorrected},
                                {"flows", nlohmann::json::array()}};
      for (const FlowSend& f : sends) {
        request["flows"].push_back(
            {{"flow_id", f.result.flow_id}, {"source", f.local.to_string()}, {"sent", f.result.sent}});
      }
      nlohmann::json reply;
      try {
        if (clock.unreachable) {
          // The same port refused or ignored us a moment ago: not a sonda
          // server (or none), no report to ask for.
          throw StepError(clock.note, "no_report");
        }
        ControlChannel ch = ControlChannel::connect_to(control, kConnectTimeoutNs);
        ch.send(request);
        reply = ch.receive(common::monotonic_ns() + report_timeout_ns, [] { return false; });
      } catch (const StepError& e) {
        note = std::string("no sonda receiver report: ") + e.what();
      }
      if (reply.contains("error")) {
        throw StepError("server refused the report: " + reply["error"].dump(), "protocol");
      }
      if (reply.contains("flows")) {
        receiver_flows = reply["flows"];
      }
      record = stream_record("forward", target.to_string(), shape, results_of(sends), receiver_flows, note);
      if (reply.contains("flows")) {
        record["receiver"]["rcvbuf_bytes"] = reply.value("rcvbuf_bytes", 0);
        record["receiver"]["gro"] = reply.value("gro", false);
        // Not attributable to one sender: the whole server's counters.
        merge_socket_json(record["receiver"], reply.value("server_malformed", nlohmann::json::object()));
      }
    } else {
      ControlChannel ch = ControlChannel::connect_to(control, kConnectTimeoutNs);
      common::SockAddr bind_to = local_address(ch.fd());
      reinterpret_cast<sockaddr_in*>(&bind_to.storage)->sin_port = 0;  // same offset for v6
      LocalReceiver rx(bind_to, rcvbuf, interval_ns);
      if (clock.basis == ClockSync::Basis::kCorrected) {
        shape.clock_offset_ns = -clock.offset_ns;  // its send times, written in our clock
      }
      ch.send({{"op", "send"}, {"udp_port", rx.addr().port()}, {"shape", shape.to_json()}, {"boot_id", clock_identity()}});
      const int64_t budget = (shape.duration_ns > 0 ? shape.duration_ns : 0) + report_timeout_ns;
      const nlohmann::json reply = ch.receive(common::monotonic_ns() + budget, stop);
      if (reply.contains("error") || !reply.contains("flows")) {
        throw StepError("server refused the reverse stream: " + reply.dump(), "protocol");
      }
      std::vector<SendResult> sent;
      std::vector<std::pair<FlowKey, uint64_t>> keys;
      for (const nlohmann::json& f : reply["flows"]) {
        SendResult r = SendResult::from_json(f);
        const common::SockAddr src = common::resolve_endpoint(f.value("source", ""), SOCK_DGRAM);
        keys.emplace_back(FlowKey::from(src.storage, r.flow_id), r.sent);
        sent.push_back(r);
      }
      sndbuf = reply.value("sndbuf_bytes", 0);
      receiver_flows = rx.flows_json(
          keys, reply.value("boot_id", "") == clock_identity() || clock.basis == ClockSync::Basis::kCorrected,
          [] { return false; });
      record = stream_record("reverse", target.to_string(), shape, sent, receiver_flows, note);
      merge_socket_json(record["receiver"], rx.socket_json());
    }
  }
  record["sender"]["sndbuf_bytes"] = sndbuf;
  if (record["receiver"].is_object()) {
    record["receiver"]["one_way_delay_clock"] = clock.to_json();
    annotate_delay(record);
  }
  for (const nlohmann::json& s : interval_samples(receiver_flows)) {
    ctx.sample(s);
  }
  return record;
}

}  // namespace sonda::udp
