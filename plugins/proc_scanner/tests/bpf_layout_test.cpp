// The BPF layout cache: what it accepts, what it refuses, and that a cache
// which loads but misreads is caught by the self-check and replaced.
#include "bpf_layout.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <nlohmann/json.hpp>

#include "test_support.hpp"

namespace sonda::proc_scanner {
namespace {

class LayoutCache : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = scratch_.path();
    path_ = dir_ + "/cache/bpf-layout";  // the writer makes the directory
  }

  static BpfLayout sample() {
    BpfLayout l;
    l.task_file_func = 64279;
    l.task_func = 64274;
    l.meta_seq = 0;
    l.task_pid = 1264;
    l.task_tgid = 1268;
    l.task_flags = 44;
    l.task_start = 1560;
    l.file_inode = 32;
    l.inode_mode = 0;
    l.inode_ino = 64;
    return l;
  }

  std::string text() const {
    std::ifstream in(path_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  void rewrite(const std::string& content) const {
    std::ofstream(path_, std::ios::trunc) << content;
  }

  testing::TempDir scratch_{"sonda-layout"};
  std::string dir_;
  std::string path_;
};

TEST_F(LayoutCache, RoundTripsForTheSameBootOnly) {
  ASSERT_TRUE(write_layout_cache(path_, "boot-a", sample()));
  struct stat st {};
  ASSERT_EQ(::stat((dir_ + "/cache").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const auto back = read_layout_cache(path_, "boot-a");
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, sample());
  EXPECT_FALSE(read_layout_cache(path_, "boot-b").has_value()) << "another boot, another kernel";
  EXPECT_FALSE(read_layout_cache(path_, "").has_value());
  EXPECT_FALSE(read_layout_cache(dir_ + "/missing", "boot-a").has_value());
  EXPECT_FALSE(write_layout_cache(path_, "", sample())) << "no boot id, no cache";
}

TEST_F(LayoutCache, RefusesMalformedFiles) {
  ASSERT_TRUE(write_layout_cache(path_, "boot-a", sample()));
  const std::string good = text();
  const auto refused = [&](const std::string& content, const char* why) {
    rewrite(content);
    EXPECT_FALSE(read_layout_cache(path_, "boot-a").has_value()) << why << ":\n" << content;
  };
  const auto without = [&](const std::string& line) {
    std::string t = good;
    t.erase(t.find(line), line.size());
    return t;
  };
  refused(without("task_tgid 1268\n"), "a field missing");
  refused(good + "task_pid 1\n", "a field twice");
  refused(good + "unknown_field 1\n", "an unknown field");
  refused("sonda-bpf-layout 2\n" + good.substr(good.find('\n') + 1), "another format version");
  std::string bad_number = good;
  bad_number.replace(bad_number.find("1268"), 4, "12x8");
  refused(bad_number, "not a number");
  refused(good.substr(0, good.size() / 2), "cut short");
  refused("", "empty");
  rewrite(good);
  ASSERT_TRUE(read_layout_cache(path_, "boot-a").has_value());
  ::chmod(path_.c_str(), 0620);
  EXPECT_FALSE(read_layout_cache(path_, "boot-a").has_value()) << "writable by its group";
}

// The live kernel: a scan relocated from the cache finds the same owners as
// one relocated from the BTF; a forged cache (offsets the verifier accepts,
// values that are wrong) is caught, dropped and rewritten.
TEST_F(LayoutCache, ForgedCacheIsCaughtAndReplaced) {
  if (::geteuid() != 0) {
    FAIL() << "cannot run: " << "BPF iterators need root";
  }
  BpfLayout truth;
  std::string reason;
  if (!layout_from_btf(truth, reason)) {
    FAIL() << "cannot run: " << reason;
  }
  const std::string boot_id = current_boot_id();
  ASSERT_FALSE(boot_id.empty());
  // A socket of this test's: every scan must name this process as its owner.
  const int fd = testing::bound_socket(AF_INET, SOCK_DGRAM, "127.0.0.1", 0);
  const uint16_t port = testing::local_port(fd);
  const std::string params = "{\"owner_source\":\"bpf\",\"protocol\":\"udp\",\"port\":" +
                             std::to_string(port) + "}";
  const auto scan = [&] {
    const auto run = testing::run_command("SONDA_BPF_LAYOUT_CACHE='" + path_ + "' " + PROC_SCAN_BIN +
                                          " --sockets-only '" + params + "'");
    EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
    const std::string& out = run.out;
    const auto record = nlohmann::json::parse(out);
    int owner_pid = 0;
    for (const auto& s : record["sockets"]) {
      if (s["local"]["address"] == "127.0.0.1" && s["local"]["port"] == port &&
          s["owners"].size() == 1) {
        owner_pid = s["owners"][0]["pid"].get<int>();
      }
    }
    EXPECT_EQ(owner_pid, static_cast<int>(::getpid())) << out;
    return record;
  };
  const auto first = scan();
  EXPECT_EQ(first["owner_source"], "bpf_iter");
  EXPECT_EQ(first["bpf_layout"], "btf") << "no cache yet";
  ASSERT_EQ(read_layout_cache(path_, boot_id), truth) << "the first scan writes the cache";
  const auto second = scan();
  EXPECT_EQ(second["bpf_layout"], "cache");
  // tgid read from task_struct.flags: loads fine, names the wrong pids.
  BpfLayout forged = truth;
  forged.task_tgid = truth.task_flags;
  ASSERT_TRUE(write_layout_cache(path_, boot_id, forged));
  const auto third = scan();
  EXPECT_EQ(third["owner_source"], "bpf_iter");
  EXPECT_EQ(third["bpf_layout"], "btf") << "the self-check refused the forged layout";
  EXPECT_EQ(read_layout_cache(path_, boot_id), truth) << "and the cache was rewritten";
  ::close(fd);
}

}  // namespace
}  // namespace sonda::proc_scanner
