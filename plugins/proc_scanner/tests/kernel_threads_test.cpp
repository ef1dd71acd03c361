// The kernel-thread table: names grouped and explained from the catalog,
// against this machine's real kernel threads.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "catalog.hpp"
#include "kernel_threads.hpp"
#include "scan.hpp"
#include "test_support.hpp"

namespace sonda::proc_scanner {
namespace {

using nlohmann::json;

TEST(KernelThreads, NamesGroupByFamily) {
  EXPECT_EQ(kernel_thread_group("kworker/3:1H"), "kworker");
  EXPECT_EQ(kernel_thread_group("kworker/u8:2-events_unbound"), "kworker");
  EXPECT_EQ(kernel_thread_group("kworker/R-rcu_gp"), "kworker/R-rcu_gp");
  EXPECT_EQ(kernel_thread_group("ksoftirqd/0"), "ksoftirqd");
  EXPECT_EQ(kernel_thread_group("kswapd0"), "kswapd");
  EXPECT_EQ(kernel_thread_group("kdamond.0"), "kdamond");
  EXPECT_EQ(kernel_thread_group("irq/24-eth0"), "irq");
  EXPECT_EQ(kernel_thread_group("rcu_gp"), "rcu_gp");
}

TEST(KernelThreads, CatalogExplainsTheLabsThreadsExactNamesBeforePrefixes) {
  Catalog catalog;
  catalog.load_file(default_catalog_path());
  for (const char* name : {"kworker", "kworker/R-*", "rcu_gp", "rcu_par_gp", "mm_percpu_wq", "netns", "ksoftirqd",
                           "kthreadd", "migration"}) {
    EXPECT_NE(catalog.explain_kernel_thread(name), nullptr) << name;
  }
  ASSERT_NE(catalog.explain_kernel_thread("rcu_gp"), nullptr);
  EXPECT_NE(catalog.explain_kernel_thread("rcu_gp")->what.find("grace-period workqueue"), std::string::npos)
      << "rcu_gp's own entry, not the rcu_* family's";
  EXPECT_NE(catalog.explain_kernel_thread("rcu_preempt"), nullptr) << "the rcu_* family";
  EXPECT_EQ(catalog.explain_kernel_thread("no_such_thread"), nullptr);
}

TEST(KernelThreads, AScanTablesEveryKernelThreadAndAUserCatalogWins) {
  char path[] = "/tmp/sonda-kthreads-XXXXXX.yaml";
  const int fd = ::mkstemps(path, 5);
  ASSERT_GE(fd, 0);
  ::close(fd);
  std::ofstream(path) << "kernel_threads:\n  - { name: kthreadd, what: \"the lab's own words\" }\n";
  const json record = run_scan(ScanOptions::bind({{"protocol", "tcp"}, {"listening", true},
                                                       {"catalog", json::array({path})}}));
  std::remove(path);
  ASSERT_TRUE(record.contains("kernel_threads")) << record.dump().substr(0, 500);
  const json& k = record["kernel_threads"];
  // Named after the walk: a thread may end in between, none appears.
  EXPECT_LE(k["count"].get<int>(), record["counts"]["kernel_threads"].get<int>());
  EXPECT_GE(k["count"].get<int>(), record["counts"]["kernel_threads"].get<int>() - 3);
  int sum = 0;
  bool kthreadd = false;
  for (const json& g : k["groups"]) {
    sum += g["count"].get<int>();
    EXPECT_EQ(g["sockets"], "none: kernel threads have no file descriptors");
    if (g["name"] == "kthreadd") {
      kthreadd = true;
      EXPECT_EQ(g["what"], "the lab's own words");
    }
  }
  EXPECT_EQ(sum, k["count"].get<int>());
  EXPECT_TRUE(kthreadd) << k.dump();
  EXPECT_EQ(k["init"]["pid"], 1);
}

}  // namespace
}  // namespace sonda::proc_scanner
