#include "wire_header.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace sonda::udp {
namespace {

TEST(WireHeader, RoundTripsEveryField) {
  std::vector<uint8_t> buf(kHeaderBytes);
  write_header({0xA1B2C3D4u, 0x0102030405060708ull, -5}, buf.data());
  WireHeader h;
  ASSERT_EQ(parse_header(buf.data(), buf.size(), &h), ParseStatus::kOk);
  EXPECT_EQ(h.flow_id, 0xA1B2C3D4u);
  EXPECT_EQ(h.seq, 0x0102030405060708ull);
  EXPECT_EQ(h.send_ns, -5);
}

TEST(WireHeader, IsBigEndianOnTheWire) {
  std::vector<uint8_t> buf(kHeaderBytes);
  write_header({1, 2, 3}, buf.data());
  EXPECT_EQ(std::vector<uint8_t>(buf.begin(), buf.begin() + 4), (std::vector<uint8_t>{'S', 'N', 'D', 'U'}));
  EXPECT_EQ(buf[7], 1);
  EXPECT_EQ(buf[15], 2);
  EXPECT_EQ(buf[23], 3);
}

TEST(WireHeader, RejectsShortDatagramsWithoutReadingPastThem) {
  std::vector<uint8_t> buf(kHeaderBytes);
  write_header({1, 2, 3}, buf.data());
  WireHeader h{7, 7, 7};
  for (size_t len = 0; len < kHeaderBytes; ++len) {
    // A heap copy of exactly `len` bytes: ASan catches any over-read.
    std::vector<uint8_t> shortbuf(buf.begin(), buf.begin() + static_cast<long>(len));
    EXPECT_EQ(parse_header(shortbuf.data(), len, &h), ParseStatus::kTooShort) << len;
  }
  EXPECT_EQ(parse_header(nullptr, 100, &h), ParseStatus::kTooShort);
  EXPECT_EQ(h.flow_id, 7u);
}

TEST(WireHeader, RejectsForeignMagic) {
  std::vector<uint8_t> buf(64, 0);
  write_header({1, 2, 3}, buf.data());
  buf[0] ^= 0x20;
  WireHeader h;
  EXPECT_EQ(parse_header(buf.data(), buf.size(), &h), ParseStatus::kForeignMagic);
}

}  // namespace
}  // namespace sonda::udp
