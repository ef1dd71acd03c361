// Every action against sonda's own server on loopback: byte counts agree on
// both ends, errors name the target.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include <sonda_common/net.hpp>

#include "test_support.hpp"
#include "wire.hpp"

namespace sonda::tcp {
namespace {

using test::run_action;
using test::run_expect_error;
using test::ServerThread;

constexpr int64_t kMs = 1'000'000;

/// A listening socket of the test's own on 127.0.0.1 (fd -1 when it
/// could not be made), closed when it goes.
struct OwnListener {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  std::string target;
  OwnListener() {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 4) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      ::close(fd);
      fd = -1;
      return;
    }
    target = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  }
  ~OwnListener() {
    if (fd >= 0) {
      ::close(fd);
    }
  }
  OwnListener(const OwnListener&) = delete;
  OwnListener& operator=(const OwnListener&) = delete;
};

TEST(LoopbackTest, StreamForwardReceiverCountMatchesServer) {
  ServerThread server(test::plugin(), "server", json{{"mode", "sink"}});
  std::vector<json> samples;
  const json r = run_action("stream",
                            {{"target", server.ready()["listen"]}, {"duration", 600 * kMs},
                             {"interval", 200 * kMs}, {"parallel", 2}},
                            &samples);
  const json served = server.stop();
  EXPECT_EQ(r["sent"]["measured_by"], "receiver: sonda server report, first byte to EOF");
  // The server's own count excludes the 32-byte hello, as does the report.
  EXPECT_EQ(r["bytes"].get<uint64_t>(), served["bytes_in"].get<uint64_t>());
  EXPECT_EQ(r["sent"]["bytes_sent"].get<uint64_t>(), served["bytes_in"].get<uint64_t>());
  EXPECT_GT(r["bits_per_sec"].get<double>(), 1e8);
  EXPECT_EQ(served["sessions"]["sink"], 2);
  EXPECT_EQ(r["sent"]["streams"].size(), 2U);
  EXPECT_GE(samples.size(), 2U);
  EXPECT_GT(samples.at(0)["sent"]["bytes"].get<uint64_t>(), 0U);
  EXPECT_NE(r["summary"].get<std::string>().find("received, "), std::string::npos) << r["summary"];
}

TEST(LoopbackTest, StreamByteCountIsExact) {
  ServerThread server(test::plugin(), "server", json{{"mode", "echo"}});  // the hello overrides the mode
  const int64_t want = 12'345'679;
  const json r = run_action("stream", {{"target", server.ready()["listen"]}, {"bytes", want}, {"parallel", 3}});
  const json served = server.stop();
  EXPECT_EQ(r["bytes"].get<int64_t>(), want);
  EXPECT_EQ(served["bytes_in"].get<int64_t>(), want);
}

TEST(LoopbackTest, StreamReverseAndBidirMeasureBothEnds) {
  ServerThread server(test::plugin(), "server", json{{"mode", "sink"}});
  const json rev =
      run_action("stream", {{"target", server.ready()["listen"]}, {"duration", 400 * kMs}, {"reverse", true}});
  EXPECT_EQ(rev["received"]["measured_by"], "receiver: this client, first to last byte");
  EXPECT_GT(rev["received"]["bits_per_sec"].get<double>(), 1e8);
  const json bi =
      run_action("stream", {{"target", server.ready()["listen"]}, {"duration", 400 * kMs}, {"bidir", true}});
  EXPECT_GT(bi["sent"]["receiver_bytes"].get<uint64_t>(), 0U);
  EXPECT_GT(bi["received"]["receiver_bytes"].get<uint64_t>(), 0U);
  const json served = server.stop();
  EXPECT_EQ(served["sessions"]["source"], 2);
  EXPECT_EQ(served["sessions"]["sink"], 1);
  // What the client received is at most what the server managed to send.
  EXPECT_LE(rev["received"]["receiver_bytes"].get<uint64_t>() + bi["received"]["receiver_bytes"].get<uint64_t>(),
            served["bytes_out"].get<uint64_t>());
}

