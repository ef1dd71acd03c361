#include "fuzz_entry.hpp"

#include <netinet/in.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "receive_table.hpp"
#include "wire_header.hpp"

namespace sonda::udp {
namespace {

void check(bool ok) {
  if (!ok) {
    std::abort();
  }
}

sockaddr_storage fake_source(uint16_t port) {
  sockaddr_storage s{};
  auto* in = reinterpret_cast<sockaddr_in*>(&s);
  in->sin_family = AF_INET;
  in->sin_addr.s_addr = htonl(0x7F000001);
  in->sin_port = htons(port);
  return s;
}

}  // namespace

int fuzz_receive_datagrams(const uint8_t* data, size_t size) {
  ReceiveTable table(1'000'000);
  const sockaddr_storage sources[2] = {fake_source(1000), fake_source(2000)};
  std::vector<FlowKey> keys;
  uint64_t fed = 0;
  int64_t clock_ns = 1'000'000'000;
  size_t off = 0;
  std::lock_guard<std::mutex> lock(table.mutex());
  while (off < size) {
    const size_t len = std::min<size_t>(data[off], size - off - 1);
    const uint8_t* datagram = data + off + 1;
    off += 1 + len;
    const sockaddr_storage& src = sources[len % 2];
    WireHeader h;
    if (parse_header(datagram, len, &h) == ParseStatus::kOk) {
      check(len >= kHeaderBytes);
    }
    clock_ns += 1000 + static_cast<int64_t>(len);
    table.on_datagram(src, datagram, len, clock_ns);
    if (parse_header(datagram, len, &h) == ParseStatus::kOk && table.find(FlowKey::from(src, h.flow_id))) {
      keys.push_back(FlowKey::from(src, h.flow_id));
    }
    ++fed;
  }
  check(table.datagrams() == fed);
  uint64_t accounted = table.too_short() + table.foreign_magic() + table.too_many_flows();
  for (size_t i = 0; i < keys.size(); ++i) {
    const FlowReceiver* f = table.find(keys[i]);
    check(f != nullptr);  // only flows the table accepted are in keys
    // Count each distinct flow once.
    bool first = true;
    for (size_t j = 0; j < i; ++j) {
      first = first && !(keys[j] == keys[i]);
    }
    if (!first) {
      continue;
    }
    accounted += f->received() + f->duplicates() + f->wild() + f->too_old();
    check(f->lost(std::nullopt) + f->received() == f->expected(std::nullopt));
    check(f->out_of_order() <= f->received());
    check(f->jitter_ns() >= 0);
    (void)f->to_json(std::nullopt, true, 42).dump();
  }
  check(accounted == fed);
  return 0;
}

}  // namespace sonda::udp
