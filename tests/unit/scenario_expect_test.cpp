// `expect:` expressions: compiled at load, evaluated against records.
#include <gtest/gtest.h>

#include "scenario_test_util.hpp"

namespace sonda::testing {
namespace {

using nlohmann::json;

/// Loads a scenario with steps load, echo, who and the given expectation.
Expectation compile(const std::string& text) {
  Scenario s = load_text(R"(name: x
steps:
  - { id: echo, spawn: { cmd: [x] } }
  - { id: load, use: tcp_transport.rr, with: { target: "h:1" } }
  - { id: who, use: proc_scanner.scan }
expect:
  - ")" + text + "\"\n");
  return s.expectations.at(0);
}

const json kRecords = {
    {"load", {{"latency", {{"p99_ns", 183421}, {"mean_ns", 95000.5}}},
              {"throughput", {{"bits_per_sec", 950'000'000}}},
              {"bytes", 1'000'000},
              {"rate", {{"bits_per_sec", 100'000'000}}},
              {"ok", true},
              {"state", "done"}}},
    {"echo", {{"pid", 4242}}},
    {"who", {{"owners", {{{"pid", 4242}, {"process", "python3"}}}}}},
};

TEST(Expectations, ComparesWithUnitsNormalised) {
  ExpectationOutcome out = evaluate(compile("load.latency.p99_ns < 2ms"), kRecords);
  EXPECT_TRUE(out.passed);
  EXPECT_EQ(out.measured, 183421);
  EXPECT_EQ(out.message, "load.latency.p99_ns = 183421 < 2000000: pass");
  EXPECT_FALSE(evaluate(compile("load.latency.p99_ns < 100us"), kRecords).passed);
  EXPECT_TRUE(evaluate(compile("load.bytes >= 1MB"), kRecords).passed);
  EXPECT_FALSE(evaluate(compile("load.bytes >= 1MiB"), kRecords).passed);
  EXPECT_TRUE(evaluate(compile("load.throughput.bits_per_sec > 900Mbit"), kRecords).passed);
  EXPECT_TRUE(evaluate(compile("load.rate == 100Mbit"), kRecords).passed)
      << "rate objects compare by their number";
}

TEST(Expectations, SupportsEveryOperator) {
  EXPECT_TRUE(evaluate(compile("load.latency.p99_ns <= 183421"), kRecords).passed);
  EXPECT_FALSE(evaluate(compile("load.latency.p99_ns < 183421"), kRecords).passed);
  EXPECT_TRUE(evaluate(compile("load.latency.p99_ns >= 183421"), kRecords).passed);
  EXPECT_FALSE(evaluate(compile("load.latency.p99_ns > 183421"), kRecords).passed);
  EXPECT_TRUE(evaluate(compile("load.latency.p99_ns == 183421"), kRecords).passed);
  EXPECT_TRUE(evaluate(compile("load.latency.p99_ns != 1"), kRecords).passed);
  EXPECT_TRUE(evaluate(compile("load.latency.mean_ns > 95000.25"), kRecords).passed);
  EXPECT_TRUE(evaluate(compile("load.latency.mean_ns>-1"), kRecords).passed);
}

TEST(Expectations, ComparesStringsAndBooleans) {
  EXPECT_TRUE(evaluate(compile("load.ok == true"), kRecords).passed);
  EXPECT_TRUE(evaluate(compile("load.state == 'done'"), kRecords).passed);
  EXPECT_FALSE(evaluate(compile("load.state != 'done'"), kRecords).passed);
  ExpectationOutcome out = evaluate(compile("load.ok < true"), kRecords);
  EXPECT_FALSE(out.passed);
  EXPECT_EQ(out.message, "load.ok = true < true: cannot order boolean true and boolean true with <");
}

TEST(Expectations, ComparesPathToPath) {
  ExpectationOutcome out = evaluate(compile("who.owners[0].pid == echo.pid"), kRecords);
  EXPECT_TRUE(out.passed);
  EXPECT_EQ(out.message, "who.owners[0].pid = 4242 == echo.pid = 4242: pass");
  json other = kRecords;
  other["echo"]["pid"] = 1;
  out = evaluate(compile("who.owners[0].pid == echo.pid"), other);
  EXPECT_FALSE(out.passed);
  EXPECT_EQ(out.message, "who.owners[0].pid = 4242 == echo.pid = 1: FAIL");
}

TEST(Expectations, FailsOnAMissingPath) {
  ExpectationOutcome out = evaluate(compile("load.latency.p999_ns < 2ms"), kRecords);
  EXPECT_FALSE(out.passed);
  EXPECT_EQ(out.message, "load.latency.p999_ns: no such field in the record");
  out = evaluate(compile("who.owners[3].pid == 1"), kRecords);
  EXPECT_EQ(out.message, "who.owners[3].pid: no such field in the record");
  out = evaluate(compile("load.ok == true"), json{{"echo", json::object()}});
  EXPECT_EQ(out.message, "load.ok: step 'load' has no record");
}

TEST(Expectations, RejectsSyntaxErrorsAtTheirColumn) {
  EXPECT_EQ(load_errors("name: x\nsteps: [{id: load, use: iface_scanner.scan}]\nexpect:\n"
                        "  - load.x ~ 2\n"),
            "s.yaml:4:12: bad expectation 'load.x ~ 2': expected an operator: <, <=, >, >=, == "
            "or !=");
  EXPECT_EQ(load_errors("name: x\nsteps: [{id: load, use: iface_scanner.scan}]\nexpect:\n"
                        "  - \"load.x < 2 furlongs\"\n"),
            "s.yaml:4:17: bad expectation 'load.x < 2 furlongs': unexpected 'furlongs' after "
            "the value (one comparison per line)");
  EXPECT_EQ(load_errors("name: x\nsteps: [{id: load, use: iface_scanner.scan}]\nexpect:\n"
                        "  - lod.x < 2\n"),
            "s.yaml:4:5: unknown step 'lod' in expectation; did you mean 'load'?");
}

}  // namespace
}  // namespace sonda::testing
