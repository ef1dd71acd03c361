// The SDK's typed parameter binding (sonda/params.hpp): one table is the
// schema the host validates from and the decoder that fills the options.
// Values are fed through the host's own normaliser (scenario/params.hpp),
// as `sonda run` does, so the two sides are tested against each other.
#include <gtest/gtest.h>

#include <cstring>
#include <iterator>
#include <optional>
#include <sonda/plugin.hpp>
#include <string>
#include <vector>

#include "plugins/iface_scanner/src/actions.hpp"
#include "plugins/proc_scanner/src/params.hpp"
#include "plugins/tcp_transport/src/options.hpp"
#include "plugins/udp_transport/src/params.hpp"
#include "scenario/params.hpp"

namespace {

using json = nlohmann::json;

struct Tuning {
  bool nodelay = false;
};

struct AllTypes {
  bool flag = false;
  int64_t count = 0;
  int small = 0;
  double ratio = 0;
  std::string mode;
  int64_t duration_ns = 0;
  int64_t size_bytes = 0;
  sonda::Rate rate;
  std::string target;
  std::vector<std::string> names;
  std::vector<int64_t> ports;
  std::optional<std::string> label;
  std::optional<int64_t> limit;
  Tuning tuning;
};

constexpr sonda_param_spec kHandWritten[] = {
    {.name = "flag", .type = SONDA_PARAM_BOOL, .default_value = "true", .doc = "a bool"},
    {.name = "count", .type = SONDA_PARAM_INT, .default_value = "3", .min = 0, .max = 100, .doc = "an int"},
    {.name = "small", .type = SONDA_PARAM_INT, .default_value = "7", .min = 1, .max = 1000, .doc = "an int"},
    {.name = "ratio", .type = SONDA_PARAM_FLOAT, .default_value = "0.25", .min = 0, .max = 1, .doc = "a float"},
    {.name = "mode", .type = SONDA_PARAM_STRING, .default_value = "echo", .choices = "sink|echo", .doc = "a choice"},
    {.name = "duration", .type = SONDA_PARAM_DURATION, .default_value = "1.5s", .min = 1e6, .max = 86400e9,
     .unit = "ns", .doc = "a duration"},
    {.name = "size", .type = SONDA_PARAM_SIZE, .default_value = "64KiB", .min = 1, .max = 1 << 30,
     .unit = "bytes", .doc = "a size"},
    {.name = "rate", .type = SONDA_PARAM_RATE, .default_value = "10Mbit", .doc = "a rate"},
    {.name = "target", .type = SONDA_PARAM_ENDPOINT, .required = 1, .doc = "an endpoint"},
    {.name = "names", .type = SONDA_PARAM_STRING_LIST, .doc = "strings"},
    {.name = "ports", .type = SONDA_PARAM_INT_LIST, .min = 1, .max = 65535, .doc = "ints"},
    {.name = "label", .type = SONDA_PARAM_STRING, .doc = "optional string"},
    {.name = "limit", .type = SONDA_PARAM_SIZE, .unit = "bytes", .doc = "optional size"},
    {.name = "nodelay", .type = SONDA_PARAM_BOOL, .default_value = "false", .doc = "nested member"},
};

// The same table, bound: each entry is kHandWritten[i] plus its member.
inline constexpr auto kAllTypes = sonda::params<AllTypes>(
    sonda::param<&AllTypes::flag>(kHandWritten[0]), sonda::param<&AllTypes::count>(kHandWritten[1]),
    sonda::param<&AllTypes::small>(kHandWritten[2]), sonda::param<&AllTypes::ratio>(kHandWritten[3]),
    sonda::param<&AllTypes::mode>(kHandWritten[4]), sonda::param<&AllTypes::duration_ns>(kHandWritten[5]),
    sonda::param<&AllTypes::size_bytes>(kHandWritten[6]), sonda::param<&AllTypes::rate>(kHandWritten[7]),
    sonda::param<&AllTypes::target>(kHandWritten[8]), sonda::param<&AllTypes::names>(kHandWritten[9]),
    sonda::param<&AllTypes::ports>(kHandWritten[10]), sonda::param<&AllTypes::label>(kHandWritten[11]),
    sonda::param<&AllTypes::limit>(kHandWritten[12]),
    sonda::param_group(sonda::param<&AllTypes::tuning, &Tuning::nodelay>(kHandWritten[13])));

/// What `sonda run` hands the plugin: every given value normalised from its
/// YAML text, every other default filled, by the host's own code.
json host_params(const json& written) {
  json out = json::object();
  for (const sonda_param_spec& spec : kAllTypes.specs) {
    if (auto it = written.find(spec.name); it != written.end()) {
      const std::string* text = it->is_string() ? it->get_ptr<const std::string*>() : nullptr;
      out[spec.name] = sonda::scenario::normalise_param(spec, *it, text);
    } else if (spec.default_value != nullptr) {
      out[spec.name] = sonda::scenario::normalise_default(spec);
    }
  }
  return out;
}

/// The StepError a bind throws; fails the test when none.
sonda::StepError bind_error(const json& params) {
  try {
    kAllTypes.bind(params);
  } catch (const sonda::StepError& e) {
    return e;
  }
  ADD_FAILURE() << "no error for " << params.dump();
  return sonda::StepError("none");
}

TEST(PluginParams, GeneratesTheSpecArrayTheHostDescribes) {
  ASSERT_EQ(kAllTypes.size, std::size(kHandWritten));
  for (size_t i = 0; i < kAllTypes.size; ++i) {
    const sonda_param_spec& a = kAllTypes.specs[i];
    const sonda_param_spec& b = kHandWritten[i];
    SCOPED_TRACE(b.name);
    EXPECT_STREQ(a.name, b.name);
    EXPECT_EQ(a.type, b.type);
    EXPECT_EQ(a.default_value == nullptr, b.default_value == nullptr);
    if (b.default_value != nullptr) {
      EXPECT_STREQ(a.default_value, b.default_value);
    }
    EXPECT_EQ(a.required, b.required);
    EXPECT_EQ(a.min, b.min);
    EXPECT_EQ(a.max, b.max);
    EXPECT_EQ(a.choices, b.choices);
    EXPECT_EQ(a.unit, b.unit);
    EXPECT_STREQ(a.doc, b.doc);
  }
}

TEST(PluginParams, BindsEveryTypeFromHostNormalisedValues) {
  const AllTypes o = kAllTypes.bind(host_params({{"flag", "false"},
                                                 {"count", "42"},
                                                 {"small", "999"},
                                                 {"ratio", "0.5"},
                                                 {"mode", "sink"},
                                                 {"duration", "250ms"},
                                                 {"size", "1MiB"},
                                                 {"rate", "50kpps"},
                                                 {"target", "[::1]:5201"},
                                                 {"names", json::array({"lo", "eth0"})},
                                                 {"ports", json::array({80, 443})},
                                                 {"label", "x"},
                                                 {"limit", "2KB"},
                                                 {"nodelay", "true"}}));
  EXPECT_FALSE(o.flag);
  EXPECT_EQ(o.count, 42);
  EXPECT_EQ(o.small, 999);
  EXPECT_DOUBLE_EQ(o.ratio, 0.5);
  EXPECT_EQ(o.mode, "sink");
  EXPECT_EQ(o.duration_ns, 250'000'000);
  EXPECT_EQ(o.size_bytes, 1 << 20);
  EXPECT_EQ(o.rate, (sonda::Rate{sonda::Rate::Unit::kPacketsPerSec, 50'000}));
  EXPECT_EQ(o.target, "[::1]:5201");
  EXPECT_EQ(o.names, (std::vector<std::string>{"lo", "eth0"}));
  EXPECT_EQ(o.ports, (std::vector<int64_t>{80, 443}));
  EXPECT_EQ(o.label, "x");
  EXPECT_EQ(o.limit, 2000);
  EXPECT_TRUE(o.tuning.nodelay);
}

TEST(PluginParams, DefaultsFromTheHostNormaliserEqualTheTablesOwn) {
  const json required = {{"target", "h:1"}};
  const AllTypes from_host = kAllTypes.bind(host_params(required));
  const AllTypes own = kAllTypes.bind(required);  // a driver's partial JSON
  EXPECT_TRUE(from_host.flag);
  EXPECT_EQ(from_host.count, 3);
  EXPECT_DOUBLE_EQ(from_host.ratio, 0.25);
  EXPECT_EQ(from_host.mode, "echo");
  EXPECT_EQ(from_host.duration_ns, 1'500'000'000);
  EXPECT_EQ(from_host.size_bytes, 65536);
  EXPECT_EQ(from_host.rate.bits_per_sec(), 10e6);
  kAllTypes.for_each([&](const auto& p) {
    EXPECT_TRUE(p.field(from_host) == p.field(own)) << p.spec.name;
  });
}

TEST(PluginParams, OptionalAbsentIsEmptyAndListAbsentIsEmpty) {
  const AllTypes o = kAllTypes.bind(host_params({{"target", "h:1"}}));
  EXPECT_FALSE(o.label.has_value());
  EXPECT_FALSE(o.limit.has_value());
  EXPECT_TRUE(o.names.empty());
  EXPECT_TRUE(o.ports.empty());
  // null is what a reference to a missing field resolves to: absent too.
  EXPECT_FALSE(kAllTypes.bind({{"target", "h:1"}, {"label", nullptr}}).label.has_value());
}

TEST(PluginParams, ScalarForAListIsAListOfOne) {
  EXPECT_EQ(kAllTypes.bind({{"target", "h:1"}, {"names", "lo"}}).names, std::vector<std::string>{"lo"});
  EXPECT_EQ(kAllTypes.bind({{"target", "h:1"}, {"ports", 22}}).ports, std::vector<int64_t>{22});
}

TEST(PluginParams, WrongJsonTypeFailsNamingTheParameter) {
  const std::vector<std::pair<std::string, json>> bad = {
      {"flag", "yes"},         {"count", "12"},        {"count", 1.5},
      {"ratio", "half"},       {"mode", 3},            {"duration", "5s"},
      {"size", json::array()}, {"rate", "10Mbit"},     {"rate", {{"bits_per_sec", "x"}}},
      {"target", 5201},        {"names", {{"a", 1}}},  {"ports", json::array({"http"})},
      {"label", false},        {"limit", json::object()}, {"nodelay", 1}};
  for (const auto& [name, value] : bad) {
    json p = {{"target", "h:1"}};
    p[name] = value;
    const sonda::StepError e = bind_error(p);
    EXPECT_EQ(e.kind(), "invalid_param") << name;
    EXPECT_EQ(e.details()["error"]["parameter"], name) << e.what();
    EXPECT_EQ(std::string(e.what()).rfind("parameter '" + name + "': expected", 0), 0u) << e.what();
  }
}

TEST(PluginParams, RequiredRangeAndChoicesHoldForRawJsonToo) {
  EXPECT_STREQ(bind_error(json::object()).what(), "parameter 'target': is required");
  EXPECT_STREQ(bind_error({{"target", "h:1"}, {"count", 101}}).what(),
               "parameter 'count': 101 is out of range; expected 0 to 100");
  EXPECT_STREQ(bind_error({{"target", "h:1"}, {"ports", {80, 70000}}}).what(),
               "parameter 'ports': 70000 is out of range; expected 1 to 65535");
  EXPECT_STREQ(bind_error({{"target", "h:1"}, {"mode", "source"}}).what(),
               "parameter 'mode': 'source' is not one of sink|echo");
  EXPECT_THROW(kAllTypes.bind(json::array()), std::invalid_argument);
}

TEST(PluginParams, DefaultsParseAtCompileTime) {
  using sonda::detail::parse_default;
  static_assert(parse_default(SONDA_PARAM_DURATION, "200ms")->i == 200'000'000);
  static_assert(parse_default(SONDA_PARAM_DURATION, "0s")->i == 0);
  static_assert(parse_default(SONDA_PARAM_SIZE, "1400B")->i == 1400);
  static_assert(parse_default(SONDA_PARAM_SIZE, "32MiB")->i == 32 << 20);
  static_assert(parse_default(SONDA_PARAM_RATE, "unlimited")->rate.unlimited());
  static_assert(!parse_default(SONDA_PARAM_DURATION, "5 sec"));
  static_assert(!parse_default(SONDA_PARAM_SIZE, "1.5B"));
  static_assert(!parse_default(SONDA_PARAM_BOOL, "yes"));
  SUCCEED();
}

// ---- old-style and bound actions in one plugin table, through the
// dispatcher the SONDA_PLUGIN macro generates.

json old_style(const json& params, sonda::Context&) { return {{"got", params}}; }

json bound_fn(const AllTypes& o, sonda::Context&) {
  return {{"count", o.count}, {"target", o.target}, {"nodelay", o.tuning.nodelay}};
}

constexpr sonda_param_spec kOldParams[] = {{.name = "x", .type = SONDA_PARAM_INT}};

const sonda::Action kMixed[] = {
    {{.name = "old", .params = kOldParams, .param_count = std::size(kOldParams)}, &old_style},
    sonda::action<kAllTypes, &bound_fn>({.name = "new", .doc = "bound", .flags = SONDA_ACTION_BACKGROUND}),
};

struct Captured {
  std::string result;
  std::string error;
};

int run(const char* action, const json& params, Captured& out) {
  static const int kStop = 0;
  sonda_host host{};
  host.abi_version = SONDA_ABI_VERSION;
  host.ctx = &out;
  host.stop_flag = &kStop;
  host.log = [](void*, int, const char*) {};
  host.ready = [](void*, const char*) {};
  host.sample = [](void*, const char*) {};
  host.set_result = [](void* c, const char* j) { static_cast<Captured*>(c)->result = j; };
  host.set_error = [](void* c, const char* m) { static_cast<Captured*>(c)->error = m; };
  return sonda::detail::dispatch(kMixed, action, params.dump().c_str(), &host);
}

TEST(PluginParams, OldStyleAndBoundActionsShareOneTable) {
  const auto specs = sonda::detail::specs_of(kMixed);
  EXPECT_EQ(specs.specs[0].params, kOldParams);
  EXPECT_EQ(specs.specs[1].params, kAllTypes.specs);
  EXPECT_EQ(specs.specs[1].param_count, kAllTypes.size);
  EXPECT_EQ(specs.specs[1].flags, SONDA_ACTION_BACKGROUND);

  Captured old_out;
  EXPECT_EQ(run("old", {{"x", "raw"}}, old_out), 0);
  EXPECT_EQ(json::parse(old_out.result), (json{{"got", {{"x", "raw"}}}}));

  Captured new_out;
  EXPECT_EQ(run("new", host_params({{"target", "h:9"}, {"nodelay", "true"}}), new_out), 0);
  EXPECT_EQ(json::parse(new_out.result), (json{{"count", 3}, {"target", "h:9"}, {"nodelay", true}}));
}

// ---- a record handed over in pieces (Context::append_record_text): to a
// host of revision 2 as pieces, to an older one gathered into one
// set_result; a set_record_text() afterwards replaces the pieces.

json pieces_fn(const json& params, sonda::Context& ctx) {
  for (const auto& p : params.at("pieces")) {
    ctx.append_record_text(p.get<std::string>());
  }
  if (params.contains("then")) {
    ctx.set_record_text(params.at("then").get<std::string>());
  }
  return json::object();
}

const sonda::Action kPieces[] = {{{.name = "pieces"}, &pieces_fn}};

struct Pieces {
  std::vector<std::string> appended;
  std::vector<std::string> set;
};

Pieces run_pieces(uint32_t revision, const json& params) {
  static const int kStop = 0;
  Pieces out;
  sonda_host host{};
  host.abi_version = revision;
  host.ctx = &out;
  host.stop_flag = &kStop;
  host.log = [](void*, int, const char*) {};
  host.ready = [](void*, const char*) {};
  host.sample = [](void*, const char*) {};
  host.set_result = [](void* c, const char* j) { static_cast<Pieces*>(c)->set.emplace_back(j); };
  host.set_error = [](void*, const char*) {};
  // A revision-1 host has no such field: whatever is there must not be called.
  host.append_result = revision >= 2 ? +[](void* c, const char* d, size_t n) {
    static_cast<Pieces*>(c)->appended.emplace_back(d, n);
  } : +[](void*, const char*, size_t) { ADD_FAILURE() << "append_result called on a revision-1 host"; };
  EXPECT_EQ(sonda::detail::dispatch(kPieces, "pieces", params.dump().c_str(), &host), 0);
  return out;
}

TEST(PluginParams, RecordPiecesReachANewHostAsPiecesAndAnOldOneWhole) {
  const json params = {{"pieces", {"{\"a\":", "[1,2]", "}"}}};
  const Pieces now = run_pieces(SONDA_HOST_REVISION, params);
  EXPECT_EQ(now.appended, (std::vector<std::string>{"{\"a\":", "[1,2]", "}"}));
  EXPECT_TRUE(now.set.empty());  // nothing to replace the pieces with
  const Pieces old = run_pieces(1, params);
  EXPECT_TRUE(old.appended.empty());
  EXPECT_EQ(old.set, (std::vector<std::string>{"{\"a\":[1,2]}"}));

  json replaced = params;
  replaced["then"] = "{\"b\":2}";
  EXPECT_EQ(run_pieces(SONDA_HOST_REVISION, replaced).set, (std::vector<std::string>{"{\"b\":2}"}));
  EXPECT_EQ(run_pieces(1, replaced).set, (std::vector<std::string>{"{\"b\":2}"}));
}

TEST(PluginParams, DispatcherTurnsABadValueIntoAnInvalidParamStep) {
  Captured out;
  EXPECT_EQ(run("new", {{"target", "h:1"}, {"count", "many"}}, out), 1);
  EXPECT_EQ(out.error, "parameter 'count': expected an integer, got \"many\"");
  const json rec = json::parse(out.result);
  EXPECT_EQ(rec["error"]["kind"], "invalid_param");
  EXPECT_EQ(rec["error"]["parameter"], "count");
}

// ---- every plugin's tables: the defaults the SDK parses at compile time
// are what the host's normaliser makes of the same text.

template <class Table>
void expect_defaults_agree(const Table& table, const json& required, const char* what) {
  json from_host = required;
  for (size_t i = 0; i < table.size; ++i) {
    const sonda_param_spec& spec = table.specs[i];
    if (spec.default_value != nullptr && !from_host.contains(spec.name)) {
      from_host[spec.name] = sonda::scenario::normalise_default(spec);
    }
  }
  const auto host = table.bind(from_host);
  const auto own = table.bind(required);
  int compared = 0;
  table.for_each([&](const auto& p) {
    EXPECT_TRUE(p.field(host) == p.field(own)) << what << "." << p.spec.name;
    ++compared;
  });
  EXPECT_EQ(compared, static_cast<int>(table.size)) << what;
}

TEST(PluginParams, EveryPluginsDefaultsAgreeWithTheHostNormaliser) {
  const json target = {{"target", "127.0.0.1:1"}};
  expect_defaults_agree(sonda::iface::kScanParams, json::object(), "iface_scanner.scan");
  expect_defaults_agree(sonda::iface::kWatchParams, json::object(), "iface_scanner.watch");
  expect_defaults_agree(sonda::proc_scanner::kScanParams, json::object(), "proc_scanner.scan");
  expect_defaults_agree(sonda::proc_scanner::kOwnerParams, {{"port", 80}}, "proc_scanner.owner");
  expect_defaults_agree(sonda::proc_scanner::kWaitParams, {{"port", 80}}, "proc_scanner.wait_for");
  expect_defaults_agree(sonda::tcp::kServerParams, json::object(), "tcp_transport.server");
  expect_defaults_agree(sonda::tcp::kStreamParams, target, "tcp_transport.stream");
  expect_defaults_agree(sonda::tcp::kRrParams, target, "tcp_transport.rr");
  expect_defaults_agree(sonda::tcp::kCrrParams, target, "tcp_transport.crr");
  expect_defaults_agree(sonda::udp::kServerParams, json::object(), "udp_transport.server");
  expect_defaults_agree(sonda::udp::kStreamParams, json::object(), "udp_transport.stream");
  expect_defaults_agree(sonda::udp::kRrParams, target, "udp_transport.rr");
}

// WaitSpec is also a C++ API (tests build it directly): its member
// initialisers must say what the wait_for table says.
TEST(PluginParams, WaitSpecInitialisersAreTheWaitForDefaults) {
  sonda::proc_scanner::WaitSpec direct;
  direct.port = 80;
  const sonda::proc_scanner::WaitSpec bound = sonda::proc_scanner::kWaitParams.bind({{"port", 80}});
  sonda::proc_scanner::kWaitParams.for_each(
      [&](const auto& p) { EXPECT_TRUE(p.field(direct) == p.field(bound)) << p.spec.name; });
}

}  // namespace
