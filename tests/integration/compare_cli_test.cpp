// `sonda compare` on real runs: a TCP stream measured 5 times, then again
// through a tbf-shaped loopback in a namespace this test makes (the same
// stream made worse on purpose), compared through the real binary.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "cli_harness.hpp"

namespace sonda::testing {
namespace {

using nlohmann::json;

class CompareCli : public ::testing::Test {
 protected:
  void SetUp() override {
    ns_ = "sonda-cmp-" + std::to_string(getpid() % 100000);
    TearDown();
    ASSERT_EQ(std::system(("ip netns add " + ns_ + " && ip -n " + ns_ + " link set lo up").c_str()), 0);
  }
  void TearDown() override { std::system(("ip netns del " + ns_ + " >/dev/null 2>&1").c_str()); }

  /// Runs the stream scenario into `out`; the run.json path.
  std::string run_into(const std::string& out) {
    const std::string yaml = "name: cmp\nhosts:\n  n: { via: [ip, netns, exec, " + ns_ + "] }\n"
        "compare: { threshold: 5%, thresholds: { load.retransmits: 1000% } }\n"
        "steps:\n"
        "  - { id: srv, on: n, use: tcp_transport.server, background: true,"
        " with: { listen: \"127.0.0.1:5601\", mode: sink } }\n"
        "  - { id: load, on: n, use: tcp_transport.stream, repeat: 5,"
        " with: { target: \"127.0.0.1:5601\", duration: 200ms } }\n";
    const auto r = run_sonda({"run", dir_.write("cmp.yaml", yaml), "-o", out, "-q"});
    EXPECT_EQ(r.exit_code, 0) << r.err << r.out;
    return out + "/cmp/latest/run.json";
  }

  ScratchDir dir_;
  std::string ns_;
};

TEST_F(CompareCli, AShapedLinkIsARegressionWithExit7AndTheSameRunIsNot) {
  const std::string base = run_into(dir_.path() + "/base");
  ASSERT_EQ(std::system(("ip netns exec " + ns_ + " tc qdisc add dev lo root tbf rate 1gbit burst 256kb latency 20ms")
                            .c_str()),
            0);
  const std::string worse = run_into(dir_.path() + "/worse");
  // The figures are in run.json, one sample per repeat run.
  const json run = json::parse(read_text(worse));
  const json figures = step_of(run, "load")["figures"];
  ASSERT_FALSE(figures.empty()) << step_of(run, "load").dump();
  EXPECT_EQ(figures[0]["path"], "bits_per_sec");
  EXPECT_EQ(figures[0]["better"], "higher");
  EXPECT_EQ(figures[0]["samples"].size(), 5u);

  const std::string md = dir_.path() + "/cmp.md";
  const std::string js = dir_.path() + "/cmp.json";
  const auto r = run_sonda({"compare", dir_.path() + "/base/cmp", dir_.path() + "/worse/cmp", "--markdown", md,
                            "--json", js});
  EXPECT_EQ(r.exit_code, 7) << r.out << r.err;
  EXPECT_NE(r.out.find("REGRESSED"), std::string::npos) << r.out;
  const json c = json::parse(read_text(js));
  EXPECT_TRUE(c["regressed"].get<bool>());
  bool stream_regressed = false;
  for (const json& f : c["figures"]) {
    if (f["step"] == "load" && f["path"] == "bits_per_sec") {
      stream_regressed = f["verdict"] == "regressed";
      EXPECT_LT(f["p"].get<double>(), 0.05);
      EXPECT_LT(f["change"].get<double>(), -0.5) << "1 Gbit/s against tens of Gbit/s";
    }
    if (f["path"] == "retransmits") {
      EXPECT_EQ(f["threshold"].get<double>(), 10.0) << "the scenario's per-figure threshold";
    }
  }
  EXPECT_TRUE(stream_regressed) << c.dump(2);
  EXPECT_NE(read_text(md).find("| load | `bits_per_sec` |"), std::string::npos) << read_text(md);
  EXPECT_NE(read_text(md).find("**regressed**"), std::string::npos);

  const auto same = run_sonda({"compare", base, base});
  EXPECT_EQ(same.exit_code, 0) << same.out;
  EXPECT_NE(same.out.find("no regression"), std::string::npos) << same.out;
}

TEST_F(CompareCli, BadInputIsAClearErrorAndCompareThresholdsAreValidated) {
  const auto missing = run_sonda({"compare", dir_.path() + "/nothing", dir_.path() + "/nothing"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("/nothing: cannot read (no such file)"), std::string::npos) << missing.err;
  const auto bad = run_sonda({"validate", dir_.write("bad.yaml",
      "name: bad\ncompare: { threshold: 5, thresholds: { lod.bits_per_sec: 3% } }\n"
      "steps:\n  - { id: load, use: iface_scanner.scan }\n")});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("compare.threshold must be a percentage, like 5%"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("unknown step 'lod'; did you mean 'load'?"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace sonda::testing
