// Service identification: the shipped catalog, user catalogs, /etc/services
// and the opt-in banner read, against a real python3 http.server.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "catalog.hpp"
#include "scan.hpp"
#include "services.hpp"
#include "test_support.hpp"

namespace sonda::proc_scanner {
namespace {

using nlohmann::json;

TEST(Catalog, ShippedCatalogHasAtLeastFortyDaemons) {
  const std::string path = default_catalog_path();
  ASSERT_FALSE(path.empty());
  Catalog catalog;
  catalog.load_file(path);
  EXPECT_GE(catalog.entries().size(), 40u);
  for (const char* daemon : {"sshd", "systemd-resolved", "cupsd", "avahi-daemon", "chronyd", "ntpd",
                             "dockerd", "docker-proxy", "containerd", "nginx", "apache2",
                             "postgres", "mysqld", "mariadbd", "redis-server", "memcached",
                             "mongod", "rpcbind", "dnsmasq", "named", "exim4", "postfix",
                             "dhclient", "NetworkManager"}) {
    bool found = false;
    for (const CatalogEntry& e : catalog.entries()) {
      found = found || e.id == daemon;
    }
    EXPECT_TRUE(found) << daemon;
  }
}

TEST(Catalog, ProcessAndDefaultPortGiveHighConfidence) {
  Catalog catalog;
  catalog.load_file(default_catalog_path());
  ServiceFacts sshd{22, "tcp", "sshd", "/usr/sbin/sshd", "sshd: /usr/sbin/sshd -D", "", false};
  Identification id = catalog.identify(sshd);
  ASSERT_NE(id.entry, nullptr);
  EXPECT_EQ(id.entry->id, "sshd");
  EXPECT_EQ(id.confidence, "high");
  EXPECT_EQ(id.port_name, "ssh");
  EXPECT_EQ(id.tags, (std::vector<std::string>{"catalog", "port", "services"}));

  sshd.port = 2222;  // right program, unusual port
  EXPECT_EQ(catalog.identify(sshd).confidence, "medium");

  // Port only: someone else's program on 5432.
  const ServiceFacts stranger{5432, "tcp", "mystery", "/opt/mystery", "mystery", "", false};
  id = catalog.identify(stranger);
  ASSERT_NE(id.entry, nullptr);
  EXPECT_EQ(id.entry->id, "postgres");
  EXPECT_EQ(id.confidence, "low");
  EXPECT_EQ(id.tags.front(), "port");
}

TEST(Catalog, UserCatalogExtendsAndWinsTies) {
  Catalog catalog;
  catalog.load_file(default_catalog_path());
  catalog.load_text(
      "applications:\n"
      "  - { id: labecho, name: Lab echo server, process: [python3*], cmdline: [tcp_echo_server],"
      " ports: [10000/tcp] }\n",
      "user.yaml");
  const ServiceFacts echo{10000, "tcp", "python3", "/usr/bin/python3.11",
                          "python3 scenarios/lab/tcp_echo_server.py", ""};
  const Identification id = catalog.identify(echo);
  ASSERT_NE(id.entry, nullptr);
  EXPECT_EQ(id.entry->name, "Lab echo server");
  EXPECT_EQ(id.confidence, "high");
}

TEST(Catalog, BadCatalogNamesFileAndLine) {
  Catalog catalog;
  try {
    catalog.load_text("applications:\n  - { id: x, name: X, process: [x], ports: [99999/tcp] }\n",
                      "mine.yaml");
    FAIL() << "bad port accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "mine.yaml:2: bad port '99999/tcp'; expected N/tcp or N/udp");
  }
  EXPECT_THROW(catalog.load_text("apps: []\n", "mine.yaml"), std::runtime_error);
}

TEST(Catalog, EtcServicesNamesWellKnownPorts) {
  EXPECT_EQ(service_port_name(22, "tcp"), "ssh");
  EXPECT_EQ(service_port_name(53, "udp"), "domain");
  EXPECT_EQ(service_port_name(1, "udp"), "");
}

class PythonHttpServer : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = testing::free_tcp_port();
    server_ = std::make_unique<testing::ChildProcess>(std::vector<std::string>{
        testing::python3(), "-m", "http.server", std::to_string(port_), "--bind", "127.0.0.1",
        "--directory", "/nonexistent-sonda-dir"});
    // http.server prints nothing on stdout before serving; wait for the socket.
    for (int i = 0; i < 200 && !listening(); ++i) {
      ::usleep(20000);
    }
    ASSERT_TRUE(listening()) << "python3 -m http.server did not start on " << port_;
  }
  bool listening() const {
    const json r = run_scan(ScanOptions::bind(
        {{"port", port_}, {"protocol", "tcp"}, {"listening", true}, {"identify", false}, {"owners", false}}));
    return !r["sockets"].empty();
  }
  uint16_t port_ = 0;
  std::unique_ptr<testing::ChildProcess> server_;
};

