// The record validator against nlohmann's parser, which it replaces on the
// record path: the same yes/no on every text, the same values, the skeleton
// a full parse would give.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "json_scan.hpp"
#include "json_out.hpp"
#include "step_record.hpp"

namespace sonda {
namespace {

using json = nlohmann::json;

/// What scan_json must leave in its skeleton: the parsed object without any
/// array, at any depth.
json without_arrays(const json& object) {
  json out = json::object();
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (it->is_array()) continue;
    out[it.key()] = it->is_object() ? without_arrays(*it) : *it;
  }
  return out;
}

JsonRoot expected_root(const json& v) {
  switch (v.type()) {
    case json::value_t::object: return JsonRoot::kObject;
    case json::value_t::array: return JsonRoot::kArray;
    case json::value_t::string: return JsonRoot::kString;
    case json::value_t::boolean: return JsonRoot::kBoolean;
    case json::value_t::null: return JsonRoot::kNull;
    default: return JsonRoot::kNumber;
  }
}

/// Checks one text against nlohmann; returns whether it was valid.
bool agrees(const std::string& text) {
  std::string scanned = text;
  json skeleton;
  const JsonRoot root = scan_json(scanned, &skeleton);
  // check_json: the same verdict and skeleton, the text left as it was.
  const std::string untouched = text;
  json checked_skeleton;
  EXPECT_EQ(check_json(untouched.c_str(), untouched.size(), &checked_skeleton), root) << text;
  EXPECT_EQ(untouched, text);
  EXPECT_EQ(checked_skeleton, skeleton) << text;
  // Streamed in pieces (scanned after each), the same verdict and skeleton.
  for (const size_t piece : {size_t{1}, size_t{2}, size_t{3}, size_t{7}, size_t{64}}) {
    json streamed_skeleton;
    JsonStreamCheck stream(&streamed_skeleton, 1);
    for (size_t at = 0; at < text.size(); at += piece) {
      stream.feed(std::string_view(text).substr(at, piece));
    }
    EXPECT_EQ(stream.finish(), root) << "pieces of " << piece << ": " << text;
    EXPECT_EQ(streamed_skeleton, skeleton) << "pieces of " << piece << ": " << text;
  }
  // A NUL byte is never valid; nlohmann would stop reading at it and
  // accept what came before (a C string's end).
  const bool accepted = text.find('\0') == std::string::npos && json::accept(text);
  EXPECT_EQ(root != JsonRoot::kInvalid, accepted) << "text: " << json(text).dump(-1, ' ', true, json::error_handler_t::replace);
  if (!accepted || root == JsonRoot::kInvalid) return false;
  const json value = json::parse(text);
  EXPECT_EQ(root, expected_root(value)) << text;
  // The layout rewrite changes no value and leaves no line break.
  EXPECT_EQ(json::parse(scanned), value) << text;
  EXPECT_EQ(scanned.find_first_of("\r\n"), std::string::npos) << text;
  if (value.is_object()) {
    EXPECT_EQ(skeleton, without_arrays(value)) << text;
  } else {
    EXPECT_EQ(skeleton, json::object()) << text;
  }
  return true;
}

TEST(JsonScan, AgreesWithNlohmannOnEdgeCases) {
  const std::vector<std::string> cases = {
      "", " ", "{}", "[]", "{ }", "[ ]", "\n{\r\n}\n", "0", "-0", "01", "-", "1.", "1.5", ".5", "1e5", "1E+5",
      "1e-5", "1e", "1e+", "-1.5e-300", "123456789012345678901234567890", "18446744073709551615",
      "-9223372036854775809", "true", "false", "null", "tru", "nul", "truex", "true false", "\"\"", "\"a\"",
      "\"a", "\"\\\"\"", "\"\\/\"", "\"\\b\\f\\n\\r\\t\"", "\"\\x\"", "\"\\u0000\"", "\"\\u00e9\"", "\"\\u00G9\"",
      "\"\\ud83d\\ude00\"", "\"\\ud83d\"", "\"\\ud83dx\"", "\"\\ud83d\\u0041\"", "\"\\ude00\"", "\"\\uDBFF\\uDFFF\"",
      "\"\t\"", "\"\x01\"", "\"\x7f\"", "\"caf\xc3\xa9\"", "\"\xc3\"", "\"\xc0\x80\"", "\"\xc1\xbf\"",
      "\"\xe0\x80\x80\"", "\"\xe0\xa0\x80\"", "\"\xed\x9f\xbf\"", "\"\xed\xa0\x80\"", "\"\xef\xbf\xbf\"",
      "\"\xf0\x8f\xbf\xbf\"", "\"\xf0\x90\x80\x80\"", "\"\xf4\x8f\xbf\xbf\"", "\"\xf4\x90\x80\x80\"", "\"\xf5\x80\x80\x80\"",
      "\"\xff\"", "\"\x80\"", "\xef\xbb\xbf{}", "\xef\xbb\xbf", " \xef\xbb\xbf{}", "{\"a\":1,}", "[1,]", "[,1]",
      "{\"a\" 1}", "{\"a\":}", "{1:2}", "{\"a\":1 \"b\":2}", "[1 2]", "[[[]]]", "[[[]]", "{\"a\":[}", "{\"a\":{}}}",
      "{\"a\":1}x", "{\"a\":1} ", "/* c */{}", "{\"a\":NaN}", "[Infinity]", "{\"a\":\"x\ny\"}", "'a'",
      "{\"a\":1,\"a\":[2],\"b\":{\"c\":[1],\"c\":3}}", "{\"\\u0061\":\"\\u0062\",\"k\\\"\":{\"\\n\":1}}",
      "{\"x\":{\"y\":{\"z\":[{\"w\":1}]}}, \"n\": -0.0, \"e\": 1E400}", "[{\"a\":1}]", "{\"a\":[{\"b\":{\"c\":1}}]}",
      std::string("{}\0 garbage", 10), std::string("\"a\"\0\0", 5), std::string("[1,\0]", 5), "1E400", "[1e400]", "[-1e309]", "[1e-400]", "[0.0000e99999]", std::string(400, '9'), "[" + std::string(320, '9') + "]",
      "{\"abcdefghijklmnop\":\"qrstuvwxyzABCDEFGHIJ\\\"KLMNOP\\\\QRSTUVWXYZ0123\xc3\xa9" "456789 long plain run\"}",
  };
  int valid = 0;
  for (const auto& text : cases) {
    valid += agrees(text) ? 1 : 0;
  }
  EXPECT_GT(valid, 30);  // both sides of the line are exercised
  EXPECT_LT(valid, static_cast<int>(cases.size()) - 30);
}

TEST(JsonScan, AgreesWithNlohmannOnMutatedRecords) {
  // Seeds shaped like records (scan-like arrays of objects, escapes, UTF-8,
  // big and negative numbers), then random byte edits at every kind of
  // place: roughly half the mutants stay valid.
  json sockets = json::array();
  for (int i = 0; i < 4; ++i) {
    sockets.push_back({{"local", "127.0.0.1:" + std::to_string(1000 + i)},
                       {"inode", 18'000'000'000'000'000'000ULL + static_cast<unsigned>(i)},
                       {"rtt", -0.25 * i},
                       {"owner", {{"process", "na\u00efve \"q\"\t\\ \U0001F600"}, {"pids", {i, i + 1}}}},
                       {"up", i % 2 == 0},
                       {"none", nullptr}});
  }
  const std::vector<std::string> seeds = {
      json{{"summary", "4 sockets"}, {"timing_ns", {{"dump", 5}, {"walk", {{"x", 1.5e-7}}}}}, {"sockets", sockets}}.dump(),
      json{{"summary", "s"}, {"sockets", sockets}}.dump(2),
      json{sockets, {{"a", json::array()}}}.dump(),
      R"({"k":"\u00e9\ud83d\ude00\n","n":[1,-2,3.5e+2,0],"t":true,"f":false,"z":null,"o":{"p":{}}})",
  };
  const std::string alphabet = "{}[]\":,\\/ \t\n0123456789-+.eEtrufalsn\xc3\xa9\xf0\x9f\x98\x80\x80\xff\x01";
  std::mt19937 rng(20261201);
  int valid = 0;
  int total = 0;
  for (const auto& seed : seeds) {
    for (int round = 0; round < 4000; ++round) {
      std::string text = seed;
      const int edits = 1 + static_cast<int>(rng() % 3);
      for (int e = 0; e < edits && !text.empty(); ++e) {
        const size_t at = rng() % text.size();
        const char c = alphabet[rng() % alphabet.size()];
        switch (rng() % 4) {
          case 0: text[at] = c; break;
          case 1: text.insert(text.begin() + static_cast<std::ptrdiff_t>(at), c); break;
          case 2: text.erase(at, 1); break;
          default: text.erase(at, 1 + rng() % 8); break;
        }
      }
      ++total;
      valid += agrees(text) ? 1 : 0;
      if (::testing::Test::HasFailure()) return;  // the first disagreement is enough to read
    }
  }
  EXPECT_GT(valid, total / 20);
  EXPECT_LT(valid, total - total / 20);
}

TEST(JsonScan, StreamedRecordIsCheckedAsItComesWithOnlyAFewKiBHeld) {
  // A scan-sized record in the pieces a renderer hands over (64 KiB, the
  // default scan spacing): the verdict and skeleton of the one-pass check,
  // and a fault in the middle is known before the last piece comes.
  json sockets = json::array();
  for (int i = 0; i < 6000; ++i) {
    sockets.push_back({{"local", {{"address", "127.0.0.1"}, {"port", 1000 + i}}},
                       {"owners", {{{"pid", i}, {"process", "caf\u00e9 \"x\""}}}},
                       {"state", "LISTEN"}, {"recv_q", i * 3}});
  }
  const std::string text =
      json{{"sockets", sockets}, {"timing_ns", {{"socket_dump", 12345}}}, {"summary", {{"total", 6000}}}}.dump();
  ASSERT_GT(text.size(), size_t{600000});
  json expected;
  ASSERT_EQ(check_json(text.c_str(), text.size(), &expected), JsonRoot::kObject);
  for (const size_t piece : {size_t{65536}, size_t{4093}, size_t{1 << 20}}) {
    json skeleton;
    JsonStreamCheck stream(&skeleton);
    for (size_t at = 0; at < text.size(); at += piece) {
      ASSERT_TRUE(stream.feed(std::string_view(text).substr(at, piece)));
    }
    EXPECT_EQ(stream.finish(), JsonRoot::kObject);
    EXPECT_EQ(skeleton, expected);
    EXPECT_EQ(skeleton["timing_ns"]["socket_dump"], 12345);
    EXPECT_EQ(stream.bytes(), text.size());
  }
  std::string broken = text;
  broken[broken.size() / 2] = '\x01';  // a control byte: invalid anywhere
  JsonStreamCheck stream(nullptr);
  bool known_bad = false;
  size_t fed = 0;
  for (size_t at = 0; at < broken.size() && !known_bad; at += 65536) {
    known_bad = !stream.feed(std::string_view(broken).substr(at, 65536));
    fed = at + 65536;
  }
  EXPECT_TRUE(known_bad);
  EXPECT_LT(fed, broken.size() / 2 + 3 * 65536);
  EXPECT_EQ(stream.finish(), JsonRoot::kInvalid);
}

TEST(JsonScan, LargeRecordGoesIntoAnIndentedFileAsItCame) {
  json sockets = json::array();
  const std::string filler(200, 'x');
  for (size_t i = 0; i < StepRecord::kRelayoutLimit / 200; ++i) {
    sockets.push_back({{"local", "127.0.0.1:1"}, {"pad", filler}});
  }
  const json value = {{"summary", "big"}, {"sockets", sockets}};
  const std::string text = value.dump(1);  // laid out by the plugin: has line breaks
  ASSERT_GT(text.size(), StepRecord::kRelayoutLimit);
  const StepRecord record = StepRecord::from_text(text);
  ASSERT_TRUE(record.is_text());
  std::string written;
  JsonOut out(written);
  record.write_json(out, 2, 1);
  EXPECT_EQ(written.find('\n'), std::string::npos) << "spliced verbatim, not laid out again";
  EXPECT_EQ(json::parse(written), value);
  // A small one is still laid out like dump(2).
  const StepRecord small = StepRecord::from_text(json{{"a", {1, 2}}}.dump());
  std::string small_written;
  JsonOut small_out(small_written);
  small.write_json(small_out, 2, 0);
  EXPECT_EQ(small_written, json({{"a", {1, 2}}}).dump(2));
}

}  // namespace
}  // namespace sonda
