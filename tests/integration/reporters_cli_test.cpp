// The run's CI outputs through the real binary: JUnit XML checked against a
// JUnit schema with xmllint, CSV tables, and the live progress lines.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "cli_harness.hpp"

namespace sonda::testing {
namespace {

using nlohmann::json;

/// A run with a passing stream, a failing step, a step never reached and a
/// failing expectation: every kind of JUnit test case.
std::string mixed_scenario() {
  return "name: mixed\nstop_on_failure: true\n"
         "expect:\n  - load.bits_per_sec > 1000Tbit\n  - load.bits_per_sec > 1\n"
         "steps:\n"
         "  - { id: usrv, use: udp_transport.server, background: true, with: { listen: \"127.0.0.1:0\" } }\n"
         "  - { id: ustream, use: udp_transport.stream,\n"
         "      with: { target: \"127.0.0.1:${usrv.port}\", duration: 1200ms, rate: 2kpps } }\n"
         "  - { id: srv, use: tcp_transport.server, background: true, with: { listen: \"127.0.0.1:0\", mode: sink } }\n"
         "  - { id: load, use: tcp_transport.stream, with: { target: \"127.0.0.1:${srv.port}\", duration: 300ms } }\n"
         "  - id: broken\n    spawn: { cmd: [/nonexistent/program-sonda-test] }\n"
         "  - { id: never, use: iface_scanner.scan }\n";
}

TEST(ReportersCli, JUnitValidatesAgainstTheSchemaAndSaysWhatFailed) {
  ScratchDir dir;
  const std::string junit = dir.path() + "/junit.xml";
  const std::string csv = dir.path() + "/csv";
  const auto r = run_sonda({"run", dir.write("mixed.yaml", mixed_scenario()), "-o", dir.path() + "/out", "--junit",
                            junit, "--csv", csv, "--intervals"});
  EXPECT_EQ(r.exit_code, 4) << r.out << r.err;
  // The schema check is xmllint's (Debian's libxml2-utils).
  const std::string xsd = std::string(SONDA_SOURCE_DIR) + "/tests/integration/data/junit.xsd";
  const int rc = std::system(("xmllint --noout --schema " + xsd + " " + junit + " 2>" + dir.path() + "/xmllint.err")
                                 .c_str());
  ASSERT_EQ(rc, 0) << "xmllint (libxml2-utils) says: " << read_text(dir.path() + "/xmllint.err") << "\n"
                   << read_text(junit);
  const std::string xml = read_text(junit);
  EXPECT_NE(xml.find("tests=\"8\" failures=\"2\" errors=\"0\" skipped=\"1\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("name=\"broken\" time="), std::string::npos) << xml;
  EXPECT_NE(xml.find("<failure type=\"failed\" message=\"spawn /nonexistent/program-sonda-test"), std::string::npos) << xml;
  EXPECT_NE(xml.find("<skipped message=\"an earlier step failed"), std::string::npos) << xml;
  EXPECT_NE(xml.find("name=\"load.bits_per_sec &gt; 1000Tbit\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("<failure type=\"expectation\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("bits_per_sec = "), std::string::npos) << "figures in system-out: " << xml;

  // CSV: one figures table, and the UDP stream's interval samples.
  const std::string figures = read_text(csv + "/figures.csv");
  EXPECT_EQ(figures.rfind("step,plugin,action,status,figure,unit,better,value,samples\n", 0), 0u) << figures;
  EXPECT_NE(figures.find("load,tcp_transport,stream,ok,bits_per_sec,bit/s,higher,"), std::string::npos) << figures;
  const std::string samples = read_text(csv + "/ustream.samples.csv");
  EXPECT_NE(samples.find("packets_per_sec"), std::string::npos) << samples;
  EXPECT_GE(std::count(samples.begin(), samples.end(), '\n'), 3) << "2 intervals of 1 s and a header: " << samples;

  // --intervals: a line per sample, iperf3-style, before the summary.
  EXPECT_NE(r.out.find("[ustream]   0.00-1.00   s  "), std::string::npos) << r.out;
  EXPECT_LT(r.out.find("[ustream]"), r.out.find("scenario mixed:")) << r.out;
}

TEST(ReportersCli, QuietHasNoProgressLinesAndTheSummaryIsWhole) {
  ScratchDir dir;
  const auto r = run_sonda({"run", dir.write("mixed.yaml", mixed_scenario()), "-o", dir.path() + "/out", "-q"});
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_EQ(r.out.find("[ustream]"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.rfind("scenario mixed:", 0), 0u) << r.out;
  // The table cuts the UDP stream's long line; the DETAILS section has it whole.
  const size_t details = r.out.find("\nDETAILS\nustream: udp stream ");
  ASSERT_NE(details, std::string::npos) << r.out;
  const std::string line = r.out.substr(details, r.out.find('\n', details + 10) - details);
  EXPECT_NE(line.find("; one-way delay p50 "), std::string::npos) << line;
  EXPECT_EQ(line.find("..."), std::string::npos) << line;
}

}  // namespace
}  // namespace sonda::testing
