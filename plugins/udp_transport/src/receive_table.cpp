#include "receive_table.hpp"

#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <poll.h>

#include <algorithm>
#include <cstring>

#include "sonda_common/net.hpp"

namespace sonda::udp {

FlowKey FlowKey::from(const sockaddr_storage& src, uint32_t flow_id) {
  FlowKey k;
  k.family = src.ss_family;
  k.flow_id = flow_id;
  if (src.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&src);
    std::memcpy(k.addr.data(), &in->sin_addr, 4);
    k.port = in->sin_port;
  } else if (src.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&src);
    k.port = in6->sin6_port;
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
      // A dual-stack socket sees v4 senders as ::ffff:a.b.c.d; key them as
      // the v4 address the sender itself reports.
      k.family = AF_INET;
      std::memcpy(k.addr.data(), in6->sin6_addr.s6_addr + 12, 4);
    } else {
      std::memcpy(k.addr.data(), &in6->sin6_addr, 16);
    }
  }
  return k;
}

std::string FlowKey::source() const {
  common::SockAddr a;
  if (family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&a.storage);
    in->sin_family = AF_INET;
    std::memcpy(&in->sin_addr, addr.data(), 4);
    in->sin_port = port;
    a.len = sizeof(sockaddr_in);
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
    in6->sin6_family = AF_INET6;
    std::memcpy(&in6->sin6_addr, addr.data(), 16);
    in6->sin6_port = port;
    a.len = sizeof(sockaddr_in6);
  }
  return a.to_string();
}

size_t FlowKeyHash::operator()(const FlowKey& k) const {
  uint64_t h = 1469598103934665603ull;  // FNV-1a over the key's fields
  auto mix = [&h](const uint8_t* p, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      h = (h ^ p[i]) * 1099511628211ull;
    }
  };
  mix(k.addr.data(), k.addr.size());
  mix(reinterpret_cast<const uint8_t*>(&k.port), sizeof k.port);
  mix(reinterpret_cast<const uint8_t*>(&k.flow_id), sizeof k.flow_id);
  return static_cast<size_t>(h);
}

void ReceiveTable::on_datagram(const sockaddr_storage& from, const uint8_t* data, size_t len,
                               int64_t arrival_ns) {
  ++datagrams_;
  WireHeader h;
  switch (parse_header(data, len, &h)) {
    case ParseStatus::kTooShort:
      ++too_short_;
      return;
    case ParseStatus::kForeignMagic:
      ++foreign_magic_;
      return;
    case ParseStatus::kOk:
      break;
  }
  const FlowKey key = FlowKey::from(from, h.flow_id);
  FlowReceiver* flow = last_flow_;
  if (flow == nullptr || !(key == last_key_)) {
    auto it = flows_.find(key);
    if (it == flows_.end() && flows_.size() >= kMaxFlows) {
      ++too_many_flows_;
      return;
    }
    auto& slot = it != flows_.end() ? it->second : flows_[key];
    if (!slot) {
      slot = std::make_unique<FlowReceiver>(interval_ns_);
    }
    flow = slot.get();
    last_key_ = key;
    last_flow_ = flow;
  }
  const SeqVerdict v = flow->on_datagram(h, len, arrival_ns);
  if (v == SeqVerdict::kNew || v == SeqVerdict::kOutOfOrder) {
    ++interval_packets_;
    interval_bytes_ += len;
  }
}

const FlowReceiver* ReceiveTable::find(const FlowKey& key) const {
  auto it = flows_.find(key);
  return it == flows_.end() ? nullptr : it->second.get();
}

void ReceiveTable::erase(const FlowKey& key) {
  if (last_key_ == key) {
    last_flow_ = nullptr;
  }
  flows_.erase(key);
}

nlohmann::json ReceiveTable::to_json(bool shared_clock, uint64_t wire_overhead) const {
  nlohmann::json flows = nlohmann::json::array();
  for (const auto& [key, flow] : flows_) {
    nlohmann::json f = flow->to_json(std::nullopt, shared_clock, wire_overhead);
    f.erase("intervals");
    f["source"] = key.source();
    f["flow_id"] = key.flow_id;
    flows.push_back(std::move(f));
  }
  return {{"datagrams", datagrams_},
          {"malformed",
           {{"too_short", too_short_}, {"foreign_magic", foreign_magic_}, {"too_many_flows", too_many_flows_}}},
          {"flows", std::move(flows)}};
}

std::pair<uint64_t, uint64_t> ReceiveTable::take_interval() {
  std::pair<uint64_t, uint64_t> out{interval_packets_, interval_bytes_};
  interval_packets_ = 0;
  interval_bytes_ = 0;
  return out;
}

bool receive_queue_empty(int fd) {
  uint32_t meminfo[SK_MEMINFO_VARS] = {};
  socklen_t len = sizeof meminfo;
  if (::getsockopt(fd, SOL_SOCKET, SO_MEMINFO, meminfo, &len) == 0 &&
      len > SK_MEMINFO_RMEM_ALLOC * sizeof(uint32_t)) {
    return meminfo[SK_MEMINFO_RMEM_ALLOC] == 0;
  }
  int queued = 0;
  return ::ioctl(fd, FIONREAD, &queued) != 0 || queued == 0;
}

void wait_until_quiet(ReceiveTable& table, int fd, const std::vector<FlowKey>& keys,
                      int64_t quiet_ns, int64_t max_wait_ns,
                      const std::function<bool()>& should_stop) {
  const int64_t give_up = common::monotonic_ns() + max_wait_ns;
  while (!should_stop() && common::monotonic_ns() < give_up) {
    int64_t last = 0;
    bool queued = false;
    {
      std::lock_guard<std::mutex> lock(table.mutex());
      queued = !receive_queue_empty(fd);
      for (const FlowKey& key : keys) {
        if (const FlowReceiver* f = table.find(key)) {
          last = std::max(last, f->last_arrival_ns());
        }
      }
    }
    if (queued) {
      ::poll(nullptr, 0, 1);  // the receive loop still has datagrams to account
      continue;
    }
    if (common::monotonic_ns() - last >= quiet_ns) {
      return;
    }
    ::poll(nullptr, 0, 10);
  }
}

}  // namespace sonda::udp
