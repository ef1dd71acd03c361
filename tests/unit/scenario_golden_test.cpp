// Golden error tests: every data/bad_*.yaml must fail with exactly the text
// in the matching .txt (file:line:col of the offending key, all errors).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "scenario_test_util.hpp"

namespace sonda::testing {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  std::string s = text.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) {
    s.pop_back();
  }
  return s;
}

std::vector<fs::path> golden_cases() {
  std::vector<fs::path> cases;
  for (const auto& entry : fs::directory_iterator(SONDA_SCENARIO_TEST_DATA)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with("bad_") && entry.path().extension() == ".yaml") {
      cases.push_back(entry.path());
    }
  }
  std::sort(cases.begin(), cases.end());
  return cases;
}

TEST(ScenarioGolden, EachBadFileFailsWithExactlyTheExpectedErrors) {
  const auto cases = golden_cases();
  ASSERT_GE(cases.size(), 5u) << "golden files missing from " << SONDA_SCENARIO_TEST_DATA;
  for (const auto& yaml : cases) {
    fs::path expected_file = yaml;
    expected_file.replace_extension(".txt");
    ASSERT_TRUE(fs::exists(expected_file)) << expected_file;
    // Marks name the file as given; use the bare name so the text is stable.
    const std::string errors = load_errors_named(slurp(yaml) + "\n", yaml.filename().string());
    EXPECT_EQ(errors, slurp(expected_file)) << "golden case " << yaml.filename();
  }
}

TEST(ScenarioGolden, GoodExampleLoads) {
  const fs::path good = fs::path(SONDA_SCENARIO_TEST_DATA) / "good_lab.yaml";
  EXPECT_EQ(load_errors_named(slurp(good) + "\n", "good_lab.yaml"), "");
}

}  // namespace
}  // namespace sonda::testing
