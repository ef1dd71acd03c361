#include "sonda_common/net.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

using sonda::common::split_host_port;

TEST(SplitHostPort, AcceptsV4V6AndBarePort) {
  EXPECT_EQ(split_host_port("127.0.0.1:10000"), std::make_pair(std::string("127.0.0.1"), uint16_t{10000}));
  EXPECT_EQ(split_host_port("[::1]:80"), std::make_pair(std::string("::1"), uint16_t{80}));
  EXPECT_EQ(split_host_port(":5201"), std::make_pair(std::string(""), uint16_t{5201}));
  EXPECT_EQ(split_host_port("5201"), std::make_pair(std::string(""), uint16_t{5201}));
}

TEST(SplitHostPort, RejectsBadInput) {
  EXPECT_THROW(split_host_port("::1:80"), std::invalid_argument);
  EXPECT_THROW(split_host_port("host:99999"), std::invalid_argument);
  EXPECT_THROW(split_host_port("host:"), std::invalid_argument);
  EXPECT_THROW(split_host_port("[::1]80"), std::invalid_argument);
  EXPECT_THROW(split_host_port("host:8o"), std::invalid_argument);
}

TEST(Resolve, NumericLoopback) {
  auto a = sonda::common::resolve("127.0.0.1", 9, SOCK_STREAM);
  EXPECT_EQ(a.family(), AF_INET);
  EXPECT_EQ(a.to_string(), "127.0.0.1:9");
  auto b = sonda::common::resolve("::1", 9, SOCK_DGRAM);
  EXPECT_EQ(b.to_string(), "[::1]:9");
}
