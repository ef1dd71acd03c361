// rr against sonda's echo server and against a Python echo server the test
// starts; lost replies are counted, never waited for beyond their timeout.
#include <gtest/gtest.h>

#include "test_support.hpp"

namespace sonda::udp {
namespace {

using nlohmann::json;
using test::ChildProcess;
using test::ServerThread;

json run_rr(const json& params) {
  return test::run("rr", params);
}

uint16_t port_of(ChildProcess& p) {
  const std::string line = p.read_line(5000);
  if (line.rfind("PORT ", 0) != 0) {
    return 0;
  }
  return static_cast<uint16_t>(std::stoi(line.substr(5)));
}

TEST(UdpRr, MeasuresLatencyAgainstSondaEcho) {
  ServerThread server(json{{"listen", "127.0.0.1:0"}, {"mode", "echo"}});
  const json rec = run_rr({{"target", "127.0.0.1:" + std::to_string(server.port())}, {"size", 64},
                           {"count", 2000}, {"duration", 0}, {"timeout", 1'000'000'000}});
  ASSERT_FALSE(rec.contains("error")) << rec.dump();
  EXPECT_EQ(rec["requests"], 2000);
  EXPECT_EQ(rec["replies"].get<uint64_t>() + rec["lost"].get<uint64_t>(), 2000u);
  EXPECT_EQ(rec["latency"]["count"], rec["replies"]);
  EXPECT_GT(rec["latency"]["min_ns"].get<uint64_t>(), 0u);
  EXPECT_LE(rec["latency"]["p50_ns"].get<uint64_t>(), rec["latency"]["p99_ns"].get<uint64_t>());
  EXPECT_GT(rec["transactions_per_sec"].get<double>(), 0.0);
  EXPECT_GE(server.stop()["echoed"].get<uint64_t>(), rec["replies"].get<uint64_t>());
}

// warmup (as sockperf warms up by default): the first part of the run is
// left out of every figure, and how many transactions it took is reported;
// the server echoed both parts.
TEST(UdpRr, WarmupIsLeftOutOfTheFiguresAndReported) {
  ServerThread server(json{{"listen", "127.0.0.1:0"}, {"mode", "echo"}});
  const json rec = run_rr({{"target", "127.0.0.1:" + std::to_string(server.port())}, {"size", 64},
                           {"duration", 600'000'000}, {"warmup", 200'000'000}, {"timeout", 1'000'000'000}});
  ASSERT_FALSE(rec.contains("error")) << rec.dump();
  const uint64_t warm = rec["warmup"]["transactions"].get<uint64_t>();
  EXPECT_EQ(rec["warmup"]["duration_ns"], 200'000'000);
  EXPECT_GT(warm, 0u);
  EXPECT_EQ(rec["latency"]["count"], rec["replies"]);
  EXPECT_EQ(rec["replies"].get<uint64_t>() + rec["lost"].get<uint64_t>(), rec["requests"].get<uint64_t>());
  // Measured part: ~400 of the 600 ms.
  EXPECT_GT(rec["duration_ns"].get<int64_t>(), 350'000'000);
  EXPECT_LT(rec["duration_ns"].get<int64_t>(), 500'000'000);
  EXPECT_EQ(server.stop()["echoed"].get<uint64_t>(), warm + rec["requests"].get<uint64_t>());
}

TEST(UdpRr, WarmupMustBeShorterThanTheRun) {
  ServerThread server(json{{"listen", "127.0.0.1:0"}, {"mode", "echo"}});
  const json rec = run_rr({{"target", "127.0.0.1:" + std::to_string(server.port())}, {"duration", 100'000'000},
                           {"warmup", 100'000'000}});
  ASSERT_TRUE(rec.contains("error")) << rec.dump();
  EXPECT_EQ(rec["error"]["kind"], "invalid_param");
  EXPECT_EQ(rec["error"]["parameter"], "warmup");
}

TEST(UdpRr, WorksAgainstAnExternalPythonEchoServer) {
  ChildProcess echo({"python3", UDP_TESTS_DIR "/udp_echo_server.py", "--port", "0"});
  const uint16_t port = port_of(echo);
  ASSERT_NE(port, 0);
  const json rec = run_rr({{"target", "127.0.0.1:" + std::to_string(port)}, {"size", 200}, {"count", 500},
                           {"duration", 0}, {"timeout", 1'000'000'000}});
  ASSERT_FALSE(rec.contains("error")) << rec.dump();
  EXPECT_EQ(rec["replies"], 500);
  EXPECT_EQ(rec["lost"], 0);
  EXPECT_EQ(rec["malformed"], 0);
}

TEST(UdpRr, CountsEachUnansweredRequestAsLostExactly) {
  // The Python server drops every 4th reply: 200 requests -> exactly 50 lost.
  // A reply slower than the timeout is lost too, and then shows up as late.
  ChildProcess echo({"python3", UDP_TESTS_DIR "/udp_echo_server.py", "--port", "0", "--drop-every", "4"});
  const uint16_t port = port_of(echo);
  ASSERT_NE(port, 0);
  const json rec = run_rr({{"target", "127.0.0.1:" + std::to_string(port)}, {"size", 64}, {"count", 200},
                           {"duration", 0}, {"timeout", 50'000'000}});
  ASSERT_FALSE(rec.contains("error")) << rec.dump();
  const uint64_t late = rec["late_replies"];
  EXPECT_EQ(rec["requests"], 200);
  EXPECT_EQ(rec["lost"].get<uint64_t>(), 50u + late);
  EXPECT_EQ(rec["replies"].get<uint64_t>(), 150u - late);
  EXPECT_EQ(rec["latency"]["count"], rec["replies"]);
}

TEST(UdpRr, SilentServerFailsTheStepInsteadOfHanging) {
  // A sink never answers: every request times out and the step says so.
  ServerThread server(json{{"listen", "127.0.0.1:0"}, {"mode", "sink"}});
  const json rec = run_rr({{"target", "127.0.0.1:" + std::to_string(server.port())}, {"count", 5},
                           {"duration", 0}, {"timeout", 20'000'000}});
  ASSERT_TRUE(rec.contains("error")) << rec.dump();
  EXPECT_EQ(rec["error"]["kind"], "no_replies");
  EXPECT_EQ(rec["requests"], 5);
  EXPECT_EQ(rec["lost"], 5);
  EXPECT_EQ(server.stop()["datagrams"], 5);
}

}  // namespace
}  // namespace sonda::udp
