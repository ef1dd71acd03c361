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
  EXPECT_NE(verdict.find("RTT p50: UDP better, 20 % lower (32 us vs 40 us for TCP)"), std::string::npos) << verdict;
  EXPECT_EQ(verdict.find("Overall"), std::string::npos) << verdict;  // no winner count: the figures speak
  const std::string table = sonda::render_report(report);
  EXPECT_NE(table.find("32 us *"), std::string::npos) << table;
}

TEST(Report, HeadToHeadPairsAnswerEachFigureInPlainWords) {
  const auto spec = spec_of({{"columns", {"TCP", "UDP"}},
                             {"question", "Is UDP faster than TCP?"},
                             {"equal_within", "3%"},
                             {"pairs", json::array({json::array({"TCP", "UDP"})})},
                             {"rows",
                              {{{"label", "RTT p50"}, {"better", "lower"},
                                {"values", {"tcp_rr.latency.p50_ns", "udp_rr.latency.p50_ns"}}},
                               {{"label", "tps"}, {"better", "higher"}, {"values", {"tcp_rr.tps", "udp_rr.tps"}}}}}});
  const json report = sonda::build_report(spec, kRecords);
  ASSERT_EQ(report["answers"].size(), 1u);
  const json& answer = report["answers"][0];
  EXPECT_EQ(answer["question"], "Is UDP faster than TCP? (TCP vs UDP)");
  EXPECT_EQ(answer["figures"][0]["outcome"], "second");
  EXPECT_EQ(answer["figures"][0]["text"], "RTT p50: UDP better, 20 % lower (32000 vs 40000 for TCP)");
  EXPECT_EQ(answer["in_short"], "UDP better on RTT p50 and tps");
  const std::string text = sonda::render_report(report);
  EXPECT_NE(text.find("Two figures are called equal when they differ by less than 3 % of the larger"),
            std::string::npos) << text;
  EXPECT_NE(text.find("  - tps: UDP better, 25 % higher (25000 vs 20000 for TCP)"), std::string::npos) << text;
  EXPECT_EQ(text.find("Overall"), std::string::npos) << text;
}

TEST(Report, LossPathsExplainTheLosingSide) {
  const json records = {{"tcp", {{"bps", 2.47e10}}}, {"udp", {{"rx", {{"bps", 4.8e9}, {"loss", 0.73}}}}}};
  const auto spec = spec_of({{"columns", {"TCP", "UDP"}},
                             {"pairs", json::array({json::array({"TCP", "UDP"})})},
                             {"rows",
                              {{{"label", "throughput"}, {"unit", "bits_per_sec"}, {"better", "higher"},
                                {"values", {"tcp.bps", "udp.rx.bps"}}, {"loss", {"", "udp.rx.loss"}}}}}});
  const json report = sonda::build_report(spec, records);
  EXPECT_EQ(report["rows"][0]["loss"], json::array({nullptr, 0.73}));
  const std::string text = report["answers"][0]["figures"][0]["text"];
  EXPECT_NE(text.find("4.8 Gbit/s received with 73 % lost for UDP) - UDP sent faster than its receiver could take"),
            std::string::npos) << text;
}

TEST(Report, RejectsABadEqualWithin) {
  ReportSpec s;
  const auto errors = sonda::parse_report_spec(
      {{"title", "t"}, {"columns", {"A"}}, {"equal_within", "five"}, {"rows", json::array()}}, s);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], "report 't': 'equal_within' must be a percentage below 100%, like 5%, got \"five\"");
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
  EXPECT_NE(report["verdict"].get<std::string>().find("No figure could be compared"), std::string::npos)
      << report["verdict"];
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
