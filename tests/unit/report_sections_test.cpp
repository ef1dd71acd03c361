// The discovery sections of the summary (report kinds interfaces, services,
// kernel_threads, occupation): built from records, every cell whole.
#include "report_sections.hpp"

#include <gtest/gtest.h>

#include <sstream>

#include "report.hpp"

using nlohmann::json;
using sonda::ReportSpec;

namespace {
ReportSpec spec_of(const json& doc) {
  ReportSpec s;
  const auto errors = sonda::parse_report_spec(doc, s);
  EXPECT_TRUE(errors.empty()) << errors.front();
  return s;
}

size_t longest_line(const std::string& text) {
  std::istringstream in(text);
  size_t n = 0;
  for (std::string line; std::getline(in, line);) n = std::max(n, line.size());
  return n;
}

const std::string kLongEvidence =
    "process 'python3' (started under that name; its executable file is python3.11) matches catalog entry "
    "'sonda-lab-echo' from /usr/share/sonda/proc_scanner/apps.yaml";

const json kScan = {
    {"sockets",
     {{{"protocol", "tcp"}, {"local", {{"address", "127.0.0.1"}, {"port", 10000}}}, {"state", "LISTEN"},
       {"netns", 1},
       {"owners", {{{"pid", 42}, {"process", "python3"}, {"user", "alice"},
                    {"container", {{"runtime", "docker"}, {"id", "0123456789abcdef0123"}}}}}}},
      {{"protocol", "udp"}, {"local", {{"address", "0.0.0.0"}, {"port", 53}}}, {"state", "UNCONN"}, {"netns", 1},
       {"owners", {{{"pid", 7}, {"process", "dnsmasq"}, {"user", "nobody"}}}}}}},
    {"services",
     {{{"port", 10000}, {"protocol", "tcp"}, {"netns", 1}, {"addresses", {"127.0.0.1:10000"}}, {"pids", {42}},
       {"process", "python3"}, {"application", "sonda lab echo server (python3)"}, {"confidence", "high"},
       {"evidence", {kLongEvidence, "10000/tcp is a default port of sonda lab echo server (python3)"}}},
      {{"port", 53}, {"protocol", "udp"}, {"netns", 1}, {"addresses", {"0.0.0.0:53"}}, {"pids", {7}},
       {"process", "dnsmasq"}, {"application", "dnsmasq DNS/DHCP server"}, {"confidence", "medium"},
       {"evidence", json::array()}}}},
    {"namespaces", {{{"inode", 1}, {"own", true}}}},
    {"kernel_threads",
     {{"count", 3},
      {"groups",
       {{{"name", "kworker"}, {"count", 2}, {"what", "workqueue workers: run deferred kernel work"},
         {"sockets", "none: kernel threads have no file descriptors"}},
        {{"name", "kworker/R-*"}, {"count", 1}, {"what", "a rescuer worker"},
         {"sockets", "none: kernel threads have no file descriptors"},
         {"queues", {{{"queue", "netns"}, {"what", "network-namespace workqueue"}}}}}}},
      {"init", {{"pid", 1}, {"process", "systemd"}, {"what", "the init system"}}}}}};
}  // namespace

TEST(ReportSections, TextTableWrapsTheLastColumnAndNeverCuts) {
  const std::string text = sonda::text_table({"A", "WHAT"}, {{"x", std::string(30, 'w') + " " + kLongEvidence}}, 60,
                                             {{kLongEvidence}});
  EXPECT_LE(longest_line(text), 60u) << text;
  EXPECT_EQ(text.find("..."), std::string::npos) << text;
  for (const char* word : {"'sonda-lab-echo'", "/usr/share/sonda/proc_scanner/apps.yaml"}) {
    EXPECT_NE(text.find(word), std::string::npos) << text;
  }
}

TEST(ReportSections, ServicesListEveryServiceWithOwnerUserContainerAndEvidence) {
  const json built = sonda::build_report(spec_of({{"kind", "services"}, {"title", "Services"}, {"step", "scan"}}),
                                         {{"scan", kScan}});
  ASSERT_EQ(built["rows"].size(), 2u);
  EXPECT_EQ(built["rows"][0]["user"], "alice");
  EXPECT_EQ(built["rows"][0]["container"], "docker 0123456789ab");
  const std::string text = sonda::render_report(built);
  for (const std::string& part : {std::string("10000/tcp"), std::string("python3 (pid 42)"), std::string("alice"),
                                  std::string("docker 0123456789ab"), std::string("sonda lab echo server (python3)"),
                                  std::string("53/udp"), std::string("dnsmasq (pid 7)"), std::string("nobody"),
                                  std::string("evidence: none"), std::string("apps.yaml")}) {
    EXPECT_NE(text.find(part), std::string::npos) << part << "\n" << text;
  }
  EXPECT_LE(longest_line(text), 110u) << text;
}

