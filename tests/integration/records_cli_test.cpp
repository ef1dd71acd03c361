// Large plugin records through the real binary: the host keeps a record as
// the plugin's text and splices it into events.jsonl and run.json, parsing
// it only for the steps that `${}`, `expect:` or `report:` read. Whichever
// way, the values in both files must be the record the plugin produced.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "cli_harness.hpp"

namespace sonda::testing {
namespace {

/// The socket object testkit.big_record makes for index `i`.
nlohmann::json expected_socket(int i) {
  return {{"proto", i % 3 == 0 ? "udp" : "tcp"},
          {"state", i % 2 == 0 ? "ESTAB" : "TIME-WAIT"},
          {"local", "127.0.0.1:" + std::to_string(20000 + i % 40000)},
          {"remote", "127.0.0.1:10000"},
          {"inode", 1'000'000'000'000LL + i},
          {"rx_queue", i % 7},
          {"tx_queue", 0},
          {"rtt_ms", 0.125 * (i % 9)},
          {"owner", {{"pid", 4000 + i % 50}, {"process", "caf\u00e9 \"zoo\"\n"}}}};
}

/// Checks every socket, not a sample: a splice off by one byte would show.
void expect_big_record(const nlohmann::json& record, int count, const std::string& where) {
  ASSERT_TRUE(record.is_object()) << where;
  EXPECT_EQ(record["socket_count"], count) << where;
  EXPECT_EQ(record["summary"], std::to_string(count) + " sockets") << where;
  ASSERT_EQ(record["sockets"].size(), static_cast<size_t>(count)) << where;
  for (int i = 0; i < count; ++i) {
    ASSERT_EQ(record["sockets"][i], expected_socket(i)) << where << " socket " << i;
  }
}

/// The step_end event of step `id`.
nlohmann::json step_end_of(const std::vector<nlohmann::json>& events, const std::string& id) {
  for (const auto& e : events) {
    if (e.value("event", "") == "step_end" && e.value("id", "") == id) {
      return e;
    }
  }
  return nullptr;
}

TEST(RecordsCli, LargeRecordsRoundTripIntoBothResultFilesReadOrNot) {
  ScratchDir dir;
  const std::string out = dir.path() + "/out";
  // `read` is referenced and expected on (parsed once), `unread` is not
  // (kept as text only); `again` repeats, so the host edits its record.
  const auto file = dir.write("s.yaml", R"(name: big
steps:
  - { id: read, use: testkit.big_record, with: { count: 20000 } }
  - { id: unread, use: testkit.big_record, with: { count: 3000 } }
  - { id: echo, use: testkit.echo_params, with: { text: "${read.socket_count} ${read.sockets[19999].local}" } }
  - { id: again, use: testkit.big_record, repeat: 2, with: { count: 5 } }
expect:
  - read.sockets[19999].inode == 1000000019999
)");
  const auto r = run_sonda({"run", file, "-o", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto run = latest_run(out, "big");
  const auto events = latest_events(out, "big");
  for (const auto& [id, count] : {std::pair<std::string, int>{"read", 20000}, {"unread", 3000}}) {
    expect_big_record(step_of(run, id)["record"], count, "run.json " + id);
    const auto end = step_end_of(events, id);
    expect_big_record(end["record"], count, "events.jsonl " + id);
    EXPECT_EQ(end["status"], "ok");
    EXPECT_EQ(end["params"], (nlohmann::json{{"count", count}}));
  }
  EXPECT_EQ(step_of(run, "echo")["record"]["params"]["text"], "20000 127.0.0.1:39999");
  ASSERT_EQ(run["expectations"].size(), 1u);
  EXPECT_EQ(run["expectations"][0]["passed"], true) << run["expectations"][0].dump();
  const auto again = step_of(run, "again")["record"];
  expect_big_record(again, 5, "run.json again");
  EXPECT_EQ(again["repeat"]["count"], 2);
  EXPECT_EQ(again["repeat"]["runs"][1]["record"]["sockets"][4], expected_socket(4));
  EXPECT_EQ(step_end_of(events, "again")["record"], again);
  EXPECT_NE(r.out.find("20000 sockets"), std::string::npos) << r.out;

  // Written once: the 1 MiB-or-more record is records/read.json, named by
  // both files; the smaller one stays inline in each.
  const auto raw_run = latest_run(out, "big", /*raw=*/true);
  const auto raw_events = latest_events(out, "big", /*raw=*/true);
  const nlohmann::json read_step = step_of(raw_run, "read");
  EXPECT_FALSE(read_step.contains("record")) << "run.json holds a copy of the large record";
  EXPECT_EQ(read_step["record_file"], "records/read.json");
  EXPECT_EQ(step_end_of(raw_events, "read")["record_file"], "records/read.json");
  EXPECT_FALSE(step_end_of(raw_events, "read").contains("record"));
  const std::string file_text = read_text(out + "/big/latest/records/read.json");
  EXPECT_EQ(read_step["record_bytes"], file_text.size() - 1);  // and a final newline
  EXPECT_TRUE(step_of(raw_run, "unread").contains("record"));
  EXPECT_FALSE(step_of(raw_run, "unread").contains("record_file"));
  EXPECT_FALSE(step_end_of(raw_events, "unread").contains("record_file"));
  EXPECT_EQ(raw_run["schema_version"], 2);
}

TEST(RecordsCli, ReportReadsARecordFromItsFile) {
  ScratchDir dir;
  const std::string out = dir.path() + "/out";
  const auto file = dir.write("s.yaml", R"(name: filed
steps:
  - { id: big, use: testkit.big_record, with: { count: 20000 } }
)");
  ASSERT_EQ(run_sonda({"run", file, "-o", out}).exit_code, 0);
  const std::string run_dir = out + "/filed/latest";
  ASSERT_FALSE(read_text(run_dir + "/records/big.json").empty());
  const auto report = run_sonda({"report", run_dir, "-o", dir.path() + "/r.html"});
  ASSERT_EQ(report.exit_code, 0) << report.err;
  // The step's summary comes from the record, which only the file holds.
  EXPECT_NE(read_text(dir.path() + "/r.html").find("20000 sockets"), std::string::npos);
  // Gone or broken, the file is named as unreadable; the report still comes.
  std::filesystem::remove(run_dir + "/records/big.json");
  const auto broken = run_sonda({"report", run_dir, "-o", dir.path() + "/b.html"});
  ASSERT_EQ(broken.exit_code, 0) << broken.err;
  EXPECT_NE(read_text(dir.path() + "/b.html").find("records/big.json"), std::string::npos);
}

}  // namespace
}  // namespace sonda::testing
