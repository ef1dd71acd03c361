// owner and wait_for against child processes the test starts.
#include <gtest/gtest.h>

#include <fstream>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <sonda/plugin.hpp>
#include <thread>

#include "params.hpp"
#include "port_lookup.hpp"
#include "test_support.hpp"

namespace sonda::proc_scanner {
namespace {

using nlohmann::json;

// A python3 parent that forks a child; the child listens on `port` after
// `delay` seconds. Prints the child's pid once forked.
std::vector<std::string> forking_listener(uint16_t port, double delay, const char* kind = "tcp") {
  const std::string type = std::string(kind) == "udp" ? "socket.SOCK_DGRAM" : "socket.SOCK_STREAM";
  const std::string listen = std::string(kind) == "udp" ? "" : "; s.listen()";
  return {testing::python3(), "-c",
          "import os,socket,sys,time\n"
          "pid=os.fork()\n"
          "if pid==0:\n"
          "    time.sleep(" + std::to_string(delay) + ")\n"
          "    s=socket.socket(socket.AF_INET," + type + "); s.bind(('127.0.0.1'," +
              std::to_string(port) + "))" + listen + "\n"
          "    time.sleep(60)\n"
          "else:\n"
          "    print(pid, flush=True); os.wait()\n"};
}

TEST(Owner, NamesTheProcessHoldingThePort) {
  const uint16_t port = testing::free_tcp_port();
  testing::ChildProcess parent(forking_listener(port, 0));
  const int child = std::stoi(parent.read_line());
  json record;
  // The child binds, then listens: a lookup between the two finds the port
  // held by a bound socket (state CLOSE), which is right but not yet what
  // this test waits for.
  for (int i = 0; i < 200; ++i) {
    record = find_port_owner(port, "tcp");
    if (record["found"] == true && record["owners"].size() == 1 && record["owners"][0]["state"] == "LISTEN") {
      break;
    }
    ::usleep(20000);
  }
  ASSERT_EQ(record["found"], true) << record.dump(2);
  ASSERT_EQ(record["owners"].size(), 1u);
  const json& owner = record["owners"][0];
  EXPECT_EQ(owner["pid"], child);
  EXPECT_EQ(owner["process"], "python3");
  EXPECT_EQ(owner["local"], "127.0.0.1:" + std::to_string(port));
  EXPECT_EQ(owner["state"], "LISTEN");
  EXPECT_EQ(owner["user"], "root");
  EXPECT_NE(owner["cmdline"].get<std::string>().find("import os,socket"), std::string::npos);
  EXPECT_EQ(record["summary"], "port " + std::to_string(port) + "/tcp is in use by python3 (pid " +
                                   std::to_string(child) + ")");
  parent.stop();
  ::kill(child, SIGKILL);
  for (int i = 0; i < 200 && find_port_owner(port, "tcp")["found"] == true; ++i) {
    ::usleep(10000);
  }
  record = find_port_owner(port, "tcp");
  EXPECT_EQ(record["found"], false);
  EXPECT_EQ(record["summary"], "port " + std::to_string(port) + "/tcp is free");
}

TEST(Owner, FindsUdpBoundSocketsAndRejectsBadPorts) {
  const int fd = testing::bound_socket(AF_INET, SOCK_DGRAM, "127.0.0.1", 0);
  const uint16_t port = testing::local_port(fd);
  const json record = find_port_owner(port, "udp");
  ASSERT_EQ(record["found"], true);
  EXPECT_EQ(record["owners"][0]["pid"], static_cast<int>(::getpid()));
  EXPECT_EQ(record["owners"][0]["state"], "UNCONN");
  EXPECT_EQ(find_port_owner(port, "tcp")["found"], false);
  // Through the action's table, as the host and the plugin dispatcher do.
  EXPECT_THROW(kOwnerParams.bind({{"port", 0}}), StepError);
  EXPECT_THROW(kOwnerParams.bind({{"port", 80}, {"protocol", "sctp"}}), StepError);
  ::close(fd);
}

TEST(WaitFor, ReturnsOnceADescendantListens) {
  const uint16_t port = testing::free_tcp_port();
  testing::ChildProcess parent(forking_listener(port, 0.3));
  const int child = std::stoi(parent.read_line());
  WaitSpec spec;
  spec.port = port;
  spec.pid = parent.pid();  // the listener is its child
  spec.timeout_ns = 10'000'000'000;
  spec.interval_ns = 20'000'000;
  const json record = wait_for_port(spec, [] { return false; });
  EXPECT_EQ(record["pid"], child);
  EXPECT_EQ(record["process"], "python3");
  EXPECT_EQ(record["local"], "127.0.0.1:" + std::to_string(port));
  EXPECT_GE(record["waited_ns"].get<int64_t>(), 200'000'000);
}

TEST(WaitFor, TimesOutWhenTheListenerBelongsToSomeoneElse) {
  const int fd = testing::bound_socket(AF_INET, SOCK_STREAM, "127.0.0.1", 0, 8);
  const uint16_t port = testing::local_port(fd);
  testing::ChildProcess sleeper({"sleep", "30"});
  // Between fork and exec the child still holds a copy of our listener (it
  // is close-on-exec, not close-on-fork): wait until it is `sleep`.
  auto comm = [&] {
    std::ifstream in("/proc/" + std::to_string(sleeper.pid()) + "/comm");
    std::string name;
    std::getline(in, name);
    return name;
  };
  for (int i = 0; i < 400 && comm() != "sleep"; ++i) {
    ::usleep(5000);
  }
  WaitSpec spec;
  spec.port = port;
  spec.pid = sleeper.pid();
  spec.timeout_ns = 300'000'000;
  spec.interval_ns = 50'000'000;
  try {
    wait_for_port(spec, [] { return false; });
    FAIL() << "wait_for returned for a port its pid does not hold";
  } catch (const StepError& e) {
    EXPECT_EQ(e.kind(), "timeout");
    EXPECT_EQ(std::string(e.what()), "nothing listening on " + std::to_string(port) +
                                         "/tcp owned by pid " + std::to_string(sleeper.pid()) +
                                         " or its children after 300ms");
  }
  // Without a pid, our own listener satisfies it at once.
  spec.pid = 0;
  const json record = wait_for_port(spec, [] { return false; });
  EXPECT_EQ(record["pid"], static_cast<int>(::getpid()));
  ::close(fd);
}

TEST(WaitFor, HonoursStop) {
  WaitSpec spec;
  spec.port = testing::free_tcp_port();
  spec.timeout_ns = 30'000'000'000;
  std::atomic<bool> stop{false};
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    stop = true;
  });
  try {
    wait_for_port(spec, [&] { return stop.load(); });
    FAIL() << "wait_for ignored should_stop";
  } catch (const StepError& e) {
    EXPECT_EQ(e.kind(), "cancelled");
    EXPECT_EQ(e.details()["waited_ns"].get<int64_t>() < 5'000'000'000, true);
  }
  stopper.join();
}

TEST(WaitFor, FormatsDurationsAsPeopleWriteThem) {
  EXPECT_EQ(format_duration_ns(10'000'000'000), "10s");
  EXPECT_EQ(format_duration_ns(250'000'000), "250ms");
  EXPECT_EQ(format_duration_ns(1'500'000'000), "1.5s");
  EXPECT_EQ(format_duration_ns(800'000), "800us");
}

}  // namespace
}  // namespace sonda::proc_scanner
