// Step records kept as the plugin's text, and the piecewise JSON writer that
// splices them into events.jsonl and run.json.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "json_out.hpp"
#include "results.hpp"
#include "step_record.hpp"

namespace sonda {
namespace {

namespace fs = std::filesystem;

/// A scan-like record: many sockets, escapes, non-ASCII, big integers.
nlohmann::json socket_record(int count) {
  nlohmann::json sockets = nlohmann::json::array();
  for (int i = 0; i < count; ++i) {
    sockets.push_back({{"local", "127.0.0.1:" + std::to_string(i)},
                       {"inode", 18'000'000'000'000'000'000ULL + static_cast<unsigned>(i)},
                       {"rtt_ms", -0.5 * i},
                       {"owner", {{"process", "na\u00efve \"q\"\t\\"}, {"pids", {i, i + 1}}}},
                       {"flags", nlohmann::json::object()}});
  }
  return {{"summary", std::to_string(count) + " sockets"}, {"count", count}, {"ok", true},
          {"sockets", std::move(sockets)}, {"none", nullptr}};
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(StepRecord, KeepsValidObjectTextAndItsScalarsAsATree) {
  const nlohmann::json value = socket_record(3);
  const StepRecord r = StepRecord::from_text(value.dump(4));  // pretty: has newlines
  ASSERT_TRUE(r.is_text());
  EXPECT_EQ(r.tree(), value);
  EXPECT_EQ(r.top(), (nlohmann::json{{"summary", "3 sockets"}, {"count", 3}, {"ok", true}, {"none", nullptr}}));
  std::string written;
  JsonOut out(written);
  r.write_json(out, -1, 0);
  EXPECT_EQ(written.find('\n'), std::string::npos) << "must fit on one events.jsonl line";
  EXPECT_EQ(nlohmann::json::parse(written), value);
}

TEST(StepRecord, SkeletonKeepsObjectsAtAnyDepthAndLeavesEveryArrayOut) {
  // Headline figures live in objects (`latency.p50_ns`, `timing_ns.proc_walk`)
  // and are read from the skeleton without a second parse of the text.
  const std::string text = R"({"summary": "s", "timing_ns": {"dump": 5, "inner": {"walk": 7, "list": [1, {"x": 1}]}},
    "sockets": [{"local": {"port": 1}}, [2, [3]]], "after": {"n": null}, "dup": {"a": 1}, "dup": [1],
    "dup2": [1], "dup2": {"b": 2}, "empty": {}})";
  const StepRecord r = StepRecord::from_text(text);
  ASSERT_TRUE(r.is_text());
  EXPECT_EQ(r.top(), nlohmann::json::parse(R"({"summary": "s", "timing_ns": {"dump": 5, "inner": {"walk": 7}},
    "after": {"n": null}, "dup2": {"b": 2}, "empty": {}})"));
  EXPECT_EQ(r.tree(), nlohmann::json::parse(text));
}

TEST(StepRecord, PrettyTextRecordIsLaidOutExactlyLikeItsTree) {
  const nlohmann::json value = socket_record(5);
  // dump() sorts keys as the tree does, so the layouts must match byte for byte.
  const StepRecord text = StepRecord::from_text(value.dump(3));
  const StepRecord tree(value);
  for (int level : {0, 2}) {
    std::string from_text;
    std::string from_tree;
    JsonOut a(from_text);
    JsonOut b(from_tree);
    text.write_json(a, 2, level);
    tree.write_json(b, 2, level);
    EXPECT_EQ(from_text, from_tree) << level;
  }
}

TEST(StepRecord, FilteredTreeHoldsExactlyThePathsAskedFor) {
  const nlohmann::json value = socket_record(50);
  const StepRecord r = StepRecord::from_text(value.dump());
  RecordFilter keep;
  keep.keys["count"].whole = true;
  keep.keys["sockets"].indexes[42].keys["owner"].keys["pids"].indexes[1].whole = true;
  keep.keys["sockets"].indexes[7].whole = true;
  keep.keys["missing"].keys["deeper"].whole = true;
  const nlohmann::json t = r.tree(keep);
  EXPECT_EQ(t["count"], 50);
  EXPECT_FALSE(t.contains("summary"));
  EXPECT_FALSE(t.contains("missing"));
  ASSERT_EQ(t["sockets"].size(), 50u) << "placeholders keep the indexes";
  EXPECT_EQ(t["sockets"][0], nullptr);
  EXPECT_EQ(t["sockets"][7], value["sockets"][7]);
  EXPECT_EQ(t["sockets"][42], (nlohmann::json{{"owner", {{"pids", {nullptr, 43}}}}}));
  keep.whole = true;
  EXPECT_EQ(r.tree(keep), value);
}

TEST(StepRecord, WrapsInvalidTextAndNonObjectsAsTheHostAlwaysHas) {
  EXPECT_EQ(StepRecord::from_text("{not json").tree(), (nlohmann::json{{"invalid_json", "{not json"}}));
  EXPECT_EQ(StepRecord::from_text("{} trailing").tree(), (nlohmann::json{{"invalid_json", "{} trailing"}}));
  EXPECT_EQ(StepRecord::from_text("[1,2]").tree(), (nlohmann::json{{"value", {1, 2}}}));
  EXPECT_EQ(StepRecord::from_text("null").tree(), (nlohmann::json{{"value", nullptr}}));
  EXPECT_FALSE(StepRecord::from_text("[1,2]").is_text());
  // Duplicate keys: the last wins, as a parse would have it.
  EXPECT_EQ(StepRecord::from_text(R"({"summary":"a","summary":"b"})").top()["summary"], "b");
}

TEST(StepRecord, EditingParsesOnceAndDropsTheText) {
  StepRecord r = StepRecord::from_text(R"({"a": [1, 2], "summary": "s"})");
  r.edit()["port_owner"] = 7;
  EXPECT_FALSE(r.is_text());
  EXPECT_EQ(r.tree(), (nlohmann::json{{"a", {1, 2}}, {"summary", "s"}, {"port_owner", 7}}));
}

TEST(JsonOut, WritesTreesExactlyAsNlohmannDumpsThem) {
  StepResult step;
  step.id = "scan";
  step.status = StepStatus::kOk;
  step.started_at = "2026-11-25T14:05:12.123Z";
  step.params = {{"unix", true}, {"ports", {1, 2}}};
  step.samples = {{{"t_ns", 1}}, nlohmann::json::object()};
  step.record = StepRecord(socket_record(4));
  const nlohmann::json run = {{"schema_version", 1}, {"context", {{"host", "h"}}}, {"status", "ok"}};
  for (int indent : {-1, 2, 4}) {
    std::string written;
    JsonOut out(written);
    write_object(out, members_of(run), indent, 0);
    EXPECT_EQ(written, run.dump(indent)) << indent;
    written.clear();
    step.write_json(out, indent, 0);
    EXPECT_EQ(written, step.to_json().dump(indent)) << indent;
  }
}

TEST(RunWriter, LargeTextRecordRoundTripsThroughEventsAndRunJson) {
  const auto tmp = fs::temp_directory_path() / ("sonda-record-" + std::to_string(getpid()));
  const nlohmann::json value = socket_record(20000);
  {
    RunWriter writer(tmp.string(), "big");
    StepResult step;
    step.id = "scan";
    step.status = StepStatus::kOk;
    step.params = {{"unix", false}};
    step.record = StepRecord::from_text(value.dump(1));
    ASSERT_TRUE(step.record.is_text());
    writer.step_end(step);
    StepResult skipped;
    skipped.id = "later";
    writer.step_end(skipped);
    const nlohmann::json run = {{"schema_version", kResultSchemaVersion}, {"status", "ok"},
                                {"steps", "ignored: the steps argument wins"}, {"zzz", 1}};
    writer.write_run_json(run, {step, skipped});

    std::istringstream lines(read_file(writer.dir() + "/events.jsonl"));
    std::string line;
    ASSERT_TRUE(std::getline(lines, line));
    const auto first = nlohmann::json::parse(line);
    EXPECT_EQ(first["event"], "step_end");
    EXPECT_TRUE(first["ts"].get<std::string>().ends_with("Z"));
    // 1 MiB or more: written once, to records/scan.json, which both files name.
    EXPECT_FALSE(first.contains("record"));
    EXPECT_EQ(first["record_file"], "records/scan.json");
    EXPECT_EQ(first["record_bytes"], step.record.text().size());
    EXPECT_EQ(nlohmann::json::parse(read_file(writer.dir() + "/records/scan.json")), value);
    auto first_read = first;
    load_record_file(first_read, writer.dir());
    first_read.erase("record_file");
    first_read.erase("record_bytes");
    auto expected_line = step.to_json();
    expected_line["event"] = "step_end";
    expected_line["ts"] = first["ts"];
    EXPECT_EQ(first_read, expected_line);
    ASSERT_TRUE(std::getline(lines, line));
    EXPECT_EQ(nlohmann::json::parse(line)["id"], "later");

    auto parsed = nlohmann::json::parse(read_file(writer.dir() + "/run.json"));
    EXPECT_EQ(parsed["steps"][0]["record_file"], "records/scan.json");
    EXPECT_FALSE(parsed["steps"][0].contains("record"));
    load_record_files(parsed["steps"], writer.dir());
    parsed["steps"][0].erase("record_file");
    parsed["steps"][0].erase("record_bytes");
    EXPECT_EQ(parsed, (nlohmann::json{{"schema_version", kResultSchemaVersion},
                                      {"status", "ok"},
                                      {"zzz", 1},
                                      {"steps", {step.to_json(), skipped.to_json()}}}));
    EXPECT_EQ(parsed["steps"][0]["record"], value);
  }
  fs::remove_all(tmp);
}

}  // namespace
}  // namespace sonda
