// rr/crr/stream against a server sonda did not write (tests/echo_server.py),
// and echo verification against one that corrupts data.
#include <gtest/gtest.h>

#include "test_support.hpp"

namespace sonda::tcp {
namespace {

using test::PythonEchoServer;
using test::run_action;
using test::run_expect_error;

constexpr int64_t kMs = 1'000'000;

TEST(ExternalServerTest, RrAndCrrAgainstPythonEcho) {
  PythonEchoServer echo;
  const json rr = run_action("rr", {{"target", echo.target()}, {"duration", 300 * kMs}, {"verify", true},
                                       {"size", 1000}, {"parallel", 2}});
  EXPECT_GT(rr["transactions"].get<uint64_t>(), 50U);
  EXPECT_EQ(rr["verify"]["verified"].get<uint64_t>(), rr["transactions"].get<uint64_t>());
  const json crr = run_action("crr", {{"target", echo.target()}, {"duration", 300 * kMs}, {"verify", true}});
  EXPECT_GT(crr["transactions"].get<uint64_t>(), 10U);
  EXPECT_GT(crr["connect_latency"]["p50_ns"].get<uint64_t>(), 0U);
}

TEST(ExternalServerTest, StreamAgainstNonSondaPeerFallsBackToAckedBytes) {
  // The echo server sends our hello back instead of a report: not sonda.
  PythonEchoServer echo;
  const json r = run_action("stream", {{"target", echo.target()}, {"duration", 300 * kMs}, {"handshake", false},
                                          {"size", 16384}});
  EXPECT_EQ(r["sent"]["measured_by"], "sender: TCP_INFO tcpi_bytes_acked (peer sent no sonda report)");
  EXPECT_GT(r["bytes"].get<uint64_t>(), 0U);
  // Every byte sent was acknowledged before the record was made: without
  // the hello the client cannot know the echo is no sonda server, so it
  // reads what comes back as it goes (else the echo, and then the stream,
  // would stall with megabytes unacknowledged).
  EXPECT_EQ(r["bytes"].get<uint64_t>(), r["sent"]["bytes_sent"].get<uint64_t>()) << r;
  EXPECT_GT(r["sent"]["returned_bytes"].get<uint64_t>(), 0U);
  EXPECT_LE(r["sent"]["returned_bytes"].get<uint64_t>(), r["sent"]["bytes_sent"].get<uint64_t>());
}

TEST(ExternalServerTest, StreamKeepsReadingWhatAnEchoServerSendsBack) {
  // With the hello on, the echo server returns it instead of a report, and
  // then every byte: the sending thread reads them between its writes. Left
  // unread until the end, they would fill this client's receive buffer and
  // the echo's send buffer; the echo would then stop reading, and once its
  // receive buffer and this client's send buffer were full the stream would
  // stall: at most those four buffers (~1.3 MiB with these sizes; the kernel
  // doubles each request) would ever be sent.
  constexpr uint64_t kBuffer = 64 * 1024;
  PythonEchoServer echo({"--buffer", std::to_string(kBuffer)});
  const json r = run_action("stream", {{"target", echo.target()}, {"duration", 1500 * kMs}, {"size", 65536},
                                          {"sndbuf", 4 * kBuffer}, {"rcvbuf", 4 * kBuffer}});
  const json& sent = r["sent"];
  EXPECT_EQ(sent["measured_by"], "sender: TCP_INFO tcpi_bytes_acked (peer sent no sonda report)");
  const uint64_t bytes_sent = sent["bytes_sent"].get<uint64_t>();
  const uint64_t four_buffers = 2 * (2 * kBuffer + 2 * 4 * kBuffer);
  EXPECT_GT(bytes_sent, 8 * four_buffers) << "the stream stalled: were the echoed bytes left unread?";
  // It returned our hello and our bytes, all of them: the client reads
  // until the server closes.
  EXPECT_EQ(sent["returned_bytes"].get<uint64_t>(), bytes_sent + 32);
}

TEST(ExternalServerTest, VerifyCatchesServerThatFlipsAByte) {
  // Byte 1000 of each connection's stream comes back inverted: transaction 15
  // of 64-byte requests (bytes 960..1023), offset 40.
  PythonEchoServer corrupt({"--flip-at", "1000"});
  const StepError e =
      run_expect_error("rr", {{"target", corrupt.target()}, {"duration", 2000 * kMs}, {"verify", true}});
  EXPECT_EQ(e.kind(), "verify_failed");
  EXPECT_EQ(e.details()["transaction"], 15);
  EXPECT_EQ(e.details()["offset"], 40);
  EXPECT_NE(std::string(e.what()).find("rr " + corrupt.target() + ": response 15 differs from its request at byte 40"),
            std::string::npos)
      << e.what();
  // Without verify the same server goes unnoticed: the check is what catches it.
  const json r = run_action("rr", {{"target", corrupt.target()}, {"duration", 200 * kMs}});
  EXPECT_GT(r["transactions"].get<uint64_t>(), 15U);
}

}  // namespace
}  // namespace sonda::tcp
