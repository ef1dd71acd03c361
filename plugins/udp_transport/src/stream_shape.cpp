#include "stream_shape.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <exception>
#include <sonda/plugin.hpp>
#include <thread>

#include "udp_socket.hpp"
#include "wire_header.hpp"

namespace sonda::udp {

nlohmann::json StreamShape::to_json() const {
  return {{"payload_bytes", payload_bytes}, {"rate", rate.to_json()},    {"duration_ns", duration_ns},
          {"count", count},                 {"flows", flows},             {"gso", gso},
          {"sndbuf_bytes", sndbuf_bytes},   {"max_lag_ns", max_lag_ns},   {"clock_offset_ns", clock_offset_ns}};
}

StreamShape StreamShape::from_json(const nlohmann::json& j) {
  try {
    StreamShape s;
    s.payload_bytes = j.at("payload_bytes").get<uint64_t>();
    s.rate = RateSpec::from(Rate::from_json(j.at("rate"), "rate"));
    s.duration_ns = j.at("duration_ns").get<int64_t>();
    s.count = j.at("count").get<uint64_t>();
    s.flows = j.at("flows").get<unsigned>();
    s.gso = j.at("gso").get<bool>();
    s.sndbuf_bytes = j.at("sndbuf_bytes").get<int>();
    s.max_lag_ns = j.at("max_lag_ns").get<int64_t>();
    s.clock_offset_ns = j.value("clock_offset_ns", int64_t{0});
    if (s.payload_bytes < kHeaderBytes || s.payload_bytes > 65507 || s.flows == 0 || s.flows > 1024 ||
        (s.duration_ns <= 0 && s.count == 0)) {
      throw StepError("control: stream shape out of range: " + j.dump(), "protocol");
    }
    return s;
  } catch (const nlohmann::json::exception& e) {
    throw StepError(std::string("control: bad stream shape: ") + e.what(), "protocol");
  }
}

std::vector<FlowSend> send_flows(const common::SockAddr& target, const StreamShape& shape,
                                 const std::function<bool()>& should_stop, int* sndbuf_effective) {
  std::vector<common::Fd> sockets;
  std::vector<FlowSend> out(shape.flows);
  for (unsigned i = 0; i < shape.flows; ++i) {
    common::Fd fd = open_udp(target.family());
    const int granted = size_buffer(fd.get(), false, shape.sndbuf_bytes);
    if (sndbuf_effective != nullptr) {
      *sndbuf_effective = granted;
    }
    if (::connect(fd.get(), target.get(), target.len) != 0) {
      common::throw_sys("connect", "udp " + target.to_string(), errno);
    }
    out[i].local = local_address(fd.get());
    out[i].result.flow_id = i;
    sockets.push_back(std::move(fd));
  }
  std::vector<std::thread> threads;
  std::vector<std::exception_ptr> errors(shape.flows);
  for (unsigned i = 0; i < shape.flows; ++i) {
    SendPlan plan;
    plan.flow_id = i;
    plan.payload_bytes = shape.payload_bytes;
    plan.interval_ns = shape.rate.interval_ns(shape.payload_bytes, shape.flows);
    plan.duration_ns = shape.duration_ns;
    if (shape.count > 0) {
      plan.count = shape.count / shape.flows + (i < shape.count % shape.flows ? 1 : 0);
      if (plan.count == 0) {
        continue;
      }
    }
    plan.gso = shape.gso;
    plan.max_lag_ns = shape.max_lag_ns;
    plan.clock_offset_ns = shape.clock_offset_ns;
    threads.emplace_back([&, i, plan] {
      try {
        out[i].result = run_sender(sockets[i].get(), plan, should_stop);
      } catch (...) {
        errors[i] = std::current_exception();
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  for (auto& e : errors) {
    if (e) {
      std::rethrow_exception(e);
    }
  }
  return out;
}

}  // namespace sonda::udp
