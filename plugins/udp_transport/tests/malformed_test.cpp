// Hostile and broken datagrams from the same source and flow as a real
// stream: counted as malformed, never allowed to change the stream's figures.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <vector>

#include "control_channel.hpp"
#include "receive_table.hpp"
#include "test_support.hpp"
#include "udp_socket.hpp"
#include "wire_header.hpp"

namespace sonda::udp {
namespace {

using nlohmann::json;

void send_bytes(int fd, const std::vector<uint8_t>& b) {
  ASSERT_EQ(::send(fd, b.data(), b.size(), 0), static_cast<ssize_t>(b.size()));
}

std::vector<uint8_t> datagram(uint32_t flow, uint64_t seq, size_t size = 100) {
  std::vector<uint8_t> b(size, 0xAB);
  write_header({flow, seq, common::monotonic_ns()}, b.data());
  return b;
}

TEST(UdpMalformed, BadDatagramsAreCountedAndDoNotSkewTheFlow) {
  test::ServerThread server(json{{"listen", "127.0.0.1:0"}});
  const common::SockAddr target = common::resolve("127.0.0.1", server.port(), SOCK_DGRAM);
  common::Fd fd = open_udp(AF_INET);
  ASSERT_EQ(::connect(fd.get(), target.get(), target.len), 0);
  std::vector<uint8_t> foreign(100, 0x42);
  for (uint64_t seq = 0; seq < 1000; ++seq) {
    send_bytes(fd.get(), datagram(0, seq));
    if (seq % 100 == 0) {
      send_bytes(fd.get(), {1, 2, 3});                                  // too short
      std::vector<uint8_t> cut = datagram(0, seq);
      cut.resize(kHeaderBytes - 1);
      send_bytes(fd.get(), cut);                                        // header cut short
      send_bytes(fd.get(), foreign);                                    // not sonda's
      send_bytes(fd.get(), datagram(0, seq + (uint64_t{1} << 40)));     // wild seq
      send_bytes(fd.get(), datagram(0, ~uint64_t{0}));                  // wilder seq
    }
    if (seq % 250 == 0) {
      send_bytes(fd.get(), datagram(0, seq));  // an exact duplicate
    }
    if (seq % 50 == 49) {
      ::poll(nullptr, 0, 1);  // let the receiver keep up: this test is about parsing
    }
  }
  ControlChannel ch = ControlChannel::connect_to(target, 2'000'000'000);
  ch.send({{"op", "report"},
           {"boot_id", boot_id()},
           {"flows", {{{"flow_id", 0}, {"source", local_address(fd.get()).to_string()}, {"sent", 1000}}}}});
  const json reply = ch.receive(common::monotonic_ns() + 10'000'000'000, [] { return false; });
  ASSERT_TRUE(reply.contains("flows")) << reply.dump();
  SCOPED_TRACE(reply.dump());
  const json& f = reply["flows"][0];
  EXPECT_EQ(f["received"], 1000);
  EXPECT_EQ(f["lost"], 0);
  EXPECT_EQ(f["duplicates"], 4);
  EXPECT_EQ(f["out_of_order"]["count"], 0);
  EXPECT_EQ(f["malformed"]["wild_seq"], 20);
  EXPECT_EQ(reply["server_malformed"]["too_short"], 20);
  EXPECT_EQ(reply["server_malformed"]["foreign_magic"], 10);
  EXPECT_EQ(f["one_way_delay"]["anomalies"], 0);
}

TEST(UdpMalformed, GarbageControlRequestsAreRefusedAndServerKeepsServing) {
  test::ServerThread server(json{{"listen", "127.0.0.1:0"}});
  const common::SockAddr target = common::resolve("127.0.0.1", server.port(), SOCK_STREAM);
  {
    ControlChannel ch = ControlChannel::connect_to(target, 2'000'000'000);
    ch.send({{"op", "report"}, {"flows", "not a list"}});
    const json reply = ch.receive(common::monotonic_ns() + 5'000'000'000, [] { return false; });
    EXPECT_TRUE(reply.contains("error")) << reply.dump();
  }
  {
    ControlChannel ch = ControlChannel::connect_to(target, 2'000'000'000);
    ch.send({{"op", "send"}, {"udp_port", 9}, {"shape", {{"payload_bytes", 1}}}});
    const json reply = ch.receive(common::monotonic_ns() + 5'000'000'000, [] { return false; });
    EXPECT_TRUE(reply.contains("error")) << reply.dump();
  }
  const json rec = test::run("stream", {{"target", "127.0.0.1:" + std::to_string(server.port())},
                                  {"size", 64}, {"rate", test::packets_per_sec(5000)},
                                  {"count", 200}, {"duration", 0}});
  ASSERT_TRUE(rec["receiver"].is_object()) << rec.dump();
  EXPECT_EQ(rec["receiver"]["expected"], 200);
  EXPECT_EQ(server.stop()["control_errors"], 2);
}

}  // namespace
}  // namespace sonda::udp

namespace sonda::udp {
namespace {

TEST(UdpMalformed, FlowTableIsBoundedAgainstFloodsOfNewFlowIds) {
  ReceiveTable table(0);
  sockaddr_storage src{};
  src.ss_family = AF_INET;
  std::lock_guard<std::mutex> lock(table.mutex());
  for (uint32_t flow = 0; flow < ReceiveTable::kMaxFlows + 76; ++flow) {
    const std::vector<uint8_t> d = datagram(flow, 0);
    table.on_datagram(src, d.data(), d.size(), 1);
  }
  EXPECT_EQ(table.too_many_flows(), 76u);
  EXPECT_NE(table.find(FlowKey::from(src, 0)), nullptr);
  EXPECT_EQ(table.find(FlowKey::from(src, ReceiveTable::kMaxFlows)), nullptr);
}

}  // namespace
}  // namespace sonda::udp