TEST_F(PythonHttpServer, IsIdentifiedAsHttpServerPython3) {
  const json record =
      run_scan(ScanOptions::bind({{"port", port_}, {"listening", true}, {"protocol", "tcp"}}));
  ASSERT_EQ(record["services"].size(), 1u) << record.dump(2);
  const json& service = record["services"][0];
  EXPECT_EQ(service["application"], "HTTP server (python3)");
  EXPECT_EQ(service["pids"], json::array({server_->pid()}));
  EXPECT_EQ(service["confidence"], "high");
  EXPECT_FALSE(service.contains("banner")) << "banner read without being asked";
  EXPECT_EQ(record["summary"].get<std::string>(),
            "1 sockets (sock_diag), 1 listening services: " + std::to_string(port_) +
                "/tcp python3 (pid " + std::to_string(server_->pid()) +
                ") -> HTTP server (python3) [catalog+cmdline, high]");
}

TEST_F(PythonHttpServer, EvidenceSaysWhenTheExecutableIsAnotherFile) {
  const json record =
      run_scan(ScanOptions::bind({{"port", port_}, {"listening", true}, {"protocol", "tcp"}}));
  ASSERT_EQ(record["services"].size(), 1u);
  // python3 runs /usr/bin/python3.11 (python3 is a link): the comm and the
  // executable differ, and the evidence says why instead of looking wrong.
  const std::string first = record["services"][0]["evidence"][0];
  EXPECT_NE(first.find("process 'python3' (started under that name; its executable file is python3."),
            std::string::npos)
      << first;
}

TEST(HttpEvidence, AStatusLineWithoutServerHeaderIsMediumEvidenceOfAnHttpServer) {
  // A server that says nothing about itself, like busybox httpd: a status
  // line and no Server: header. Its process (python3) matches no catalog entry
  // for this command line, so the HTTP reply is the evidence.
  const uint16_t port = testing::free_tcp_port();
  testing::ChildProcess server({testing::python3(), "-c",
                                "import socket\n"
                                "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
                                "s.bind(('127.0.0.1', " + std::to_string(port) + ")); s.listen()\n"
                                "while True:\n"
                                "  c,_=s.accept(); c.recv(4096); c.sendall(b'HTTP/1.0 200 OK\\r\\n\\r\\n'); c.close()\n"});
  json record;
  for (int i = 0; i < 200; ++i) {
    record = run_scan(ScanOptions::bind({{"port", port}, {"listening", true}, {"protocol", "tcp"},
                                              {"banner_ports", {port}}, {"banner_http", true},
                                              {"banner_timeout", 500000000}}));
    if (!record["services"].empty()) {
      break;
    }
    ::usleep(20000);
  }
  ASSERT_EQ(record["services"].size(), 1u) << record.dump(2);
  const json& service = record["services"][0];
  EXPECT_EQ(service["application"], "HTTP server (it sends no Server: header)") << service.dump(2);
  EXPECT_EQ(service["confidence"], "medium");
  EXPECT_EQ(service["evidence"][0], "answered HTTP HEAD with 'HTTP/1.0 200 OK' and no Server: header");
  EXPECT_EQ(service["banner"]["http"], true);
}

TEST_F(PythonHttpServer, BannerNeedsHttpOptInAndReadsServerHeader) {
  // Without banner_http nothing is sent: http.server greets no one.
  json record = run_scan(ScanOptions::bind(
      {{"port", port_},
       {"protocol", "tcp"},
       {"listening", true},
       {"banner_ports", {port_}},
       {"banner_timeout", 200000000}}));
  ASSERT_EQ(record["services"].size(), 1u);
  EXPECT_TRUE(record["services"][0]["banner"].contains("error"));

  record = run_scan(ScanOptions::bind(
      {{"port", port_},
       {"protocol", "tcp"},
       {"listening", true},
       {"banner_ports", {port_}},
       {"banner_http", true}}));
  const json& banner = record["services"][0]["banner"];
  ASSERT_TRUE(banner.contains("text")) << banner.dump();
  EXPECT_EQ(banner["text"].get<std::string>().rfind("SimpleHTTP/", 0), 0u) << banner.dump();
  EXPECT_EQ(banner["http"], true);
  const auto tags = record["services"][0]["tags"].get<std::vector<std::string>>();
  EXPECT_NE(std::find(tags.begin(), tags.end(), "banner"), tags.end());
}

}  // namespace
}  // namespace sonda::proc_scanner
