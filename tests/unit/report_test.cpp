#include "report.hpp"

#include <gtest/gtest.h>

using nlohmann::json;
using sonda::ReportSpec;

namespace {
const json kRecords = {
    {"tcp_rr", {{"latency", {{"p50_ns", 40000}}}, {"tps", 20000.0}}},
    {"udp_rr", {{"latency", {{"p50_ns", 32000}}}, {"tps", 25000.0}}},
    {"list", {{"items", json::array({json{{"x", 7}}})}}},
};

ReportSpec spec_of(const json& doc) {
  ReportSpec s;
  auto errors = sonda::parse_report_spec(doc, s);
  EXPECT_TRUE(errors.empty()) << errors.front();
  return s;
}
}  // namespace

TEST(Report, LooksUpNestedAndIndexedPaths) {
  EXPECT_EQ(sonda::lookup_path(kRecords, "tcp_rr.latency.p50_ns"), 40000);
  EXPECT_EQ(sonda::lookup_path(kRecords, "list.items[0].x"), 7);
  EXPECT_TRUE(sonda::lookup_path(kRecords, "list.items[3].x").is_null());
  EXPECT_TRUE(sonda::lookup_path(kRecords, "nope.x").is_null());
}

TEST(Report, PicksBestPerRowAndWritesVerdictFromNumbers) {
  const auto spec = spec_of({{"title", "TCP vs UDP"},
                             {"columns", {"TCP", "UDP"}},
                             {"rows",
                              {{{"label", "RTT p50"}, {"unit", "ns"}, {"better", "lower"},
                                {"values", {"tcp_rr.latency.p50_ns", "udp_rr.latency.p50_ns"}}},
                               {{"label", "transactions/s"}, {"better", "higher"}, {"values", {"tcp_rr.tps", "udp_rr.tps"}}}}}});
  const json report = sonda::build_report(spec, kRecords);
  EXPECT_EQ(report["rows"][0]["best"], 1);
  EXPECT_EQ(report["rows"][1]["best"], 1);
  EXPECT_DOUBLE_EQ(report["rows"][0]["ratio_best_to_worst"].get<double>(), 40000.0 / 32000.0);
  const std::string verdict = report["verdict"];
  EXPECT_NE(verdict.find("RTT p50: UDP is best at 32 us, 1.25x lower than TCP (40 us)"), std::string::npos) << verdict;
  EXPECT_NE(verdict.find("Overall, UDP wins 2 of 2"), std::string::npos) << verdict;
  const std::string table = sonda::render_report(report);
  EXPECT_NE(table.find("32 us *"), std::string::npos) << table;
}

TEST(Report, HeadToHeadPairsNameTheLeaderPerFigure) {
  const auto spec = spec_of({{"columns", {"TCP", "UDP"}},
                             {"pairs", json::array({json::array({"TCP", "UDP"})})},
                             {"rows",
                              {{{"label", "RTT p50"}, {"better", "lower"},
                                {"values", {"tcp_rr.latency.p50_ns", "udp_rr.latency.p50_ns"}}},
                               {{"label", "tps"}, {"better", "higher"}, {"values", {"tcp_rr.tps", "udp_rr.tps"}}}}}});
  const std::string verdict = sonda::build_report(spec, kRecords)["verdict"];
  EXPECT_NE(verdict.find("TCP vs UDP: RTT p50 1.25x lower for UDP; tps 1.25x higher for UDP - UDP ahead on 2 of 2."),
            std::string::npos)
      << verdict;
}

TEST(Report, RejectsPairsNamingUnknownColumns) {
  ReportSpec s;
  const auto errors = sonda::parse_report_spec(
      {{"title", "t"}, {"columns", {"A", "B"}}, {"pairs", json::array({json::array({"A", "C"})})}, {"rows", json::array()}}, s);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], "report 't': each entry of 'pairs' must be two different column labels, got [\"A\",\"C\"]");
}

TEST(Report, MissingFiguresAreNotApplicableNotZero) {
  const auto spec = spec_of({{"columns", {"A", "B"}},
                             {"rows", {{{"label", "x"}, {"better", "higher"}, {"values", {"tcp_rr.tps", "gone.tps"}}}}}});
  const json report = sonda::build_report(spec, kRecords);
  EXPECT_TRUE(report["rows"][0]["values"][1].is_null());
  EXPECT_NE(sonda::render_report(report).find("n/a"), std::string::npos);
  EXPECT_NE(report["verdict"].get<std::string>().find("No figure could be compared"), std::string::npos);
}

TEST(Report, RejectsRowsWithWrongValueCount) {
  ReportSpec s;
  const auto errors = sonda::parse_report_spec(
      {{"columns", {"A", "B"}}, {"rows", {{{"label", "x"}, {"values", {"a.b"}}}}}}, s);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], "report row 'x': 'values' must list one path per column (2)");
}

TEST(Report, HostileShapesAreErrorsNotExceptions) {
  // Found by the scenario fuzzer: value() on a non-object row threw.
  for (const json& doc : {json{{"title", 5}, {"columns", {"A"}}, {"rows", json::array()}},
                          json{{"columns", {"A"}}, {"rows", {1, "x", nullptr}}},
                          json{{"columns", {"A"}}, {"rows", {{{"label", {1}}, {"values", {"a.b"}}}}}},
                          json{{"columns", {"A"}}, {"pairs", 3}, {"rows", json::array()}},
                          json{{"columns", {"A"}}, {"rows", {{{"label", "x"}, {"values", {"a..b"}}}}}}}) {
    ReportSpec s;
    std::vector<std::string> errors;
    EXPECT_NO_THROW(errors = sonda::parse_report_spec(doc, s)) << doc.dump();
    EXPECT_FALSE(errors.empty()) << doc.dump();
  }
}

TEST(Report, FormatsUnitsForPeople) {
  EXPECT_EQ(sonda::format_value(38.2e9, "bits_per_sec"), "38.2 Gbit/s");
  EXPECT_EQ(sonda::format_value(1500, "ns"), "1.5 us");
  EXPECT_EQ(sonda::format_value(0.001, "ratio"), "0.1 %");
}