TEST(LoopbackTest, StreamRecvTruncIsReportedAsSuch) {
  ServerThread server(test::plugin(), "server", json{{"mode", "sink"}});
  const json r = run_action("stream",
                            {{"target", server.ready()["listen"]}, {"duration", 300 * kMs}, {"recv_trunc", true}});
  EXPECT_TRUE(r["recv_trunc"].get<bool>());
  EXPECT_NE(r["summary"].get<std::string>().find("MSG_TRUNC"), std::string::npos);
  EXPECT_EQ(r["bytes"].get<uint64_t>(), server.stop()["bytes_in"].get<uint64_t>());
}

TEST(LoopbackTest, StreamZerocopySendsAreCountedAndTheBytesAreExact) {
  ServerThread server(test::plugin(), "server", json{{"mode", "sink"}});
  const int64_t want = 64 * 1024 * 1024 + 12'345;
  const json r = run_action("stream", {{"target", server.ready()["listen"]}, {"bytes", want}, {"zerocopy", true}});
  // Not a client send in reverse: refused with the reason, before connecting.
  const StepError e =
      test::run_expect_error("stream", {{"target", server.ready()["listen"]}, {"reverse", true}, {"zerocopy", true}});
  EXPECT_EQ(e.kind(), "invalid_param");
  EXPECT_NE(std::string(e.what()).find("zerocopy"), std::string::npos) << e.what();
  const json served = server.stop();
  EXPECT_EQ(r["send_mode"], "MSG_ZEROCOPY");
  EXPECT_EQ(r["bytes"].get<int64_t>(), want);
  EXPECT_EQ(served["bytes_in"].get<int64_t>(), want);
  const json& zc = r["zerocopy"];
  // 1 MiB per send: at least 65 sends, each released by the kernel before
  // the client let its buffer go; on loopback the kernel copies them all
  // (the receiver is local), and the record says so.
  EXPECT_GE(zc["sends"].get<uint64_t>(), 65U) << zc;
  EXPECT_EQ(zc["completed"], zc["sends"]) << zc;
  EXPECT_EQ(zc["copied_by_kernel"], zc["completed"]) << zc;
  EXPECT_NE(r["summary"].get<std::string>().find("MSG_ZEROCOPY send: the kernel copied"), std::string::npos)
      << r["summary"];
}

