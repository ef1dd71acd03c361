// The summary's sections (`report:` kinds interfaces, services,
// kernel_threads, occupation and the comparison's answers) through the real
// binary and the real plugins: every section printed, every service a row
// of its own, nothing cut; the same data in run.json; bad sections are
// file:line:column errors.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "cli_harness.hpp"

namespace sonda::testing {
namespace {

using nlohmann::json;

/// A socket of this test bound to 127.0.0.1:<ephemeral> (TCP: listening).
struct OwnSocket {
  int fd = -1;
  int port = 0;
  explicit OwnSocket(int type) {
    fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && (type != SOCK_STREAM || listen(fd, 4) == 0) &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
      port = ntohs(a.sin_port);
    }
  }
  ~OwnSocket() { close(fd); }
  OwnSocket(const OwnSocket&) = delete;
  OwnSocket& operator=(const OwnSocket&) = delete;
};

const char* kScenario = R"(name: sections
defaults: { duration: 400ms }
steps:
  - { id: ifaces, use: iface_scanner.scan, with: { include_down: true } }
  - { id: sockets, use: proc_scanner.scan, with: { listening: true } }
  - { id: tsrv, use: tcp_transport.server, with: { listen: "127.0.0.1:0", mode: echo } }
  - { id: usrv, use: udp_transport.server, with: { listen: "127.0.0.1:0", mode: echo } }
  - parallel:
      - { id: lo_watch, use: iface_scanner.watch, with: { interface: [lo] } }
      - { id: trr, use: tcp_transport.rr, with: { target: "127.0.0.1:${tsrv.port}", size: 64B } }
      - { id: who_tcp, use: proc_scanner.owner, with: { port: "${tsrv.port}", protocol: tcp } }
  - parallel:
      - { id: urr, use: udp_transport.rr, with: { target: "127.0.0.1:${usrv.port}", size: 64B } }
      - { id: who_udp, use: proc_scanner.owner, with: { port: "${usrv.port}", protocol: udp } }
report:
  - { kind: interfaces, title: Network configuration, step: ifaces, changes: [lo_watch] }
  - { kind: services, title: Services, step: sockets }
  - { kind: kernel_threads, title: Kernel threads, step: sockets }
  - kind: occupation
    title: Occupation
    rows:
      - { label: TCP, load: trr, owner: who_tcp }
      - { label: UDP, load: urr, owner: who_udp }
  - title: TCP vs UDP
    question: Is UDP faster than TCP?
    columns: [TCP, UDP]
    pairs: [[TCP, UDP]]
    rows:
      - { label: RTT p50, unit: ns, better: lower, values: [trr.latency.p50_ns, urr.latency.p50_ns] }
      - { label: transactions/s, better: higher, values: [trr.transactions_per_sec, urr.transactions_per_sec],
          loss: ["", urr.loss_ratio] }
      - { label: throughput, unit: bits_per_sec, better: higher, values: [trr.no_such_figure, urr.no_such_figure] }
)";

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(SummarySectionsCli, EverySectionIsPrintedWholeAndStoredInRunJson) {
  ASSERT_TRUE(std::filesystem::exists(SONDA_BIN_DIR "/proc_scanner.so")) << "proc_scanner.so is not built";
  // Five TCP listeners and a bound UDP socket of this very process: six
  // services the scan must list, each on its own row.
  std::vector<std::unique_ptr<OwnSocket>> own;
  for (int i = 0; i < 5; ++i) own.push_back(std::make_unique<OwnSocket>(SOCK_STREAM));
  own.push_back(std::make_unique<OwnSocket>(SOCK_DGRAM));
  for (const auto& s : own) ASSERT_GT(s->port, 0);

  ScratchDir dir;
  const auto r = run_sonda({"run", dir.write("s.yaml", kScenario), "-o", dir.path() + "/out", "-q"}, {}, 90);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const size_t sections = r.out.find("Network configuration\n");
  ASSERT_NE(sections, std::string::npos) << r.out;
  const std::string text = r.out.substr(sections);
  for (const char* title : {"Network configuration\n=====", "Services\n========", "Kernel threads\n=====",
                            "Occupation\n==========", "TCP vs UDP\n", "Is UDP faster than TCP? (TCP vs UDP)",
                            "Two figures are called equal when they differ by less than 5 %"}) {
    EXPECT_NE(text.find(title), std::string::npos) << title << "\n" << text;
  }
  // Whole: no cut cell, no line past the table width.
  for (const std::string& line : lines_of(text)) {
    EXPECT_EQ(line.find("..."), std::string::npos) << line;
    if (line.rfind("results: ", 0) != 0) {
      EXPECT_LE(line.size(), 110u) << line;
    }
  }
  // Every service of this process: its own row, port, owner with pid, user, evidence.
  const std::string me = "(pid " + std::to_string(getpid()) + ")";
  for (size_t i = 0; i < own.size(); ++i) {
    const std::string port = std::to_string(own[i]->port) + (i < 5 ? "/tcp" : "/udp");
    const size_t at = text.find("\n" + port + " ");
    ASSERT_NE(at, std::string::npos) << port << "\n" << text;
    const std::string row = text.substr(at + 1, text.find('\n', at + 1) - at - 1);
    EXPECT_NE(row.find(me), std::string::npos) << row;
    EXPECT_NE(row.find("root"), std::string::npos) << row;
    EXPECT_NE(text.find("    evidence: ", at), std::string::npos) << text;
  }
  EXPECT_NE(text.find("lo "), std::string::npos) << text;
  EXPECT_NE(text.find("during lo_watch ("), std::string::npos) << text;
  EXPECT_NE(text.find("kworker"), std::string::npos) << text;
  EXPECT_NE(text.find("none holds a socket"), std::string::npos) << text;
  EXPECT_NE(text.find("TCP (trr)"), std::string::npos) << text;
  EXPECT_NE(text.find("UDP (urr)"), std::string::npos) << text;
  EXPECT_NE(text.find("  - throughput: not measured for TCP nor UDP (n/a)"), std::string::npos) << text;
  EXPECT_EQ(text.find("Overall"), std::string::npos) << text;

  const json run = latest_run(dir.path() + "/out", "sections");
  std::vector<std::string> kinds;
  for (const json& rep : run["reports"]) kinds.push_back(rep.value("kind", ""));
  EXPECT_EQ(kinds, (std::vector<std::string>{"interfaces", "services", "kernel_threads", "occupation", "comparison"}));
  EXPECT_GE(run["reports"][1]["rows"].size(), own.size());
  const json& occupation = run["reports"][3]["rows"];
  ASSERT_EQ(occupation.size(), 2u);
  for (const json& row : occupation) {
    ASSERT_EQ(row["holders"].size(), 1u) << row.dump();
    EXPECT_EQ(row["holders"][0]["process"], "sonda") << row.dump();
  }
  EXPECT_EQ(run["reports"][4]["answers"][0]["figures"].size(), 3u);
}

TEST(SummarySectionsCli, BadSectionsAreFileLineColumnErrors) {
  ScratchDir dir;
  const std::string file = dir.write("bad.yaml", R"(name: bad
steps:
  - { id: scan, use: proc_scanner.scan }
report:
  - kind: servics
    step: scan
  - kind: occupation
    rows:
      - { label: x, load: scan, owner: scna }
  - kind: kernel_threads
    step: scan
    stepp: scan
)");
  const auto r = run_sonda({"validate", file});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  const std::string all = r.out + r.err;
  EXPECT_NE(all.find(file + ":5:5: unknown report kind 'servics'; did you mean 'services'?"), std::string::npos) << all;
  EXPECT_NE(all.find(file + ":9:33: report 'occupation': unknown step 'scna' in rows[0].owner; did you mean 'scan'?"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find(file + ":12:5: unknown key 'stepp' in kernel_threads report; did you mean 'step'?"),
            std::string::npos)
      << all;
}

}  // namespace
}  // namespace sonda::testing
