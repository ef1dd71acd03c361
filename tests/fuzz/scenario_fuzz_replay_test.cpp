// Replays the fuzz corpus (and every prefix-truncation of each file, which
// is where YAML parsers break) through the fuzz body with g++, so CI runs
// the fuzzer's invariants without clang.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "scenario_fuzz_body.hpp"

namespace {

namespace fs = std::filesystem;

std::vector<fs::path> corpus_files() {
  std::vector<fs::path> files;
  for (const char* dir : {SONDA_FUZZ_CORPUS, SONDA_SCENARIO_TEST_DATA}) {
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (entry.is_regular_file()) {
        files.push_back(entry.path());
      }
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(ScenarioFuzzReplay, CorpusAndItsTruncationsNeverCrash) {
  const auto files = corpus_files();
  ASSERT_GE(files.size(), 10u);
  for (const auto& file : files) {
    const std::string text = slurp(file);
    SCOPED_TRACE(file.string());
    const auto* bytes = reinterpret_cast<const uint8_t*>(text.data());
    sonda::fuzz::fuzz_one(bytes, text.size());
    // Every 7th prefix keeps the test well under a second.
    for (size_t cut = 0; cut < text.size(); cut += 7) {
      sonda::fuzz::fuzz_one(bytes, cut);
    }
  }
}

}  // namespace