TEST(ReportSections, KernelThreadsAreATableWithQueuesAndPidOne) {
  const std::string text = sonda::render_report(sonda::build_report(
      spec_of({{"kind", "kernel_threads"}, {"step", "scan"}}), {{"scan", kScan}}));
  EXPECT_NE(text.find("kworker/R-*"), std::string::npos) << text;
  EXPECT_NE(text.find("queue netns: network-namespace workqueue"), std::string::npos) << text;
  EXPECT_NE(text.find("3 kernel threads; none holds a socket"), std::string::npos) << text;
  EXPECT_NE(text.find("pid 1 is systemd: the init system"), std::string::npos) << text;
}

TEST(ReportSections, InterfacesShowStateAddressesCountersAndTheirChange) {
  const json ifaces = {{"interfaces",
                        {{{"name", "lo"}, {"operstate", "UNKNOWN"}, {"up", true}, {"mtu", 65536},
                          {"mac", "00:00:00:00:00:00"},
                          {"addresses", {{{"cidr", "127.0.0.1/8"}}, {{"cidr", "::1/128"}}}},
                          {"counters", {{"rx_bytes", 2048}, {"rx_packets", 20}, {"tx_bytes", 2048}, {"tx_packets", 20}}}},
                         {{"name", "eth1"}, {"operstate", "DOWN"}, {"up", false}, {"mtu", 1500}, {"mac", "02:00:00:00:00:01"},
                          {"addresses", json::array()}, {"counters", {{"rx_bytes", 0}, {"tx_bytes", 0}}}}}}};
  const json watch = {{"elapsed_ns", 3000000000LL},
                      {"interfaces", {{"lo", {{"rx_bytes", 1024}, {"rx_packets", 10}, {"tx_bytes", 1024},
                                              {"tx_packets", 10}, {"rx_bits_per_sec", 2730.0}}}}}};
  const std::string text = sonda::render_report(sonda::build_report(
      spec_of({{"kind", "interfaces"}, {"step", "ifaces"}, {"changes", {"during_load"}}}),
      {{"ifaces", ifaces}, {"during_load", watch}}));
  for (const char* part : {"lo", "UNKNOWN", "65536", "addresses: 127.0.0.1/8 ::1/128", "addresses: none", "2 KiB / 20 pkts", "DOWN (admin down)",
                           "during during_load (3 s): rx +1 KiB / 10 pkts, tx +1 KiB / 10 pkts (rx 2.73 kbit/s)"}) {
    EXPECT_NE(text.find(part), std::string::npos) << part << "\n" << text;
  }
}

TEST(ReportSections, OccupationReadsOwnerAndScanRecordsAndSaysWhatIsMissing) {
  const json owner = {{"port", 10000}, {"protocol", "udp"}, {"found", true},
                      {"owners", {{{"pid", 9}, {"process", "sonda"}, {"user", "root"}, {"state", "UNCONN"},
                                   {"local", "127.0.0.1:10000"}}}}};
  const json built = sonda::build_report(
      spec_of({{"kind", "occupation"}, {"port", 10000},
               {"rows", {{{"label", "UDP"}, {"load", "udp_rr"}, {"owner", "who_udp"}},
                         {{"label", "TCP"}, {"load", "tcp_rr"}, {"owner", "scan"}},
                         {{"label", "gone"}, {"load", "x_rr"}, {"owner", "who_x"}}}}}),
      {{"who_udp", owner}, {"udp_rr", json::object()}, {"scan", kScan}, {"tcp_rr", json::object()}});
  const std::string text = sonda::render_report(built);
  EXPECT_NE(text.find("UDP (udp_rr)  10000/udp  9"), std::string::npos) << text;
  EXPECT_NE(text.find("TCP (tcp_rr)  10000/tcp  42"), std::string::npos) << text;
  EXPECT_NE(text.find("step 'who_x' did not run or failed"), std::string::npos) << text;
}

TEST(ReportSections, AMissingStepIsANoteNotAnError) {
  const json built = sonda::build_report(spec_of({{"kind", "services"}, {"step", "scan"}}), json::object());
  EXPECT_EQ(built["note"], "step 'scan' did not run or failed: nothing to show");
  EXPECT_NE(sonda::render_report(built).find("note: step 'scan' did not run"), std::string::npos);
}

TEST(ReportSections, RejectsSectionsWithoutTheirStep) {
  ReportSpec s;
  const auto errors = sonda::parse_report_spec({{"kind", "interfaces"}, {"title", "Net"}}, s);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], "report 'Net': 'interfaces' needs 'step', the step to show");
}

TEST(ReportSections, ReadPathsNameWhatEachSectionReads) {
  // The runner parses only these parts of big records (a 19 000-socket scan).
  EXPECT_EQ(sonda::report_read_paths(spec_of({{"kind", "kernel_threads"}, {"step", "scan"}})),
            (std::vector<std::string>{"scan.kernel_threads"}));
  EXPECT_EQ(sonda::report_read_paths(
                spec_of({{"kind", "occupation"}, {"rows", {{{"label", "x"}, {"load", "rr"}, {"owner", "who"}}}}})),
            (std::vector<std::string>{"who", "rr.summary"}));
}
