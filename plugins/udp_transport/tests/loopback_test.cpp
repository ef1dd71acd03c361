// Streams and the server over loopback: every figure checked against what
// was actually sent.
#include <gtest/gtest.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <thread>

#include "test_support.hpp"
#include "udp_socket.hpp"

namespace sonda::udp {
namespace {

using test::ServerThread;
using nlohmann::json;

json run_stream(const json& params) {
  return test::run("stream", params);
}

json run_rr(const json& params) {
  return test::run("rr", params);
}

TEST(UdpLoopback, LocalStreamAccountsForEveryDatagram) {
  const json rec = run_stream({{"size", 64}, {"rate", test::packets_per_sec(100000)}, {"count", 20000},
                               {"duration", 0}, {"interval", 100'000'000}});
  ASSERT_FALSE(rec.contains("error")) << rec.dump();
  const json& rx = rec["receiver"];
  EXPECT_EQ(rec["sender"]["sent"], 20000);
  EXPECT_EQ(rx["received"].get<uint64_t>() + rx["lost"].get<uint64_t>(), 20000u);
  EXPECT_EQ(rx["duplicates"], 0);
  EXPECT_EQ(rx["flows"][0]["expected_from"], "sender_count");
  EXPECT_TRUE(rx.contains("one_way_delay"));
  EXPECT_GT(rx["jitter_ns"].get<double>(), 0.0);
  EXPECT_NE(rec["summary"].get<std::string>().find("sent 20000"), std::string::npos);
}

TEST(UdpLoopback, ForwardStreamGetsTheServersFigures) {
  ServerThread server(json{{"listen", "127.0.0.1:0"}});
  ASSERT_NE(server.port(), 0);
  const std::string target = "127.0.0.1:" + std::to_string(server.port());
  const json rec = run_stream({{"target", target}, {"size", 512}, {"rate", test::bits_per_sec(50e6)},
                               {"count", 6000}, {"duration", 0}, {"parallel", 3}});
  ASSERT_FALSE(rec.contains("error")) << rec.dump();
  ASSERT_TRUE(rec["receiver"].is_object()) << rec.dump();
  EXPECT_EQ(rec["mode"], "forward");
  EXPECT_EQ(rec["sender"]["sent"], 6000);
  EXPECT_EQ(rec["receiver"]["flows"].size(), 3u);
  uint64_t received = 0;
  for (const json& f : rec["receiver"]["flows"]) {
    EXPECT_EQ(f["expected"], 2000);
    received += f["received"].get<uint64_t>();
  }
  EXPECT_EQ(received + rec["receiver"]["lost"].get<uint64_t>(), 6000u);
  const json srv = server.stop();
  EXPECT_EQ(srv["reports_served"], 1);
  EXPECT_EQ(srv["flows"].size(), 0u);  // reported flows are handed over, not kept
}

TEST(UdpLoopback, EchoServerReportsAStreamWhileItAnswersRequests) {
  // An echo server waits for datagrams inside recvmmsg with its table lock
  // held; a stream report (another thread) must still get the lock, and
  // find every datagram taken out of the socket accounted.
  ServerThread server(json{{"listen", "127.0.0.1:0"}, {"mode", "echo"}});
  ASSERT_NE(server.port(), 0);
  const std::string target = "127.0.0.1:" + std::to_string(server.port());
  json rr;
  std::thread client([&] {
    rr = run_rr({{"target", target}, {"size", 64}, {"count", 3000}, {"duration", 0},
                 {"timeout", 1'000'000'000}});
  });
  const json rec = run_stream({{"target", target}, {"size", 256}, {"rate", test::packets_per_sec(10000)},
                               {"count", 4000}, {"duration", 0}, {"parallel", 2}});
  client.join();
  ASSERT_TRUE(rec["receiver"].is_object()) << rec.dump();
  EXPECT_EQ(rec["sender"]["sent"], 4000);
  EXPECT_EQ(rec["receiver"]["flows"].size(), 2u);
  EXPECT_EQ(rec["receiver"]["received"].get<uint64_t>() + rec["receiver"]["lost"].get<uint64_t>(), 4000u);
  ASSERT_FALSE(rr.contains("error")) << rr.dump();
  EXPECT_EQ(rr["replies"].get<uint64_t>() + rr["lost"].get<uint64_t>(), 3000u);
  const json srv = server.stop();
  EXPECT_EQ(srv["reports_served"], 1);
  EXPECT_GE(srv["echoed"].get<uint64_t>(), rr["replies"].get<uint64_t>());
}

TEST(UdpLoopback, ServerTellsConcurrentSendersApart) {
  ServerThread server(json{{"listen", "127.0.0.1:0"}});
  const std::string target = "127.0.0.1:" + std::to_string(server.port());
  json a;
  json b;
  std::thread ta([&] {
    a = run_stream({{"target", target}, {"size", 100}, {"rate", test::packets_per_sec(20000)},
                    {"count", 3000}, {"duration", 0}});
  });
  std::thread tb([&] {
    b = run_stream({{"target", target}, {"size", 300}, {"rate", test::packets_per_sec(20000)},
                    {"count", 5000}, {"duration", 0}});
  });
  ta.join();
  tb.join();
  ASSERT_TRUE(a["receiver"].is_object()) << a.dump();
  ASSERT_TRUE(b["receiver"].is_object()) << b.dump();
  EXPECT_EQ(a["receiver"]["expected"], 3000);
  EXPECT_EQ(b["receiver"]["expected"], 5000);
  EXPECT_EQ(a["receiver"]["received"].get<uint64_t>() + a["receiver"]["lost"].get<uint64_t>(), 3000u);
  EXPECT_EQ(b["receiver"]["received"].get<uint64_t>() + b["receiver"]["lost"].get<uint64_t>(), 5000u);
  EXPECT_EQ(a["receiver"]["duplicates"], 0);
  EXPECT_EQ(b["receiver"]["duplicates"], 0);
}

TEST(UdpLoopback, ReportChannelOnAnotherPortLeavesTheUdpPortsNumberToATcpServer) {
  // The lab's layout: a TCP server holds the UDP port's number, so the UDP
  // server's report channel goes elsewhere and its ready info says where.
  ServerThread server(json{{"listen", "127.0.0.1:0"}, {"control", "0"}});
  const uint16_t control = server.ready().at("control_port").get<uint16_t>();
  ASSERT_NE(control, 0);
  ASSERT_NE(control, server.port());
  const int tcp = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in same{};
  same.sin_family = AF_INET;
  same.sin_port = htons(server.port());
  same.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(tcp, reinterpret_cast<sockaddr*>(&same), sizeof same), 0) << "the UDP port's number is free for TCP";
  const std::string target = "127.0.0.1:" + std::to_string(server.port());
  for (const bool reverse : {false, true}) {
    const json rec = run_stream({{"target", target}, {"control", control}, {"size", 512}, {"reverse", reverse},
                                 {"rate", test::bits_per_sec(20e6)}, {"count", 2000}, {"duration", 0}});
    ASSERT_TRUE(rec["receiver"].is_object()) << rec.dump();
    EXPECT_EQ(rec["receiver"]["received"].get<uint64_t>() + rec["receiver"]["lost"].get<uint64_t>(), 2000u);
    EXPECT_EQ(rec["receiver"]["one_way_delay_clock"]["basis"], "one clock");
  }
  ::close(tcp);
  EXPECT_EQ(server.stop()["reports_served"], 1);
}

TEST(UdpLoopback, ReverseStreamIsMeasuredByTheClient) {
  ServerThread server(json{{"listen", "127.0.0.1:0"}});
  const json rec = run_stream({{"target", "127.0.0.1:" + std::to_string(server.port())},
                               {"reverse", true}, {"size", 200}, {"rate", test::packets_per_sec(20000)},
                               {"count", 4000}, {"duration", 0}, {"parallel", 2}});
  ASSERT_TRUE(rec["receiver"].is_object()) << rec.dump();
  EXPECT_EQ(rec["mode"], "reverse");
  EXPECT_EQ(rec["sender"]["sent"], 4000);
  EXPECT_EQ(rec["receiver"]["expected"], 4000);
  EXPECT_EQ(rec["receiver"]["received"].get<uint64_t>() + rec["receiver"]["lost"].get<uint64_t>(), 4000u);
  // Same host, same clock: one-way delay is reported per flow.
  EXPECT_TRUE(rec["receiver"]["flows"][0].contains("one_way_delay"));
  EXPECT_EQ(server.stop()["reverse_streams"], 1);
}

TEST(UdpLoopback, WorksOverIpv6) {
  ServerThread server(json{{"listen", "[::1]:0"}});
  const json rec = run_stream({{"target", "[::1]:" + std::to_string(server.port())}, {"size", 1000},
                               {"rate", test::packets_per_sec(10000)}, {"count", 1000}, {"duration", 0}});
  ASSERT_TRUE(rec["receiver"].is_object()) << rec.dump();
  EXPECT_EQ(rec["receiver"]["expected"], 1000);
  EXPECT_NE(rec["receiver"]["flows"][0]["source"].get<std::string>().find("[::1]"), std::string::npos);
}

TEST(UdpLoopback, BusyPortIsAddrInUseWithPortAndProtocol) {
  common::Fd holder = open_udp(AF_INET);
  bind_or_throw(holder.get(), common::resolve("127.0.0.1", 0, SOCK_DGRAM), "udp");
  const uint16_t port = local_address(holder.get()).port();
  const json rec = test::run("server", {{"listen", "127.0.0.1:" + std::to_string(port)}});
  ASSERT_TRUE(rec.contains("error")) << rec.dump();
  EXPECT_EQ(rec["error"]["kind"], "addr_in_use");
  EXPECT_EQ(rec["port"], port);
  EXPECT_EQ(rec["protocol"], "udp");
}

TEST(UdpLoopback, UnreachableTargetRateIsReportedAsNotHeld) {
  // 64-byte datagrams at 1 Tbit/s: no host can, and the record must say so.
  const json rec = run_stream({{"size", 64}, {"rate", test::bits_per_sec(1e12)}, {"duration", 300'000'000}});
  ASSERT_FALSE(rec.contains("error")) << rec.dump();
  EXPECT_FALSE(rec["sender"]["rate_held"].get<bool>());
  EXPECT_GT(rec["sender"]["shortfall_pct"].get<double>(), 50.0);
  EXPECT_NE(rec["summary"].get<std::string>().find("NOT held"), std::string::npos);
}

TEST(UdpLoopback, StreamWithoutSondaReceiverSaysFiguresAreSenderOnly) {
  // Our own plain socket as the target: it swallows datagrams and has no
  // TCP control port, so the stream must not invent receiver figures.
  // Hold the same TCP port number without listening, so the control connect
  // is refused by a socket of ours rather than reaching someone else's (a
  // UDP port whose TCP twin is taken is traded for another).
  common::Fd sink;
  common::Fd tcp_holder;
  common::SockAddr addr;
  for (int attempt = 0; attempt < 50 && !tcp_holder; ++attempt) {
    sink = open_udp(AF_INET);
    bind_or_throw(sink.get(), common::resolve("127.0.0.1", 0, SOCK_DGRAM), "udp");
    addr = local_address(sink.get());
    common::Fd tcp(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (::bind(tcp.get(), addr.get(), addr.len) == 0) {
      tcp_holder = std::move(tcp);
    }
  }
  ASSERT_TRUE(tcp_holder) << "no UDP port with a free TCP twin in 50 tries";
  const std::string target = addr.to_string();
  const json rec = run_stream({{"target", target}, {"size", 64}, {"rate", test::packets_per_sec(1000)},
                               {"count", 50}, {"duration", 0}});
  EXPECT_TRUE(rec["receiver"].is_null()) << rec.dump();
  EXPECT_NE(rec["receiver_note"].get<std::string>().find("no sonda receiver"), std::string::npos);
}

}  // namespace
}  // namespace sonda::udp
