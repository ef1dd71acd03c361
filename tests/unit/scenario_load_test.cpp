// Loading and validating scenarios: structure, schema checks, defaults,
// normalisation, marks.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "scenario_test_util.hpp"

namespace sonda::testing {
namespace {

using nlohmann::json;

constexpr char kExample[] = R"(name: example
description: the example from the docs
defaults: { duration: 2s }
steps:
  - id: ifaces
    use: iface_scanner.scan
    with: { interface: lo }
    timeout: 30s
  - id: srv
    use: tcp_transport.server
    with: { listen: "127.0.0.1:10001", mode: echo }
  - parallel:
      - { id: load, use: tcp_transport.rr, with: { target: "127.0.0.1:10001", size: 64B } }
      - { id: who, use: proc_scanner.scan, with: { port: 10001 } }
expect:
  - load.latency.p99_ns < 2ms
)";

TEST(LoadScenario, BuildsTheStepTreeOfAValidScenario) {
  Scenario s = load_text(kExample);
  EXPECT_EQ(s.name, "example");
  EXPECT_EQ(s.description, "the example from the docs");
  ASSERT_EQ(s.root.nodes.size(), 3u);
  const Step& ifaces = s.root.nodes[0].step;
  EXPECT_EQ(ifaces.id, "ifaces");
  EXPECT_EQ(ifaces.plugin, "iface_scanner");
  EXPECT_EQ(ifaces.action, "scan");
  EXPECT_EQ(ifaces.timeout_ns, 30'000'000'000);
  EXPECT_EQ(ifaces.mark.str(), "s.yaml:5:5");
  EXPECT_FALSE(ifaces.background);
  const Step& srv = s.root.nodes[1].step;
  EXPECT_TRUE(srv.background) << "BACKGROUND actions are background steps";
  ASSERT_TRUE(s.root.nodes[2].is_group());
  const Group& group = *s.root.nodes[2].group;
  EXPECT_TRUE(group.parallel);
  ASSERT_EQ(group.nodes.size(), 2u);
  EXPECT_EQ(group.nodes[0].step.id, "load");
  EXPECT_EQ(group.nodes[1].step.id, "who");
  ASSERT_EQ(s.expectations.size(), 1u);
  EXPECT_EQ(s.expectations[0].text, "load.latency.p99_ns < 2ms");
  EXPECT_EQ(s.expectations[0].mark.str(), "s.yaml:16:5");
}

TEST(LoadScenario, NormalisesParametersAndFillsDefaults) {
  Scenario s = load_text(kExample);
  const json& load = s.root.nodes[2].group->nodes[0].step.params;
  EXPECT_EQ(load["target"], "127.0.0.1:10001");
  EXPECT_EQ(load["size"], 64);
  EXPECT_EQ(load["duration"], 2'000'000'000) << "scenario defaults: beat the plugin default";
  EXPECT_EQ(load["rate"], (json{{"unlimited", true}}));
  EXPECT_EQ(load["parallel"], 1);
  EXPECT_EQ(load["verify_echo"], true);
  EXPECT_DOUBLE_EQ(load["warmup_ratio"].get<double>(), 0.1);
  const json& who = s.root.nodes[2].group->nodes[1].step.params;
  EXPECT_EQ(who["port"], 10001);
  EXPECT_EQ(who["duration"], 2'000'000'000);
  EXPECT_FALSE(who.contains("during")) << "no default, not given: absent";
  EXPECT_EQ(s.root.nodes[0].step.params["families"], json::array({"inet"}));
}

TEST(LoadScenario, KeepsTheDocumentAsRun) {
  Scenario s = load_text(kExample);
  EXPECT_EQ(s.as_run["defaults"]["duration"], "2s");
  EXPECT_EQ(s.as_run["steps"][2]["parallel"][1]["with"]["port"], 10001);
  EXPECT_EQ(s.as_run["steps"][1]["with"]["listen"], "127.0.0.1:10001");
}

TEST(LoadScenario, GivesUnnamedStepsActionAndOrdinalIds) {
  Scenario s = load_text(R"(name: x
steps:
  - use: iface_scanner.scan
  - use: iface_scanner.scan
  - id: scan_3
    use: iface_scanner.scan
  - use: iface_scanner.scan
)");
  EXPECT_EQ(s.root.nodes[0].step.id, "scan_1");
  EXPECT_EQ(s.root.nodes[1].step.id, "scan_2");
  EXPECT_EQ(s.root.nodes[3].step.id, "scan_4");
}

TEST(LoadScenario, AutoIdsAvoidIdsWrittenLater) {
  Scenario s = load_text("name: x\nsteps:\n  - use: iface_scanner.scan\n"
                         "  - { id: scan_1, use: iface_scanner.scan }\n");
  EXPECT_EQ(s.root.nodes[0].step.id, "scan_1_");
}

TEST(LoadScenario, RejectsUnknownAction) {
  EXPECT_EQ(load_errors("name: x\nsteps:\n  - use: tcp_transport.r\n"),
            "s.yaml:3:5: unknown action 'r' in plugin tcp_transport; did you mean 'rr'?");
  EXPECT_EQ(load_errors("name: x\nsteps:\n  - use: tcp_transport.flood\n"),
            "s.yaml:3:5: unknown action 'flood' in plugin tcp_transport; expected one of: rr, "
            "server, stream");
}

TEST(LoadScenario, RejectsUnknownPluginWithSuggestion) {
  EXPECT_EQ(load_errors("name: x\nsteps:\n  - use: tcp_transprot.rr\n"),
            "s.yaml:3:5: unknown plugin 'tcp_transprot'; did you mean 'tcp_transport'?");
}

TEST(LoadScenario, RejectsUnknownParameterAtItsKey) {
  EXPECT_EQ(load_errors("name: x\nsteps:\n  - use: tcp_transport.rr\n    with:\n"
                        "      target: 127.0.0.1:1\n      szie: 64B\n"),
            "s.yaml:6:7: unknown parameter 'szie' for tcp_transport.rr; did you mean "
            "'size'?");
}

TEST(LoadScenario, RefusesARenamedParameterNamingItsNewName) {
  EXPECT_EQ(load_errors("name: x\nsteps:\n  - use: tcp_transport.rr\n    with:\n"
                        "      target: 127.0.0.1:1\n      connections: 2\n"),
            "s.yaml:6:7: 'connections' was renamed to 'parallel' (tcp_transport.rr)");
}

TEST(LoadScenario, AppliesAPluginWideRenameOnlyWhereTheNewNameExists) {
  EXPECT_EQ(load_errors("name: x\nsteps:\n  - use: tcp_transport.rr\n    with:\n"
                        "      target: 127.0.0.1:1\n      message_size: 1KiB\n"),
            "s.yaml:6:7: 'message_size' was renamed to 'size' (tcp_transport.rr)");
  // The server has no size: there 'message_size' is only unknown.
  EXPECT_EQ(load_errors("name: x\nsteps:\n  - use: tcp_transport.server\n    with:\n"
                        "      listen: 127.0.0.1:1\n      message_size: 1KiB\n"),
            "s.yaml:6:7: unknown parameter 'message_size' for tcp_transport.server; expected one of: listen, mode");
}

TEST(LoadScenario, RefusesARenamedParameterInDefaults) {
  EXPECT_EQ(load_errors("name: x\ndefaults: { connections: 2 }\nsteps:\n  - use: tcp_transport.rr\n"
                        "    with: { target: 127.0.0.1:1 }\n"),
            "s.yaml:2:13: default 'connections' was renamed to 'parallel' (tcp_transport.rr)");
}

TEST(LoadScenario, RejectsWrongTypes) {
  std::string errors = load_errors(R"(name: x
steps:
  - use: tcp_transport.rr
    with: { target: 127.0.0.1:1, parallel: many, verify_echo: maybe, size: [1] }
)");
  EXPECT_NE(errors.find("s.yaml:4:34: parameter 'parallel': expected an integer, got 'many'"),
            std::string::npos)
      << errors;
  EXPECT_NE(errors.find("s.yaml:4:50: parameter 'verify_echo': expected true or false, got "
                        "'maybe'"),
            std::string::npos)
      << errors;
  EXPECT_NE(errors.find("parameter 'size': expected a size, got a list"), std::string::npos)
      << errors;
}

TEST(LoadScenario, RejectsOutOfRangeShowingTheUsersUnitAndLimits) {
  EXPECT_EQ(load_errors("name: x\nsteps:\n  - use: tcp_transport.rr\n"
                        "    with: { target: 'h:1', size: 128KiB }\n"),
            "s.yaml:4:28: parameter 'size': 128KiB is out of range; expected 1B to 64KiB "
            "(tcp_transport.rr)");
  EXPECT_EQ(load_errors("name: x\nsteps:\n  - use: tcp_transport.rr\n"
                        "    with: { target: 'h:1', duration: 2h }\n"),
            "s.yaml:4:28: parameter 'duration': 2h is out of range; expected 1ms to 1h "
            "(tcp_transport.rr)");
}

TEST(LoadScenario, RejectsStringNotInChoices) {
  EXPECT_EQ(load_errors("name: x\nsteps:\n  - use: tcp_transport.server\n"
                        "    with: { listen: 'h:1', mode: ecoh }\n"),
            "s.yaml:4:28: parameter 'mode': 'ecoh' is not allowed; did you mean 'echo'? "
            "(tcp_transport.server)");
}

TEST(LoadScenario, RejectsMissingRequiredParameter) {
  EXPECT_EQ(load_errors("name: x\nsteps:\n  - use: tcp_transport.rr\n"),
            "s.yaml:3:5: missing required parameter 'target' for tcp_transport.rr");
}

TEST(LoadScenario, RejectsBadEndpoints) {
  for (const char* target : {"localhost", "host:99999", ":80", "[::1]80", "a:b:c"}) {
    EXPECT_NE(load_errors(std::string("name: x\nsteps:\n  - use: tcp_transport.rr\n"
                                      "    with: { target: '") + target + "' }\n")
                  .find("bad endpoint"),
              std::string::npos)
        << target;
  }
  EXPECT_EQ(load_errors("name: x\nsteps:\n  - use: tcp_transport.rr\n"
                        "    with: { target: '[::1]:80' }\n"),
            "");
}

TEST(LoadScenario, ReportsDuplicateStepIdAtTheSecond) {
  EXPECT_EQ(load_errors(R"(name: x
steps:
  - { id: a, use: iface_scanner.scan }
  - parallel:
      - { id: a, use: iface_scanner.scan }
)"),
            "s.yaml:5:11: duplicate step id 'a' (first used at s.yaml:3:7)");
}

TEST(LoadScenario, RejectsBadIds) {
  EXPECT_EQ(load_errors("name: x\nsteps:\n  - { id: 1st, use: iface_scanner.scan }\n"),
            "s.yaml:3:7: bad id '1st': expected a letter or '_' then letters, digits, '_' or '-'");
  EXPECT_EQ(load_errors("name: x\nsteps:\n  - { id: env, use: iface_scanner.scan }\n"),
            "s.yaml:3:7: id 'env' is reserved for ${env.NAME} references");
}

TEST(LoadScenario, RejectsNonPositiveRepeatAndBadTimeout) {
  std::string errors = load_errors(R"(name: x
steps:
  - use: iface_scanner.scan
    repeat: 0
    timeout: 5
)");
  EXPECT_EQ(errors,
            "s.yaml:4:5: repeat must be a positive integer, got '0'\n"
            "s.yaml:5:5: timeout must be a duration: bad duration '5': expected a number "
            "followed by ns, us, ms, s, m or h (a bare number is ambiguous)");
}

TEST(LoadScenario, AcceptsRepeatAndBackgroundTrue) {
  Scenario s = load_text("name: x\nsteps:\n  - use: iface_scanner.scan\n    repeat: 3\n"
                         "  - use: iface_scanner.scan\n    background: true\n");
  EXPECT_EQ(s.root.nodes[0].step.repeat, 3);
  EXPECT_TRUE(s.root.nodes[1].step.background);
}

TEST(LoadScenario, RejectsBackgroundFalseOnAServer) {
  EXPECT_EQ(load_errors("name: x\nsteps:\n  - use: tcp_transport.server\n"
                        "    with: { listen: 'h:1' }\n    background: false\n"),
            "s.yaml:5:5: tcp_transport.server is a server (background action); it cannot run "
            "with background: false");
}

TEST(LoadScenario, RejectsUnknownTopLevelAndStepKeysWithSuggestion) {
  EXPECT_EQ(load_errors("name: x\nstep:\n  - use: iface_scanner.scan\n"),
            "s.yaml:1:1: missing required key 'steps'\n"
            "s.yaml:2:1: unknown key 'step' in scenario; did you mean 'steps'?");
  EXPECT_EQ(load_errors("name: x\nsteps:\n  - use: iface_scanner.scan\n    wiht: {}\n"),
            "s.yaml:4:5: unknown key 'wiht' in step; did you mean 'with'?");
}

TEST(LoadScenario, ReportsAllErrorsAtOnce) {
  std::string errors = load_errors(R"(name: x
steps:
  - use: tcp_transport.rr
    with: { target: 'h:1', size: 64 bytes }
  - use: nope.scan
  - use: iface_scanner.scna
expect:
  - load.x <
)");
  EXPECT_EQ(errors,
            "s.yaml:4:28: parameter 'size': bad size '64 bytes': expected a number followed "
            "by B, kB, MB, GB, TB, KiB, MiB, GiB or TiB (a bare number is bytes) "
            "(tcp_transport.rr)\n"
            "s.yaml:5:5: unknown plugin 'nope'; expected one of: tcp_transport, iface_scanner, "
            "proc_scanner\n"
            "s.yaml:6:5: unknown action 'scna' in plugin iface_scanner; did you mean 'scan'?\n"
            "s.yaml:8:13: bad expectation 'load.x <': expected a value after the operator");
}

TEST(LoadScenario, ReportsDuplicateKeyAtSecondKey) {
  EXPECT_EQ(load_errors(R"(name: x
steps:
  - use: tcp_transport.rr
    with:
      target: 'h:1'
      size: 64B
      size: 128B
)"),
            "s.yaml:7:7: duplicate key 'size' (first defined at s.yaml:6:7)");
  EXPECT_EQ(load_errors("name: x\nname: y\nsteps: [{use: iface_scanner.scan}]\n"),
            "s.yaml:2:1: duplicate key 'name' (first defined at s.yaml:1:1)");
}

TEST(LoadScenario, ReportsYamlSyntaxErrorWithItsMark) {
  std::string errors = load_errors("name: x\nsteps:\n  - use: [a\n");
  EXPECT_EQ(errors.rfind("s.yaml:", 0), 0u) << errors;
  EXPECT_NE(errors.find("YAML syntax error"), std::string::npos) << errors;
}

TEST(LoadScenario, RejectsInvalidUtf8WithItsPosition) {
  EXPECT_EQ(load_errors("name: x\nsteps:\n  - use: \xff\n"),
            "s.yaml:3:10: not valid UTF-8 (byte 24)");
  EXPECT_EQ(load_errors("name: \xc3\xa9t\xc3\xa9\nsteps: [{use: iface_scanner.scan}]\n"), "");
}

TEST(LoadScenario, ParsesSpawnSteps) {
  Scenario s = load_text(R"(name: x
steps:
  - id: echo
    spawn:
      cmd: python3 lab/tcp_server.py --port 10000
      env: { PYTHONUNBUFFERED: "1" }
      cwd: /tmp
      ready: { tcp_listen: 10000, timeout: 5s }
      grace: 500ms
)");
  const Step& echo = first_step(s);
  EXPECT_EQ(echo.kind, Step::Kind::kSpawn);
  EXPECT_TRUE(echo.background);
  EXPECT_EQ(echo.spawn.argv,
            (std::vector<std::string>{"python3", "lab/tcp_server.py", "--port", "10000"}));
  EXPECT_EQ(echo.spawn.env.at("PYTHONUNBUFFERED"), "1");
  EXPECT_EQ(echo.spawn.cwd, "/tmp");
  EXPECT_EQ(echo.spawn.ready_tcp_port, 10000);
  EXPECT_FALSE(echo.spawn.ready_udp_port.has_value());
  EXPECT_EQ(echo.spawn.ready_timeout_ns, 5'000'000'000);
  EXPECT_EQ(echo.spawn.stop_grace_ns, 500'000'000);
}

TEST(LoadScenario, RejectsSpawnWithoutIdOrCommand) {
  EXPECT_EQ(load_errors("name: x\nsteps:\n  - spawn: { ready: { udp_listen: 70000 } }\n"),
            "s.yaml:3:5: a spawn step needs an id\n"
            "s.yaml:3:5: spawn needs cmd: [program, args...]\n"
            "s.yaml:3:23: udp_listen must be a port from 1 to 65535, got '70000'");
}

TEST(LoadScenario, ReportsUseAndSpawnTogetherOnce) {
  EXPECT_EQ(load_errors("name: x\nsteps:\n  - { id: a, use: iface_scanner.scan, spawn: {} }\n"),
            "s.yaml:3:39: a step has either use or spawn, not both");
}

TEST(LoadScenario, RejectsUnusedDefaultWithSuggestion) {
  EXPECT_EQ(load_errors("name: x\ndefaults: { durration: 1s }\nsteps:\n"
                        "  - { use: tcp_transport.rr, with: { target: 'h:1' } }\n"),
            "s.yaml:2:13: default 'durration' is not a parameter of any step in this scenario; "
            "did you mean 'duration'?");
}

TEST(LoadScenario, ReportsABadDefaultOnceAtTheDefaultsKey) {
  EXPECT_EQ(load_errors("name: x\ndefaults: { duration: 5 sec }\nsteps:\n"
                        "  - { use: tcp_transport.rr, with: { target: 'h:1' } }\n"
                        "  - { use: tcp_transport.rr, with: { target: 'h:1' } }\n"),
            "s.yaml:2:13: parameter 'duration': bad duration '5 sec': expected a number "
            "followed by ns, us, ms, s, m or h (tcp_transport.rr)");
}

TEST(LoadScenario, ResolvesPluginPathsRelativeToTheFile) {
  static const FakeSchemas schemas;
  Scenario s = load_scenario_text("name: x\nplugins: [lib/a.so, /abs/b.so]\nsteps: "
                                  "[{use: iface_scanner.scan}]\n",
                                  "/work/scen/s.yaml", {}, schemas);
  EXPECT_EQ(s.plugin_paths, (std::vector<std::string>{"/work/scen/lib/a.so", "/abs/b.so"}));
}

TEST(LoadScenario, ReadsPluginPathsBeforeValidation) {
  const std::string dir = ::testing::TempDir() + "scenario_plugins_" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  const std::string file = dir + "/s.yaml";
  std::ofstream(file) << "name: x\nplugins: [p/extra.so]\nsteps: [{use: unknown.plugin}]\n";
  EXPECT_EQ(ScenarioSource::read(file, {}).plugin_paths(), std::vector<std::string>{dir + "/p/extra.so"});
  std::filesystem::remove_all(dir);
}

TEST(LoadScenario, SourceSaysWhatToLoadAfterOverrides) {
  // Read once: the plugins and capabilities come from the document as run,
  // so a --set that swaps a step's plugin is what gets loaded.
  const std::string text = R"(name: x
steps:
  - { id: a, use: iface_scanner.scan, with: { use: not_a_plugin } }
  - { id: b, use: tcp_transport.rr, with: { target: "127.0.0.1:1" } }
  - parallel:
      - { id: s, spawn: { cmd: [sleep, "1"], ready: { tcp_listen: 9 } } }
expect:
  - { use: expect_is_not_a_step }
)";
  const ScenarioSource source = ScenarioSource::from_text(text, "s.yaml", {"steps.b.use=udp_transport.rr"});
  EXPECT_EQ(source.needed_plugins(), (std::set<std::string>{"iface_scanner", "udp_transport"}));
  EXPECT_EQ(source.needed_capabilities(), uint64_t{SONDA_CAP_PORT_OWNER});
  const ScenarioSource plain = ScenarioSource::from_text("name: y\nsteps: [{use: proc_scanner.scan}]\n", "y.yaml", {});
  EXPECT_EQ(plain.needed_plugins(), std::set<std::string>{"proc_scanner"});
  EXPECT_EQ(plain.needed_capabilities(), uint64_t{0});
}

TEST(LoadScenario, ReportsAnUnreadableFileByName) {
  static const FakeSchemas schemas;
  try {
    load_scenario("/nonexistent/s.yaml", {}, schemas);
    FAIL();
  } catch (const ScenarioError& e) {
    EXPECT_STREQ(e.what(), "/nonexistent/s.yaml:0:0: cannot read scenario: No such file or "
                           "directory");
  }
}

}  // namespace
}  // namespace sonda::testing
