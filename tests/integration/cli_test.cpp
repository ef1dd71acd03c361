// The `sonda` command line as a user meets it: --version, --help, plugins,
// describe, validate, and the exit code of each failure class.
#include <gtest/gtest.h>

#include <filesystem>

#include "cli_harness.hpp"

namespace sonda::testing {
namespace {

TEST(Cli, VersionNamesVersionAndGitHash) {
  auto r = run_sonda({"--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.rfind("sonda 0.1.0 (git ", 0), 0u) << r.out;
}

TEST(Cli, HelpDocumentsExitCodesOnEverySubcommand) {
  auto top = run_sonda({"--help"});
  EXPECT_EQ(top.exit_code, 0);
  EXPECT_NE(top.out.find("130  interrupted"), std::string::npos) << top.out;
  for (const char* sub : {"run", "validate", "plugins"}) {
    auto r = run_sonda({sub, "--help"});
    EXPECT_EQ(r.exit_code, 0) << sub;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << sub << ": " << r.out;
  }
}

TEST(Cli, UnknownSubcommandIsAUsageError) {
  EXPECT_EQ(run_sonda({"frobnicate"}).exit_code, 2);
}

TEST(Cli, PluginsListsFoundAndRefusedWithReasons) {
  auto r = run_sonda({"plugins"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("testkit"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1.2.3"), std::string::npos);
  EXPECT_NE(r.out.find(SONDA_TEST_PLUGIN_DIR "/testkit.so"), std::string::npos);
  EXPECT_NE(r.out.find("plugin abi999.so: built for sonda ABI 999, this host speaks ABI 1"), std::string::npos);
  EXPECT_NE(r.out.find("plugin not_a_library.so: not a shared library (no ELF header)"), std::string::npos);
  EXPECT_NE(r.out.find("duplicate plugin 'dup': dup_a.so and dup_b.so"), std::string::npos);
}

TEST(Cli, PluginPathFlagAddsADirectory) {
  auto r = run_sonda({"plugins", "--plugin-path", SONDA_TEST_PLUGIN_DIR}, {{"SONDA_PLUGIN_PATH", ""}});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find(SONDA_TEST_PLUGIN_DIR "/testkit.so"), std::string::npos) << r.out;
}

TEST(Cli, DescribePrintsActionsAndMarkdownTable) {
  auto text = run_sonda({"plugins", "describe", "testkit"});
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("testkit.emit_samples"), std::string::npos) << text.out;
  auto md = run_sonda({"plugins", "describe", "testkit", "--markdown"});
  EXPECT_EQ(md.exit_code, 0);
  EXPECT_NE(md.out.find("| parameter | type | required | default | allowed | unit | description |"),
            std::string::npos)
      << md.out;
  EXPECT_NE(md.out.find("| duration | duration |  | 100ms |  |  | How long to sleep |"), std::string::npos) << md.out;
  // Ranges as a scenario writes them, not raw nanoseconds and floats.
  const auto udp = run_sonda({"plugins", "describe", "udp_transport", "--markdown"});
  EXPECT_NE(udp.out.find("| interval | duration |  | 1s | 10ms .. 1h |  |"), std::string::npos) << udp.out;
  EXPECT_NE(udp.out.find("| size | size |  | 1400B | 24B .. 65507B |  |"), std::string::npos) << udp.out;
  EXPECT_NE(udp.out.find("| count | int |  | 0 | 0 .. 1000000000000000 |  |"), std::string::npos) << udp.out;
}

TEST(Cli, DescribeRefusedPluginExplainsAndExits3) {
  auto r = run_sonda({"plugins", "describe", "abi999"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("built for sonda ABI 999"), std::string::npos) << r.err;
  EXPECT_EQ(run_sonda({"plugins", "describe", "nosuch"}).exit_code, 3);
}

TEST(Cli, ValidateAcceptsGoodScenario) {
  ScratchDir dir;
  const auto file = dir.write("ok.yaml", "name: ok\nsteps:\n  - { id: a, use: testkit.sleep, with: { duration: 1ms } }\n");
  auto r = run_sonda({"validate", file});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("ok (1 steps, 0 expectations)"), std::string::npos) << r.out;
}

TEST(Cli, InvalidScenarioExits2WithFileLineColumn) {
  ScratchDir dir;
  const auto file = dir.write("bad.yaml",
                              "name: bad\nsteps:\n  - id: a\n    use: testkit.sleep\n    with: { duraton: 1s }\n");
  for (const auto& args : {std::vector<std::string>{"validate", file},
                           std::vector<std::string>{"run", file, "-o", dir.path() + "/out"}}) {
    auto r = run_sonda(args);
    EXPECT_EQ(r.exit_code, 2) << args[0];
    EXPECT_NE(r.err.find(file + ":5:13: unknown parameter 'duraton'"), std::string::npos) << r.err;
  }
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/out")) << "nothing runs before validation passes";
}

TEST(Cli, ValidateRefusesRenamedParametersOfTheRealTransportsNamingTheNewName) {
  ScratchDir dir;
  const auto file = dir.write("old.yaml",
                              "name: old\n"
                              "defaults: { send_buffer: 1MiB }\n"
                              "steps:\n"
                              "  - id: rr\n"
                              "    use: tcp_transport.rr\n"
                              "    with: { target: 127.0.0.1:1, payload: 64B, connections: 2 }\n"
                              "  - id: stream\n"
                              "    use: tcp_transport.stream\n"
                              "    with: { target: 127.0.0.1:1, message_size: 64KiB }\n"
                              "  - id: udp\n"
                              "    use: udp_transport.stream\n"
                              "    with: { flows: 2 }\n");
  auto r = run_sonda({"validate", file});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  for (const std::string& want :
       {file + ":2:13: default 'send_buffer' was renamed to 'sndbuf' (tcp_transport.rr)",
        file + ":6:34: 'payload' was renamed to 'size' (tcp_transport.rr)",
        file + ":6:48: 'connections' was renamed to 'parallel' (tcp_transport.rr)",
        file + ":9:34: 'message_size' was renamed to 'size' (tcp_transport.stream)",
        file + ":12:13: 'flows' was renamed to 'parallel' (udp_transport.stream)"}) {
    EXPECT_NE(r.err.find(want), std::string::npos) << "missing: " << want << "\n" << r.err;
  }
}

TEST(Cli, DescribeOneActionPrintsItsParameterBlockWithRenames) {
  auto r = run_sonda({"plugins", "describe", "--markdown", "tcp_transport.rr"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("| parameter | type |", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("| size | size |  | 64B |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("`payload` → `size`"), std::string::npos) << r.out;
  auto bad = run_sonda({"plugins", "describe", "tcp_transport.rrr"});
  EXPECT_EQ(bad.exit_code, 3);
  EXPECT_NE(bad.err.find("plugin tcp_transport has no action 'rrr'; it has: server stream rr crr"),
            std::string::npos)
      << bad.err;
}

TEST(Cli, ScenarioNeedingARefusedPluginExits3WithTheReason) {
  ScratchDir dir;
  const auto file = dir.write("abi.yaml", "name: abi\nsteps:\n  - { id: a, use: abi999.no_result }\n");
  auto r = run_sonda({"run", file, "-o", dir.path() + "/out"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("needs plugin 'abi999', which was refused: plugin abi999.so: built for sonda ABI 999"),
            std::string::npos)
      << r.err;
  const auto missing = dir.write("missing.yaml", "name: m\nsteps:\n  - { id: a, use: nosuch.scan }\n");
  EXPECT_EQ(run_sonda({"validate", missing}).exit_code, 3);
}

}  // namespace
}  // namespace sonda::testing
