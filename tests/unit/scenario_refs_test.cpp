// `${step.path}` references: checked before the run, resolved from records.
#include <gtest/gtest.h>

#include <cstdlib>

#include "scenario_test_util.hpp"

namespace sonda::testing {
namespace {

using nlohmann::json;

constexpr char kSpawnThenOwner[] = R"(name: refs
steps:
  - id: echo
    spawn: { cmd: "python3 srv.py --port ${env.SONDA_TEST_PORT}", ready: { tcp_listen: 10000 } }
  - id: owner
    use: proc_scanner.owner
    with: { port: "${echo.port}" }
  - id: load
    use: tcp_transport.rr
    with:
      target: "127.0.0.1:${echo.port}"
      size: "${echo.sizes[1]}"
      duration: 1s
)";

class ScenarioRefs : public ::testing::Test {
 protected:
  void SetUp() override { setenv("SONDA_TEST_PORT", "10000", 1); }
  void TearDown() override { unsetenv("SONDA_TEST_PORT"); }
  FakeSchemas schemas_;
};

TEST_F(ScenarioRefs, RejectsReferenceToAStepDefinedLater) {
  EXPECT_EQ(load_errors(R"(name: x
steps:
  - use: proc_scanner.owner
    with: { port: "${echo.port}" }
  - id: echo
    spawn: { cmd: [x] }
)"),
            "s.yaml:4:13: '${echo.port}': step 'echo' (s.yaml:5:5) does not run before this "
            "step; a step can only use records of earlier steps");
}

TEST_F(ScenarioRefs, RejectsUnknownStepWithSuggestion) {
  EXPECT_EQ(load_errors(R"(name: x
steps:
  - { id: echo, spawn: { cmd: [x] } }
  - use: proc_scanner.owner
    with: { port: "${ecoh.port}" }
)"),
            "s.yaml:5:13: '${ecoh.port}': unknown step 'ecoh'; did you mean 'echo'?");
}

TEST_F(ScenarioRefs, RejectsReferenceToAConcurrentSibling) {
  EXPECT_EQ(load_errors(R"(name: x
steps:
  - parallel:
      - { id: a, use: iface_scanner.scan }
      - sequence:
          - { use: proc_scanner.scan, with: { during: "${a.x}" } }
)"),
            "s.yaml:6:47: '${a.x}': step 'a' runs in parallel with this step; move it before "
            "the parallel group");
}

TEST_F(ScenarioRefs, AcceptsReferenceToAnEarlierStepInsideTheSameSequence) {
  EXPECT_EQ(load_errors(R"(name: x
steps:
  - parallel:
      - sequence:
          - { id: a, use: iface_scanner.scan }
          - { use: proc_scanner.scan, with: { during: "${a.x}" } }
      - { use: iface_scanner.scan }
)"),
            "");
}

TEST_F(ScenarioRefs, RejectsMalformedReferencesAndUnsetEnvironment) {
  EXPECT_EQ(load_errors("name: x\nsteps:\n  - { use: proc_scanner.scan, with: { during: "
                        "\"${a.\" } }\n"),
            "s.yaml:3:39: unterminated '${' at offset 0 (write $${ for a literal ${)");
  EXPECT_EQ(load_errors("name: x\nsteps:\n  - { use: proc_scanner.scan, with: { during: "
                        "\"${env.SONDA_SURELY_UNSET_VAR}\" } }\n"),
            "s.yaml:3:39: '${env.SONDA_SURELY_UNSET_VAR}': environment variable "
            "'SONDA_SURELY_UNSET_VAR' is not set");
}

TEST_F(ScenarioRefs, KeepsReferencingParametersRawAndDeferred) {
  Scenario s = load_text(kSpawnThenOwner);
  const Step& owner = s.root.nodes[1].step;
  EXPECT_EQ(owner.deferred, (std::vector<std::string>{"port"}));
  EXPECT_EQ(owner.params["port"], "${echo.port}");
  EXPECT_EQ(owner.params["protocol"], "tcp") << "other parameters are normalised";
  const Step& echo = s.root.nodes[0].step;
  EXPECT_EQ(echo.deferred, (std::vector<std::string>{"cmd"}));
}

TEST_F(ScenarioRefs, WholeStringReferenceKeepsTheJsonType) {
  Scenario s = load_text(kSpawnThenOwner);
  json records = {{"echo", {{"pid", 4242}, {"port", 10000}}}};
  json params = resolve_params(s.root.nodes[1].step, records, schemas_);
  EXPECT_EQ(params["port"], 10000);
  EXPECT_TRUE(params["port"].is_number_integer());
}

TEST_F(ScenarioRefs, EmbeddedReferencesAreStringifiedThenNormalised) {
  Scenario s = load_text(kSpawnThenOwner);
  json records = {{"echo", {{"port", 10000}, {"sizes", {"1KiB", "2KiB"}}}}};
  json params = resolve_params(s.root.nodes[2].step, records, schemas_);
  EXPECT_EQ(params["target"], "127.0.0.1:10000");
  EXPECT_EQ(params["size"], 2048);
  EXPECT_EQ(params["duration"], 1'000'000'000);
}

TEST_F(ScenarioRefs, ResolveNamesStepAndParameterWhenAFieldIsMissing) {
  Scenario s = load_text(kSpawnThenOwner);
  try {
    resolve_params(s.root.nodes[1].step, json{{"echo", {{"pid", 1}}}}, schemas_);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "step 'owner': parameter 'port': '${echo.port}': echo.port: no such "
                           "field in the record");
  }
}

TEST_F(ScenarioRefs, ResolveValidatesTheSubstitutedValue) {
  Scenario s = load_text(kSpawnThenOwner);
  try {
    resolve_params(s.root.nodes[1].step, json{{"echo", {{"port", 70000}}}}, schemas_);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "step 'owner': parameter 'port': parameter 'port': 70000 is out of "
                           "range; expected 1 to 65535");
  }
}

TEST_F(ScenarioRefs, ResolvesSpawnCommandFromEnvironment) {
  Scenario s = load_text(kSpawnThenOwner);
  SpawnSpec spec = resolve_spawn(s.root.nodes[0].step, json::object());
  EXPECT_EQ(spec.argv, (std::vector<std::string>{"python3", "srv.py", "--port", "10000"}));
}

TEST_F(ScenarioRefs, DoubleDollarIsALiteral) {
  Scenario s = load_text("name: x\nsteps:\n  - { use: proc_scanner.scan, with: { during: "
                         "\"cost $${x}\" } }\n");
  EXPECT_EQ(first_step(s).params["during"], "cost ${x}");
  EXPECT_TRUE(first_step(s).deferred.empty());
}

TEST_F(ScenarioRefs, ReferencesIntoListsUseIndices) {
  Scenario s = load_text(R"(name: x
steps:
  - { id: ifaces, use: iface_scanner.scan }
  - { use: iface_scanner.scan, with: { interface: "${ifaces.interfaces[1].name}" } }
)");
  json records = {{"ifaces", {{"interfaces", {{{"name", "lo"}}, {{"name", "eth0"}}}}}}};
  EXPECT_EQ(resolve_params(s.root.nodes[1].step, records, schemas_)["interface"], "eth0");
}

}  // namespace
}  // namespace sonda::testing
