// The shipped catalog's parse kept across scans: the cache gives back what
// the YAML says, and is dropped when the file changes or is not ours.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "catalog.hpp"
#include "catalog_cache.hpp"
#include "test_support.hpp"

namespace sonda::proc_scanner {
namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

void expect_same(const CatalogParts& a, const CatalogParts& b) {
  ASSERT_EQ(a.entries.size(), b.entries.size());
  for (size_t i = 0; i < a.entries.size(); ++i) {
    const CatalogEntry& x = a.entries[i];
    const CatalogEntry& y = b.entries[i];
    EXPECT_EQ(x.id, y.id);
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.process, y.process) << x.id;
    EXPECT_EQ(x.exe, y.exe) << x.id;
    EXPECT_EQ(x.cmdline, y.cmdline) << x.id;
    EXPECT_EQ(x.ports, y.ports) << x.id;
    EXPECT_EQ(x.banner, y.banner) << x.id;
    EXPECT_EQ(x.source, y.source) << x.id;
  }
  ASSERT_EQ(a.kernel_threads.size(), b.kernel_threads.size());
  for (size_t i = 0; i < a.kernel_threads.size(); ++i) {
    EXPECT_EQ(a.kernel_threads[i].pattern, b.kernel_threads[i].pattern);
    EXPECT_EQ(a.kernel_threads[i].what, b.kernel_threads[i].what);
    EXPECT_EQ(a.kernel_threads[i].source, b.kernel_threads[i].source);
  }
}

TEST(CatalogCache, GivesBackTheShippedCatalogExactly) {
  testing::TempDir dir("sonda-catalog-cache");
  const std::string shipped = default_catalog_path();
  ASSERT_FALSE(shipped.empty());
  const std::string text = read_text(shipped);
  const CatalogParts parsed = parse_catalog(text, shipped);
  ASSERT_GT(parsed.entries.size(), 40u);
  ASSERT_GT(parsed.kernel_threads.size(), 10u);
  EXPECT_FALSE(read_catalog_cache(dir.path(), text, shipped).has_value());
  ASSERT_TRUE(write_catalog_cache(dir.path(), text, shipped, parsed));
  const auto cached = read_catalog_cache(dir.path(), text, shipped);
  ASSERT_TRUE(cached.has_value());
  expect_same(parsed, *cached);
}

TEST(CatalogCache, AnEditedFileIsParsedAgainAndTheCacheReplaced) {
  testing::TempDir dir("sonda-catalog-cache");
  testing::TempDir data("sonda-catalog-data");
  ::setenv("SONDA_CATALOG_CACHE_DIR", dir.path().c_str(), 1);
  const std::string file = data.path() + "/apps.yaml";
  write_text(file, "applications:\n  - { id: a, name: A, process: [a], ports: [1/tcp] }\n");
  {
    Catalog c;
    c.load_file(file, true);  // parses, writes the cache
    ASSERT_EQ(c.entries().size(), 1u);
  }
  struct stat st {};
  ASSERT_EQ(::stat(catalog_cache_path(dir.path(), file).c_str(), &st), 0) << "no cache written";
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  write_text(file, "applications:\n  - { id: b, name: B, process: [b], ports: [2/udp] }\n"
                   "  - { id: c, name: C, exe: [c] }\n");
  Catalog edited;
  edited.load_file(file, true);
  ::unsetenv("SONDA_CATALOG_CACHE_DIR");
  ASSERT_EQ(edited.entries().size(), 2u);
  EXPECT_EQ(edited.entries()[0].id, "b");
  EXPECT_EQ(edited.entries()[0].ports[0], std::make_pair(uint16_t{2}, std::string("udp")));
  const auto cached = read_catalog_cache(dir.path(), read_text(file), file);
  ASSERT_TRUE(cached.has_value()) << "the cache was not replaced";
  EXPECT_EQ(cached->entries.size(), 2u);
}

TEST(CatalogCache, ACacheOthersCanWriteOrThatIsMalformedIsIgnored) {
  testing::TempDir dir("sonda-catalog-cache");
  const std::string origin = "/x/apps.yaml";
  const std::string text = "applications:\n  - { id: a, name: A, process: [a] }\n";
  const CatalogParts parts = parse_catalog(text, origin);
  ASSERT_TRUE(write_catalog_cache(dir.path(), text, origin, parts));
  const std::string path = catalog_cache_path(dir.path(), origin);
  ASSERT_TRUE(read_catalog_cache(dir.path(), text, origin).has_value());
  ASSERT_EQ(::chmod(path.c_str(), 0622), 0);
  EXPECT_FALSE(read_catalog_cache(dir.path(), text, origin).has_value())
      << "a cache others can write was trusted";
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  std::string body = read_text(path);
  body.replace(body.find("\"id\":\"a\""), 8, "\"id\":17 ");
  write_text(path, body);
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  EXPECT_FALSE(read_catalog_cache(dir.path(), text, origin).has_value());
  write_text(path, "{\"format\":1,");
  EXPECT_FALSE(read_catalog_cache(dir.path(), text, origin).has_value());
}

TEST(CatalogCache, BadYamlIsStillReportedWithItsLine) {
  testing::TempDir dir("sonda-catalog-cache");
  testing::TempDir data("sonda-catalog-data");
  ::setenv("SONDA_CATALOG_CACHE_DIR", dir.path().c_str(), 1);
  const std::string file = data.path() + "/apps.yaml";
  write_text(file, "applications:\n  - { id: a, name: A, process: [a], ports: [70000/tcp] }\n");
  Catalog c;
  try {
    c.load_file(file, true);
    ADD_FAILURE() << "a bad port was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(file + ":2"), std::string::npos) << e.what();
  }
  ::unsetenv("SONDA_CATALOG_CACHE_DIR");
  struct stat st {};
  EXPECT_NE(::stat(catalog_cache_path(dir.path(), file).c_str(), &st), 0)
      << "a catalog that failed to parse was cached";
}

}  // namespace
}  // namespace sonda::proc_scanner