TEST(LoopbackTest, StreamSendfileSendsTheSameBytesAsACopyingSend) {
  // A listener of the test's own reads the whole stream (no sonda hello)
  // and checks every byte. A send sends the message from its start, so the
  // stream is the message pattern ((i * 131 + 7) mod 256), restarted at 0
  // after a partial send (SO_SNDTIMEO): the check follows the pattern and
  // accepts such a restart only where the byte is the message's first.
  const OwnListener listener;
  ASSERT_GE(listener.fd, 0);
  const int lfd = listener.fd;
  const int64_t message = 100'003;  // not a page multiple: the file's last page is partial
  const int64_t want = 8 * 1024 * 1024 + 77;
  uint64_t received = 0;
  uint64_t restarts = 0;
  int64_t first_bad = -1;
  std::thread reader([&] {
    const int c = ::accept(lfd, nullptr, nullptr);
    std::vector<unsigned char> buf(256 * 1024);
    int64_t j = 0;  // position in the message
    for (;;) {
      const ssize_t n = ::recv(c, buf.data(), buf.size(), 0);
      if (n <= 0) {
        break;
      }
      for (ssize_t k = 0; k < n; ++k) {
        const auto expect = static_cast<unsigned char>(j * 131 + 7);
        if (buf[static_cast<size_t>(k)] == expect) {
          j = (j + 1) % message;
        } else if (buf[static_cast<size_t>(k)] == 7) {
          ++restarts;
          j = 1;
        } else if (first_bad < 0) {
          first_bad = static_cast<int64_t>(received) + k;
        }
      }
      received += static_cast<uint64_t>(n);
    }
    ::close(c);
  });
  const std::string target = listener.target;
  const json r = run_action("stream", {{"target", target}, {"bytes", want}, {"size", message}, {"sendfile", true},
                                       {"handshake", false}});
  reader.join();
  EXPECT_EQ(received, static_cast<uint64_t>(want));
  EXPECT_EQ(first_bad, -1) << "the first byte off the pattern, of " << received << " (restarts " << restarts << ")";
  EXPECT_EQ(r["send_mode"], "sendfile");
  EXPECT_EQ(r["bytes"].get<int64_t>(), want) << r;
  // An unnamed file in $TMPDIR, /var/tmp or /tmp, the first that takes one
  // (memfd else).
  std::string where = "memfd";
  std::vector<std::string> dirs;
  if (const char* t = std::getenv("TMPDIR"); t != nullptr && *t != '\0') {
    dirs.emplace_back(t);
  }
  dirs.emplace_back("/var/tmp");
  dirs.emplace_back("/tmp");
  for (const std::string& dir : dirs) {
    const int f = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (f >= 0) {
      ::close(f);
      where = "O_TMPFILE in " + dir;
      break;
    }
  }
  EXPECT_EQ(r["sendfile_payload"], where) << r;

  // Through a sonda server too, both ways: with reverse the hello asks the
  // server to send with sendfile, and its record counts the connection.
  ServerThread server(test::plugin(), "server", json{{"mode", "sink"}});
  const json viasonda = run_action("stream", {{"target", server.ready()["listen"]}, {"bytes", want}, {"sendfile", true}});
  EXPECT_EQ(viasonda["bytes"].get<int64_t>(), want);
  const json back = run_action("stream", {{"target", server.ready()["listen"]}, {"bytes", want}, {"sendfile", true},
                                          {"reverse", true}});
  EXPECT_EQ(back["bytes"].get<int64_t>(), want);
  EXPECT_EQ(back["send_mode"], "sendfile");
  const StepError e = run_expect_error("stream", {{"target", server.ready()["listen"]}, {"sendfile", true},
                                                  {"zerocopy", true}});
  EXPECT_EQ(e.kind(), "invalid_param");
  EXPECT_NE(std::string(e.what()).find("sendfile"), std::string::npos) << e.what();
  const json served = server.stop();
  EXPECT_EQ(served["bytes_in"].get<int64_t>(), want);
  EXPECT_EQ(served["sendfile_connections"], 1) << served;
  // The forward stream's hello said its client sends with sendfile: the
  // server (recv_size unset) read it 256 KiB at a time.
  EXPECT_EQ(served["sendfile_clients"], 1) << served;
  EXPECT_TRUE(served["recv_size_bytes"].is_null()) << served;
}

TEST(LoopbackTest, SendfileUnsetSendsLargeWritesWithItAndSmallOnesWithACopy) {
  ServerThread server(test::plugin(), "server", json{{"mode", "sink"}});
  const std::string target = server.ready()["listen"];
  const int64_t want = 4 * 1024 * 1024 + 5;
  const json big = run_action("stream", {{"target", target}, {"bytes", want}});  // size 1 MiB
  const json edge = run_action("stream", {{"target", target}, {"bytes", want}, {"size", 65536}});
  const json small = run_action("stream", {{"target", target}, {"bytes", want}, {"size", 65535}});
  const json told = run_action("stream", {{"target", target}, {"bytes", want}, {"sendfile", false}});
  const json zc = run_action("stream", {{"target", target}, {"bytes", want}, {"zerocopy", true}});
  EXPECT_EQ(big["send_mode"], "sendfile");
  EXPECT_EQ(edge["send_mode"], "sendfile");
  EXPECT_EQ(small["send_mode"], "copy");
  EXPECT_EQ(told["send_mode"], "copy");
  EXPECT_FALSE(told.contains("sendfile_payload")) << told;
  EXPECT_EQ(zc["send_mode"], "MSG_ZEROCOPY") << "zerocopy asked, sendfile unset: no conflict";
  for (const json* r : {&big, &edge, &small, &told, &zc}) {
    EXPECT_EQ((*r)["bytes"].get<int64_t>(), want) << *r;
  }
  const json served = server.stop();
  EXPECT_EQ(served["bytes_in"].get<int64_t>(), 5 * want);
  EXPECT_EQ(served["sendfile_clients"], 2) << served;
}

