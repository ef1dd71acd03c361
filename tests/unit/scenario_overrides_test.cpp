// `--set key=value` overrides, applied before validation.
#include <gtest/gtest.h>

#include "scenario_test_util.hpp"

namespace sonda::testing {
namespace {

constexpr char kScenario[] = R"(name: base
defaults: { duration: 5s }
steps:
  - id: srv
    use: tcp_transport.server
    with: { listen: "127.0.0.1:10001" }
  - parallel:
      - id: load
        use: tcp_transport.rr
        with: { target: "127.0.0.1:10001" }
)";

const Step& load_step(const Scenario& s) { return s.root.nodes[1].group->nodes[0].step; }

TEST(ScenarioOverrides, SetsDefaultsNameAndNestedStepParameters) {
  Scenario s = load_text(kScenario, {"defaults.duration=1s", "name=quick",
                                     "steps.load.with.size=128B", "steps.load.repeat=2"});
  EXPECT_EQ(s.name, "quick");
  EXPECT_EQ(load_step(s).params["duration"], 1'000'000'000);
  EXPECT_EQ(load_step(s).params["size"], 128);
  EXPECT_EQ(load_step(s).repeat, 2);
  EXPECT_EQ(s.as_run["steps"][1]["parallel"][0]["with"]["size"], "128B");
  EXPECT_EQ(s.as_run["name"], "quick");
}

TEST(ScenarioOverrides, AddsNewDefaultsAndParameters) {
  Scenario s = load_text(kScenario, {"defaults.parallel=4", "steps.srv.with.mode=discard"});
  EXPECT_EQ(load_step(s).params["parallel"], 4);
  EXPECT_EQ(s.root.nodes[0].step.params["mode"], "discard");
}

TEST(ScenarioOverrides, ParsesValuesAsYamlScalars) {
  Scenario s = load_text(kScenario, {"stop_on_failure=true", "steps.load.with.verify_echo=false"});
  EXPECT_TRUE(s.stop_on_failure);
  EXPECT_EQ(load_step(s).params["verify_echo"], false);
}

TEST(ScenarioOverrides, AddressesListIndicesAndSpawnKeys) {
  Scenario s = load_text("name: x\nsteps:\n  - { id: e, spawn: { cmd: [a] } }\n"
                         "  - use: iface_scanner.scan\n",
                         {"steps.1.with.interface=eth0", "steps.e.spawn.env.X=1",
                          "steps.e.spawn.ready.tcp_listen=9000"});
  EXPECT_EQ(s.root.nodes[1].step.params["interface"], "eth0");
  EXPECT_EQ(first_step(s).spawn.env.at("X"), "1");
  EXPECT_EQ(first_step(s).spawn.ready_tcp_port, 9000);
}

TEST(ScenarioOverrides, RejectsPathsThatDoNotExist) {
  EXPECT_EQ(load_errors(kScenario, {"steps.lod.with.size=1B"}),
            "--set:0:1: override 'steps.lod.with.size=1B': no step with id 'lod'; did you "
            "mean 'load'?");
  EXPECT_EQ(load_errors(kScenario, {"name=x", "nmae=y"}),
            "--set:0:2: override 'nmae=y': no key 'nmae' at 'nmae'; did you mean 'name'?");
  EXPECT_EQ(load_errors(kScenario, {"duration"}), "--set:0:1: override 'duration' must be "
                                                  "key=value");
}

TEST(ScenarioOverrides, ReportsBadOverriddenValuesAtTheOverride) {
  EXPECT_EQ(load_errors(kScenario, {"steps.load.with.size=huge"}),
            "--set:0:1: parameter 'size': bad size 'huge': expected a number followed by B, "
            "kB, MB, GB, TB, KiB, MiB, GiB or TiB (a bare number is bytes) (tcp_transport.rr)");
  EXPECT_EQ(load_errors(kScenario, {"steps.load.with.szie=1B"}),
            "--set:0:1: unknown parameter 'szie' for tcp_transport.rr; did you mean "
            "'size'?");
}

}  // namespace
}  // namespace sonda::testing
