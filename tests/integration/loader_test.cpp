// The door check against real .so files built for this test, each broken in
// one way. Golden tests: the exact one-line refusal reasons.
#include <gtest/gtest.h>

#include <cstddef>

#include <filesystem>

#include "describe.hpp"
#include "registry.hpp"
#include "step_task.hpp"

namespace sonda {
namespace {

const std::string kDir = SONDA_TEST_PLUGIN_DIR;

std::string refusal(const std::string& file) {
  auto out = load_plugin(kDir + "/" + file);
  if (auto* r = std::get_if<RefusedPlugin>(&out)) {
    return r->reason;
  }
  return "(accepted)";
}

TEST(PluginLoader, AcceptsTestkitAndReadsItsDescriptor) {
  auto out = load_plugin(kDir + "/testkit.so");
  ASSERT_TRUE(std::holds_alternative<std::shared_ptr<const LoadedPlugin>>(out)) << refusal("testkit.so");
  auto plugin = std::get<std::shared_ptr<const LoadedPlugin>>(out);
  EXPECT_EQ(plugin->name(), "testkit");
  EXPECT_EQ(plugin->version(), "1.2.3");
  ASSERT_NE(plugin->find_action("server"), nullptr);
  EXPECT_EQ(plugin->find_action("server")->flags & SONDA_ACTION_BACKGROUND, SONDA_ACTION_BACKGROUND);
  EXPECT_EQ(plugin->find_action("nope"), nullptr);
}

TEST(PluginLoader, RefusesTextFileNamedSo) {
  EXPECT_EQ(refusal("not_a_library.so"), "plugin not_a_library.so: not a shared library (no ELF header)");
}

TEST(PluginLoader, RefusesLibraryWithoutSondaSymbols) {
  EXPECT_EQ(refusal("no_symbols.so"), "plugin no_symbols.so: not a sonda plugin (no sonda_abi_version symbol)");
}

TEST(PluginLoader, RefusesAbiMismatchNamingBothVersions) {
  EXPECT_EQ(refusal("abi999.so"), "plugin abi999.so: built for sonda ABI 999, this host speaks ABI 1");
}

TEST(PluginLoader, RefusesDescriptorSmallerThanHostStruct) {
  EXPECT_EQ(refusal("small_struct.so"),
            "plugin small_struct.so: descriptor struct_size 16 is smaller than " +
                std::to_string(offsetof(sonda_plugin, figures)) + " bytes (built against an older header)");
}

TEST(PluginLoader, AcceptsADescriptorFromBeforeFiguresWithNoFigures) {
  auto out = load_plugin(std::string(SONDA_TEST_PLUGIN_DIR) + "/old_header.so");
  ASSERT_TRUE(std::holds_alternative<std::shared_ptr<const LoadedPlugin>>(out))
      << std::get<RefusedPlugin>(out).reason;
  EXPECT_TRUE(std::get<std::shared_ptr<const LoadedPlugin>>(out)->figures().empty());
}

TEST(PluginLoader, AcceptsADescriptorFromBeforeRenames) {
  EXPECT_EQ(refusal("before_renames.so"), "(accepted)");
}

TEST(PluginLoader, RefusesARenameToAParameterNoActionHas) {
  EXPECT_EQ(refusal("bad_rename.so"),
            "plugin bad_rename.so: rename #0 ('payload' -> 'size'): no action 'no_result' has a parameter 'size'");
}

TEST(PluginLoader, RefusesAPortOwnerClaimWithoutItsActions) {
  EXPECT_EQ(refusal("bad_capability.so"),
            "plugin bad_capability.so: claims the port_owner capability, but it has no action 'owner'");
}

TEST(PluginLoader, ProcScannerAnswersWhoHoldsAPortByCapability) {
  // The runner finds the plugin it asks about ports by capability, not by
  // the name proc_scanner; the registry completes a partial load to find it.
  Registry registry;
  registry.load_named({SONDA_PLUGIN_DIR}, {"iface_scanner"});
  EXPECT_EQ(registry.get("proc_scanner"), nullptr) << "loaded only what was named";
  ASSERT_NE(registry.get("iface_scanner"), nullptr);
  const auto owner = registry.with_capability(SONDA_CAP_PORT_OWNER);
  ASSERT_NE(owner, nullptr);
  EXPECT_EQ(owner->name(), "proc_scanner");
  EXPECT_NE(owner->find_action("owner"), nullptr);
  EXPECT_NE(owner->find_action("wait_for"), nullptr);
}

TEST(PluginLoader, RefusesAFigureWithoutABetterDirection) {
  EXPECT_EQ(refusal("bad_figure.so"),
            "plugin bad_figure.so: figure #0 (no_result rate) must say better: \"higher\" or \"lower\"");
}

TEST(PluginLoader, RefusesDescriptorWithoutRunFunction) {
  EXPECT_EQ(refusal("null_run.so"), "plugin null_run.so: descriptor has no run function");
}

TEST(PluginLoader, RefusesMissingFile) {
  EXPECT_EQ(refusal("does_not_exist.so"), "plugin does_not_exist.so: not a regular file");
}

TEST(Registry, RefusesSecondPluginWithTheSameName) {
  Registry registry;
  registry.load_directory(kDir);
  ASSERT_NE(registry.get("dup"), nullptr);
  EXPECT_EQ(std::filesystem::path(registry.get("dup")->path).filename(), "dup_a.so");
  const RefusedPlugin* r = registry.refusal_for("dup");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->reason.rfind("duplicate plugin 'dup': dup_a.so and dup_b.so", 0), 0u) << r->reason;
}

TEST(Registry, LoadsDirectoryKeepingGoodAndListingEveryRefusal) {
  Registry registry;
  registry.load_directory(kDir);
  registry.load_directory(kDir);  // listed twice on the path: harmless
  EXPECT_NE(registry.get("testkit"), nullptr);
  EXPECT_NE(registry.get("misbehave"), nullptr);
  EXPECT_EQ(registry.get("abi999"), nullptr);
  EXPECT_EQ(registry.refused().size(), 9u);  // text, no symbols, abi, small, null run, dup, bad figure, bad rename,
                                             // bad capability
  EXPECT_EQ(registry.find_plugin("testkit"), registry.get("testkit")->descriptor);
  EXPECT_EQ(registry.plugin_names(), (std::vector<std::string>{"before_renames", "chaos", "dup", "misbehave", "old_header", "testkit"}));
  const std::string listing = list_plugins(registry);
  const size_t row = listing.find("\ntestkit ");
  ASSERT_NE(row, std::string::npos) << listing;
  EXPECT_NE(listing.substr(row, listing.find('\n', row + 1) - row).find(" 1.2.3 "), std::string::npos);
  EXPECT_NE(listing.find("built for sonda ABI 999, this host speaks ABI 1"), std::string::npos);
}

TEST(Registry, SearchPathPutsBinaryDirFirstThenEnvThenFlags) {
  setenv("SONDA_PLUGIN_PATH", "/env/a::/env/b", 1);
  const auto dirs = Registry::search_dirs({"/flag"});
  unsetenv("SONDA_PLUGIN_PATH");
  ASSERT_EQ(dirs.size(), 5u);
  EXPECT_EQ(dirs[0], std::filesystem::read_symlink("/proc/self/exe").parent_path().string());
  EXPECT_NE(dirs[1].find("lib/sonda/plugins"), std::string::npos);
  EXPECT_EQ(dirs[2], "/env/a");
  EXPECT_EQ(dirs[3], "/env/b");
  EXPECT_EQ(dirs[4], "/flag");
}

TEST(ActionTask, MisbehavingPluginsAreRecordedNotFatal) {
  Registry registry;
  registry.load_file(kDir + "/misbehave.so");
  auto plugin = registry.get("misbehave");
  ASSERT_NE(plugin, nullptr);
  auto no_result = ActionTask::run_sync(plugin, "no_result", nlohmann::json::object(), 0, nullptr);
  EXPECT_EQ(no_result.rc, 0);
  EXPECT_EQ(no_result.record.tree(), nlohmann::json::object());
  auto silent = ActionTask::run_sync(plugin, "silent_fail", nlohmann::json::object(), 0, nullptr);
  EXPECT_EQ(silent.rc, 7);
  EXPECT_EQ(silent.error, "misbehave.silent_fail failed with status 7 and no message");
  auto bad = ActionTask::run_sync(plugin, "bad_json", nlohmann::json::object(), 0, nullptr);
  EXPECT_EQ(bad.record.tree(), (nlohmann::json{{"invalid_json", "{not json"}}));
}

TEST(ActionTask, StopFlagEndsABackgroundServerAfterReady) {
  Registry registry;
  registry.load_file(kDir + "/testkit.so");
  ActionTask task(registry.get("testkit"), "server", {{"port", 0}}, 0);
  task.start();
  ASSERT_TRUE(task.wait_ready(monotonic_now_ns() + 5'000'000'000));
  const int port = task.outcome().ready_info->at("port").get<int>();
  EXPECT_GT(port, 0);
  EXPECT_FALSE(task.wait_done(monotonic_now_ns() + 50'000'000));  // still serving
  task.request_stop();
  ASSERT_TRUE(task.wait_done(monotonic_now_ns() + 5'000'000'000));
  EXPECT_EQ(task.outcome().rc, 0);
  EXPECT_EQ(task.outcome().record.top().at("port").get<int>(), port);
}

TEST(Describe, RendersTypedParameterTableFromTheSchema) {
  Registry registry;
  registry.load_file(kDir + "/testkit.so");
  const std::string text = describe_plugin(*registry.get("testkit"), false);
  EXPECT_NE(text.find("testkit.server  [background]"), std::string::npos) << text;
  EXPECT_NE(text.find("duration"), std::string::npos);
  const std::string md = describe_plugin(*registry.get("testkit"), true);
  EXPECT_NE(md.find("| protocol | string |  | tcp | one of tcp\\|udp |  | Protocol for addr_in_use |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| count | int |  | 1 | 0 .. 1000 |  | An int |"), std::string::npos) << md;
}

}  // namespace
}  // namespace sonda
