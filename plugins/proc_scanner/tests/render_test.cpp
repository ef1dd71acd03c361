// The two renderers of the scan record agree, field for field.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "scan.hpp"
#include "test_support.hpp"

namespace sonda::proc_scanner {
namespace {

using nlohmann::json;

TEST(Render, TextRendererPrintsTheSameRecordAsTheDom) {
  std::vector<int> fds;
  const int listener = testing::bound_socket(AF_INET6, SOCK_STREAM, "::1", 0, 64);
  fds.push_back(listener);
  for (int i = 0; i < 20; ++i) {
    fds.push_back(testing::connected_socket(AF_INET6, SOCK_STREAM, "::1", "::1",
                                            testing::local_port(listener)));
    fds.push_back(::accept(listener, nullptr, nullptr));
  }
  fds.push_back(testing::bound_socket(AF_INET, SOCK_DGRAM, "127.0.0.1", 0));
  const ScanOptions options = ScanOptions::bind(json::object());
  const ScanResult result = collect_scan(options);
  const json dom = render_scan(result, options);
  const json text = json::parse(render_scan_text(result, options));
  EXPECT_EQ(text, dom) << "differences: " << json::diff(dom, text).dump(1).substr(0, 2000);
  EXPECT_GE(text["sockets"].size(), 42u);
  testing::close_all(fds);
}

// Services are identified on the owner thread during the dump (the
// listeners are dumped first); a second render of the same result
// identifies them again after the dump, as the renderer did before. Both
// must agree under the scan's filters, and all_netns leaves them to the
// renderer.
TEST(Render, ServicesIdentifiedDuringTheDumpAreThoseTheRendererFinds) {
  std::vector<int> fds;
  const int tcp = testing::bound_socket(AF_INET, SOCK_STREAM, "127.0.0.1", 0, 8);
  const int tcp6 = testing::bound_socket(AF_INET6, SOCK_STREAM, "::1", 0, 8);
  const int udp = testing::bound_socket(AF_INET, SOCK_DGRAM, "127.0.0.1", 0);
  fds = {tcp, tcp6, udp};
  for (int i = 0; i < 5; ++i) {
    fds.push_back(testing::connected_socket(AF_INET, SOCK_STREAM, "127.0.0.1", "127.0.0.1",
                                            testing::local_port(tcp)));
    fds.push_back(::accept(tcp, nullptr, nullptr));
  }
  const std::vector<json> filters = {
      json::object(),
      {{"protocol", "tcp"}, {"listening", true}},
      {{"port", testing::local_port(tcp6)}},
      {{"protocol", "udp"}, {"pid", static_cast<int>(::getpid())}},
      {{"state", json::array({"LISTEN"})}, {"process", "proc_scanner_te"}},
  };
  for (const json& params : filters) {
    const ScanOptions options = ScanOptions::bind(params);
    const ScanResult result = collect_scan(options);
    ASSERT_NE(result.services, nullptr) << params.dump() << ": not identified during the dump";
    const json early = render_scan(result, options);  // takes the table made during the dump
    ASSERT_EQ(result.services, nullptr);
    const json late = render_scan(result, options);  // identifies again
    EXPECT_EQ(early["services"], late["services"]) << params.dump();
    EXPECT_EQ(early["summary"], late["summary"]) << params.dump();
    EXPECT_EQ(early["kernel_threads"], late["kernel_threads"]) << params.dump();
    bool ours = false;
    for (const json& svc : early["services"]) {
      for (const int port : {testing::local_port(tcp), testing::local_port(tcp6),
                             testing::local_port(udp)}) {
        ours = ours || svc["port"] == port;
      }
    }
    EXPECT_TRUE(ours) << params.dump() << ": none of this test's listeners is a service";
  }
  const ScanResult all = collect_scan(ScanOptions::bind({{"all_netns", true}}));
  EXPECT_EQ(all.services, nullptr) << "all_netns dumps other namespaces after the walk";
  testing::close_all(fds);
}

// A socket lists its owners as {pid, process}, like `ss -p`; the record's
// `processes` holds each of those processes whole, once, by pid, and no
// process that owns no listed socket.
TEST(Render, SocketsNameTheirOwnersAndTheProcessTableHoldsThemOnce) {
  const int a = testing::bound_socket(AF_INET, SOCK_STREAM, "127.0.0.1", 0, 8);
  const int b = testing::bound_socket(AF_INET, SOCK_DGRAM, "127.0.0.1", 0);
  const ScanOptions options = ScanOptions::bind(json::object());
  const ScanResult result = collect_scan(options);
  for (const json& record : {render_scan(result, options), json::parse(render_scan_text(result, options))}) {
    std::set<int> owning;
    size_t ours = 0;
    for (const json& s : record["sockets"]) {
      for (const json& o : s["owners"]) {
        ASSERT_EQ(o.size(), 2u) << o.dump();
        owning.insert(o["pid"].get<int>());
        if (o["pid"] == static_cast<int>(::getpid())) {
          ++ours;
          EXPECT_EQ(o["process"], "proc_scanner_te");  // comm: 15 bytes
        }
      }
    }
    EXPECT_GE(ours, 2u);
    std::set<int> listed;
    int last = 0;
    for (const json& p : record["processes"]) {
      const int pid = p["pid"].get<int>();
      EXPECT_GT(pid, last) << "processes: one each, by pid";
      last = pid;
      listed.insert(pid);
      EXPECT_TRUE(p.contains("exe") && p.contains("cmdline") && p.contains("user") && p.contains("uid"))
          << p.dump();
    }
    EXPECT_EQ(listed, owning);
    json whole = record;
    inline_owner_details(whole);
    for (const json& s : whole["sockets"]) {
      for (const json& o : s["owners"]) {
        if (o["pid"] == static_cast<int>(::getpid())) {
          EXPECT_EQ(o["exe"], std::filesystem::read_symlink("/proc/self/exe").string());
        }
      }
    }
  }
  ::close(a);
  ::close(b);
}

// A socket bound to a device (SO_BINDTODEVICE) carries the device's name in
// its local endpoint, as ss prints `127.0.0.1%lo:port`; others carry none.
TEST(Render, BoundDeviceIsNamedInTheLocalEndpoint) {
  std::vector<int> fds;
  const auto bound_to_lo = [&](int type) {
    const int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
    const char device[] = "lo";
    if (::setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, device, sizeof device) != 0) {
      ::close(fd);
      return -1;
    }
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    if (type == SOCK_STREAM) {
      EXPECT_EQ(::listen(fd, 4), 0);
    }
    fds.push_back(fd);
    return fd;
  };
  const int udp = bound_to_lo(SOCK_DGRAM);
  if (udp < 0) {
    FAIL() << "cannot run: " << "SO_BINDTODEVICE needs CAP_NET_RAW";
  }
  const int tcp = bound_to_lo(SOCK_STREAM);
  const int plain = testing::bound_socket(AF_INET, SOCK_DGRAM, "127.0.0.1", 0);
  fds.push_back(plain);
  const ScanOptions options =
      ScanOptions::bind({{"pid", static_cast<int>(::getpid())}, {"identify", false}});
  const ScanResult result = collect_scan(options);
  const json dom = render_scan(result, options);
  const json text = json::parse(render_scan_text(result, options));
  EXPECT_EQ(text, dom) << json::diff(dom, text).dump(1).substr(0, 2000);
  const auto local_of = [&](int fd) {
    for (const json& s : text["sockets"]) {
      if (s["local"]["port"] == testing::local_port(fd)) {
        return s["local"];
      }
    }
    return json();
  };
  EXPECT_EQ(local_of(udp).value("interface", ""), "lo") << local_of(udp);
  EXPECT_EQ(local_of(tcp).value("interface", ""), "lo") << local_of(tcp);
  EXPECT_FALSE(local_of(plain).is_null());
  EXPECT_FALSE(local_of(plain).contains("interface")) << local_of(plain);
  // The oracle: ss names the same device for the same ports.
  const std::string ss = testing::run_command("ss -tuanH").out;
  EXPECT_NE(ss.find("127.0.0.1%lo:" + std::to_string(testing::local_port(udp))),
            std::string::npos) << ss.substr(0, 2000);
  EXPECT_NE(ss.find("127.0.0.1%lo:" + std::to_string(testing::local_port(tcp))),
            std::string::npos);
  testing::close_all(fds);
}

}  // namespace
}  // namespace sonda::proc_scanner