TEST(LoopbackTest, SendfilePayloadSkipsATempDirectoryThatCannotHoldIt) {
  // $TMPDIR on a 64 KiB tmpfs of the test's own: the 1 MiB payload does not
  // fit, so the stream puts it in the next directory instead of failing.
  ASSERT_EQ(::geteuid(), 0U) << "cannot run: needs root to mount a tmpfs";
  char dir[] = "/tmp/sonda-tiny-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr) << std::strerror(errno);
  ASSERT_EQ(std::system(("mount -t tmpfs -o size=64k sonda-tiny " + std::string(dir)).c_str()), 0);
  const char* before = std::getenv("TMPDIR");
  const std::string saved = before != nullptr ? before : "";
  ::setenv("TMPDIR", dir, 1);
  ServerThread server(test::plugin(), "server", json{{"mode", "sink"}});
  const int64_t want = 8 * 1024 * 1024 + 3;
  const json r = run_action("stream", {{"target", server.ready()["listen"]}, {"bytes", want}});
  if (before != nullptr) {
    ::setenv("TMPDIR", saved.c_str(), 1);
  } else {
    ::unsetenv("TMPDIR");
  }
  const int unmounted = std::system(("umount " + std::string(dir)).c_str());
  ::rmdir(dir);
  EXPECT_EQ(unmounted, 0);
  EXPECT_EQ(r["send_mode"], "sendfile");
  EXPECT_NE(r["sendfile_payload"], "O_TMPFILE in " + std::string(dir)) << r;
  EXPECT_EQ(r["bytes"].get<int64_t>(), want);
  EXPECT_EQ(server.stop()["bytes_in"].get<int64_t>(), want);
}

