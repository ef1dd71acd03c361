#include "wire_header.hpp"

namespace sonda::udp {
namespace {

void put_be(uint8_t* p, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) {
    p[i] = static_cast<uint8_t>(v & 0xFFu);
    v >>= 8;
  }
}

uint64_t get_be(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) {
    v = (v << 8) | p[i];
  }
  return v;
}

}  // namespace

void write_header(const WireHeader& h, uint8_t* out) {
  put_be(out, kMagic, 4);
  put_be(out + 4, h.flow_id, 4);
  put_be(out + 8, h.seq, 8);
  put_be(out + 16, static_cast<uint64_t>(h.send_ns), 8);
}

ParseStatus parse_header(const uint8_t* data, size_t len, WireHeader* out) {
  if (data == nullptr || len < kHeaderBytes) {
    return ParseStatus::kTooShort;
  }
  if (get_be(data, 4) != kMagic) {
    return ParseStatus::kForeignMagic;
  }
  out->flow_id = static_cast<uint32_t>(get_be(data + 4, 4));
  out->seq = get_be(data + 8, 8);
  out->send_ns = static_cast<int64_t>(get_be(data + 16, 8));
  return ParseStatus::kOk;
}

}  // namespace sonda::udp