TEST(LoopbackTest, SourceServerWithSendfileSendsItsPayloadToAPlainClient) {
  // A client of the test's own, without the hello: the server's configured
  // mode (source) and its sendfile apply. Every byte is the payload's 'x'.
  ServerThread server(test::plugin(), "server", json{{"mode", "source"}, {"sendfile", true}, {"size", 100'003}});
  const common::SockAddr addr = common::resolve_endpoint(server.ready()["listen"].get<std::string>(), SOCK_STREAM);
  const int c = ::socket(addr.family(), SOCK_STREAM, 0);
  ASSERT_EQ(::connect(c, addr.get(), addr.len), 0) << std::strerror(errno);
  std::vector<char> buf(256 * 1024);
  uint64_t got = 0;
  uint64_t not_x = 0;
  while (got < (32U << 20)) {
    const ssize_t n = ::recv(c, buf.data(), buf.size(), 0);
    ASSERT_GT(n, 0) << std::strerror(errno);
    not_x += static_cast<uint64_t>(std::count_if(buf.begin(), buf.begin() + n, [](char ch) { return ch != 'x'; }));
    got += static_cast<uint64_t>(n);
  }
  ::close(c);
  EXPECT_EQ(not_x, 0U);
  const json served = server.stop();
  EXPECT_EQ(served["sendfile_connections"], 1) << served;
  EXPECT_GE(served["bytes_out"].get<uint64_t>(), got) << served;
}

TEST(LoopbackTest, StreamMmapReceiveMapsWhatTheKernelLendsAndCountsEveryByte) {
  ServerThread server(test::plugin(), "server", json{{"mode", "sink"}});
  const std::string target = server.ready()["listen"];
  const int64_t want = 32 * 1024 * 1024 + 4321;
  // A copying sender: its bytes land in the kernel's compound pages, which
  // it does not lend to a mapping on loopback: copied, and counted.
  const json copied = run_action("stream", {{"target", target}, {"bytes", want}, {"recv_mmap", true}});
  EXPECT_EQ(copied["recv_mode"].get<std::string>().rfind("TCP_ZEROCOPY_RECEIVE", 0), 0U) << copied["recv_mode"];
  // MSG_ZEROCOPY sends: the kernel's own copies for a local receiver are
  // whole pages, and those it maps.
  const json lent =
      run_action("stream", {{"target", target}, {"bytes", want}, {"recv_mmap", true}, {"zerocopy", true}});
  EXPECT_EQ(copied["bytes"].get<int64_t>(), want);
  EXPECT_EQ(lent["bytes"].get<int64_t>(), want);
  // The client receiving (reverse): its own record counts.
  const json back = run_action("stream", {{"target", target}, {"bytes", want}, {"recv_mmap", true}, {"reverse", true}});
  ASSERT_TRUE(back["mmap_receive"].is_object()) << back;
  EXPECT_EQ(back["mmap_receive"]["mapped_bytes"].get<int64_t>() + back["mmap_receive"]["copied_bytes"].get<int64_t>(),
            back["bytes"].get<int64_t>())
      << back["mmap_receive"];
  EXPECT_TRUE(back["mmap_receive"]["refused"].is_null()) << back["mmap_receive"];
  const StepError e = test::run_expect_error("stream", {{"target", target}, {"recv_mmap", true}, {"recv_trunc", true}});
  EXPECT_EQ(e.kind(), "invalid_param");
  EXPECT_NE(std::string(e.what()).find("recv_mmap"), std::string::npos) << e.what();

  const json served = server.stop();
  ASSERT_TRUE(served["mmap_receive"].is_object()) << served;
  const json& m = served["mmap_receive"];
  EXPECT_EQ(m["sessions"], 2) << m;
  EXPECT_TRUE(m["refused"].is_null()) << m;
  EXPECT_EQ(served["bytes_in"].get<int64_t>(), 2 * want);
  // Every byte either mapped or copied (the 32-byte hellos were copied too).
  EXPECT_EQ(m["mapped_bytes"].get<int64_t>() + m["copied_bytes"].get<int64_t>(), 2 * want) << m;
  EXPECT_GT(m["mapped_bytes"].get<int64_t>(), 0) << "the kernel mapped none of the MSG_ZEROCOPY stream: " << m;
}

TEST(LoopbackTest, RrAndCrrAgainstSondaEchoOverIpv6) {
  ServerThread server(test::plugin(), "server", json{{"listen", "[::1]:0"}, {"mode", "echo"}});
  const std::string target = server.ready()["listen"];
  EXPECT_EQ(target.rfind("[::1]:", 0), 0U);
  const json rr = run_action("rr", {{"target", target}, {"duration", 400 * kMs}, {"warmup", 100 * kMs},
                                       {"verify", true}, {"outstanding", 4}, {"size", 100}});
  const json lat = rr["latency"];
  EXPECT_GT(lat["count"].get<uint64_t>(), 100U);
  EXPECT_EQ(lat["count"], rr["transactions"]);
  EXPECT_EQ(rr["verify"]["verified"].get<uint64_t>(), rr["transactions"].get<uint64_t>() +
                                                          rr["warmup"]["transactions"].get<uint64_t>());
  EXPECT_GT(rr["warmup"]["transactions"].get<uint64_t>(), 0U);
  EXPECT_LE(lat["min_ns"].get<uint64_t>(), lat["p50_ns"].get<uint64_t>());
  EXPECT_LE(lat["p50_ns"].get<uint64_t>(), lat["p99_ns"].get<uint64_t>());
  EXPECT_LE(lat["p99_ns"].get<uint64_t>(), lat["max_ns"].get<uint64_t>());
  const json crr = run_action("crr", {{"target", target}, {"duration", 300 * kMs}, {"verify", true}});
  EXPECT_GT(crr["connections_per_sec"].get<double>(), 10);
  EXPECT_EQ(crr["connect_latency"]["count"], crr["transactions"]);
  const json served = server.stop();
  EXPECT_EQ(served["connections"].get<uint64_t>(), 1 + crr["transactions"].get<uint64_t>() +
                                                        crr["warmup"]["transactions"].get<uint64_t>());
}

TEST(LoopbackTest, RrWithDifferentResponseSizeUsesSondaSession) {
  ServerThread server(test::plugin(), "server", json{{"mode", "sink"}});
  const json rr = run_action("rr", {{"target", server.ready()["listen"]}, {"duration", 200 * kMs},
                                       {"size", 32}, {"response_size", 5000}});
  const json served = server.stop();
  EXPECT_EQ(served["sessions"]["rr"], 1);
  EXPECT_EQ(served["bytes_out"].get<uint64_t>(), 5000 * rr["transactions"].get<uint64_t>());
}

TEST(LoopbackTest, RrSessionAnswersRequestsThatCameWithTheHello) {
  // A pipelining client: hello + 2.5 requests in one write, then the rest.
  ServerThread server(test::plugin(), "server", json{{"mode", "sink"}});
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(server.port());
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  wire::Hello h;
  h.op = wire::Op::kRr;
  h.request_bytes = 10;
  h.response_bytes = 20;
  std::string first(wire::encode(h).data(), wire::kHelloBytes);
  first.append(25, 'q');
  ASSERT_EQ(::send(fd, first.data(), first.size(), 0), static_cast<ssize_t>(first.size()));
  ASSERT_EQ(::send(fd, "qqqqq", 5, 0), 5);
  char buf[60];
  size_t got = 0;
  while (got < sizeof buf) {
    const ssize_t n = ::recv(fd, buf + got, sizeof buf - got, 0);
    ASSERT_GT(n, 0);
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  const json served = server.stop();
  EXPECT_EQ(served["sessions"]["rr"], 1);
  EXPECT_EQ(served["bytes_in"], 30);
  EXPECT_EQ(served["bytes_out"], 60);
}

TEST(LoopbackTest, PacedRrHoldsTheRate) {
  ServerThread server(test::plugin(), "server", json::object());
  const json rr = run_action("rr", {{"target", server.ready()["listen"]}, {"duration", 500 * kMs},
                                       {"rate", {{"packets_per_sec", 1000}}}});
  EXPECT_NEAR(rr["transactions_per_sec"].get<double>(), 1000, 50);
  EXPECT_EQ(rr["latency_from"], "scheduled send time");
}

TEST(LoopbackTest, ServerPortInUseIsAddrInUseWithPort) {
  ServerThread first(test::plugin(), "server", json::object());
  const StepError e = [&] {
    try {
      ServerThread second(test::plugin(), "server", json{{"listen", first.ready()["listen"]}});
    } catch (const StepError& err) {
      return err;
    }
    return StepError("second server started");
  }();
  EXPECT_EQ(e.kind(), "addr_in_use");
  EXPECT_EQ(e.details()["port"], first.port());
  EXPECT_EQ(e.details()["protocol"], "tcp");
  EXPECT_NE(std::string(e.what()).find("Address already in use"), std::string::npos) << e.what();
}

TEST(LoopbackTest, ConnectionRefusedNamesTarget) {
  const std::string target = "127.0.0.1:" + std::to_string(test::closed_port());
  for (const char* fn : {"stream", "rr", "crr"}) {
    const StepError e = run_expect_error(fn, {{"target", target}, {"duration", 100 * kMs}});
    EXPECT_EQ(e.kind(), "connection_refused");
    EXPECT_EQ(std::string(e.what()), "connect to " + target + ": Connection refused");
  }
}

TEST(LoopbackTest, ResetMidRunFailsWithReason) {
  // A listener of the test's own that accepts, reads a little and resets.
  const OwnListener listener;
  ASSERT_GE(listener.fd, 0);
  const int lfd = listener.fd;
  std::thread resetter([lfd] {
    const int c = ::accept(lfd, nullptr, nullptr);
    char buf[64];
    ::recv(c, buf, sizeof buf, 0);
    linger l{1, 0};
    ::setsockopt(c, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    ::close(c);
  });
  const std::string target = listener.target;
  const StepError e = run_expect_error("rr", {{"target", target}, {"duration", 2000 * kMs}});
  resetter.join();
  EXPECT_EQ(e.kind(), "reset");
  EXPECT_EQ(std::string(e.what()), "recv from " + target + ": Connection reset by peer");
}

}  // namespace
}  // namespace sonda::tcp
