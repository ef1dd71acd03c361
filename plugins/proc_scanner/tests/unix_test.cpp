// UNIX domain sockets against `ss -xanpH` as the oracle: path, abstract
// and unbound sockets of every type and state, made by this test.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "scan.hpp"
#include "test_support.hpp"

namespace sonda::proc_scanner {
namespace {

// (type, state, path, inode, peer inode, owner pid)
using Row = std::tuple<std::string, std::string, std::string, uint64_t, uint64_t, int>;

uint64_t inode_of(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 ? st.st_ino : 0;
}

int unix_socket(int type, const std::string& name, bool listen) {
  const int fd = ::socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw std::runtime_error("socket(AF_UNIX)");
  }
  if (!name.empty()) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    socklen_t len = 0;
    if (name[0] == '@') {  // abstract: leading NUL, no terminator
      std::memcpy(addr.sun_path + 1, name.data() + 1, name.size() - 1);
      len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
    } else {
      std::strncpy(addr.sun_path, name.c_str(), sizeof addr.sun_path - 1);
      len = sizeof addr;
    }
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
      throw std::runtime_error("bind(" + name + "): " + std::strerror(errno));
    }
  }
  if (listen && ::listen(fd, 16) != 0) {
    throw std::runtime_error("listen(" + name + ")");
  }
  return fd;
}

class UnixZoo : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = scratch_.path();
    const std::string tag = std::to_string(::getpid());
    const int listener = unix_socket(SOCK_STREAM, dir_ + "/stream.sock", true);
    fds_.push_back(listener);
    fds_.push_back(unix_socket(SOCK_SEQPACKET, dir_ + "/seq.sock", true));
    fds_.push_back(unix_socket(SOCK_DGRAM, "@sonda-test-dgram-" + tag, false));
    fds_.push_back(unix_socket(SOCK_DGRAM, "", false));  // unbound
    // A connected pair through the path listener, and a socketpair.
    const int client = unix_socket(SOCK_STREAM, "", false);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, (dir_ + "/stream.sock").c_str(), sizeof addr.sun_path - 1);
    ASSERT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    fds_.push_back(client);
    const int accepted = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    ASSERT_GE(accepted, 0);
    fds_.push_back(accepted);
    int pair[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
    fds_.push_back(pair[0]);
    fds_.push_back(pair[1]);
    for (const int fd : fds_) {
      inodes_.insert(inode_of(fd));
    }
  }
  void TearDown() override {
    testing::close_all(fds_);
  }

  std::set<Row> rows_from_ss() const {
    static const std::map<std::string, std::string> kTypes = {
        {"u_str", "stream"}, {"u_dgr", "dgram"}, {"u_seq", "seqpacket"}};
    static const std::map<std::string, std::string> kStates = {
        {"ESTAB", "ESTABLISHED"}, {"LISTEN", "LISTEN"}, {"UNCONN", "UNCONN"}};
    std::set<Row> rows;
    std::istringstream lines(testing::run_command("ss -xanpH").out);
    std::string line;
    const std::regex pid_re("pid=(\\d+)");
    while (std::getline(lines, line)) {
      std::istringstream fields(line);
      std::string type, state, rq, sq, path, inode, peer_name, peer_inode;
      fields >> type >> state >> rq >> sq >> path >> inode >> peer_name >> peer_inode;
      if (inode.empty() || inodes_.count(std::stoull(inode)) == 0) {
        continue;
      }
      std::vector<int> pids;
      for (std::sregex_iterator it(line.begin(), line.end(), pid_re), end; it != end; ++it) {
        pids.push_back(std::stoi((*it)[1]));
      }
      if (pids.empty()) {
        pids.push_back(0);
      }
      for (const int pid : pids) {
        rows.emplace(kTypes.at(type), kStates.at(state), path == "*" ? "" : path,
                     std::stoull(inode), std::stoull(peer_inode), pid);
      }
    }
    return rows;
  }

  std::set<Row> rows_from_scan(const ScanResult& result) const {
    std::set<Row> rows;
    for (const UnixSocketEntry& u : result.unix_sockets) {
      if (inodes_.count(u.inode) == 0) {
        continue;
      }
      const auto [first, last] = result.owners.owners_of(u.inode);
      for (size_t i = first; i < last; ++i) {
        rows.emplace(unix_type_name(u.type), unix_state_name(u.state), u.path, u.inode,
                     u.peer_inode, result.owners.processes[result.owners.inode_owners[i].second].pid);
      }
      if (first == last) {
        rows.emplace(unix_type_name(u.type), unix_state_name(u.state), u.path, u.inode,
                     u.peer_inode, 0);
      }
    }
    return rows;
  }

  testing::TempDir scratch_{"sonda-unix"};
  std::string dir_;
  std::vector<int> fds_;
  std::set<uint64_t> inodes_;
};

TEST_F(UnixZoo, SameSocketsPathsPeersAndOwnersAsSs) {
  ScanOptions options;
  options.unix_sockets = true;
  const ScanResult result = collect_scan(options);
  const std::set<Row> ours = rows_from_scan(result);
  EXPECT_EQ(ours.size(), fds_.size());
  EXPECT_EQ(ours, rows_from_ss());
  // Spot checks the oracle would share a mistake on.
  bool abstract_seen = false;
  for (const Row& r : ours) {
    EXPECT_EQ(std::get<5>(r), ::getpid());
    abstract_seen = abstract_seen || std::get<2>(r).rfind("@sonda-test-dgram-", 0) == 0;
  }
  EXPECT_TRUE(abstract_seen);
}

TEST_F(UnixZoo, FiltersAndRecordShape) {
  ScanOptions listening;
  listening.unix_sockets = true;
  listening.listening_only = true;
  listening.pid = static_cast<int>(::getpid());
  const ScanResult result = collect_scan(listening);
  std::set<std::string> paths;
  for (const UnixSocketEntry& u : result.unix_sockets) {
    EXPECT_STREQ(unix_state_name(u.state), "LISTEN");
    paths.insert(u.path);
  }
  EXPECT_EQ(paths, (std::set<std::string>{dir_ + "/seq.sock", dir_ + "/stream.sock"}));

  // Off by default; the record carries them only when asked, with counts.
  EXPECT_TRUE(collect_scan(ScanOptions{}).unix_sockets.empty());
  const nlohmann::json record = render_scan(result, listening);
  ASSERT_TRUE(record.contains("unix_sockets"));
  EXPECT_EQ(record["counts"]["unix"], 2);
  EXPECT_EQ(record["unix_sockets"][0]["owners"][0]["pid"], static_cast<int>(::getpid()));
  EXPECT_EQ(nlohmann::json::parse(render_scan_text(result, listening)), record)
      << "both renderers print the same record";
}

}  // namespace
}  // namespace sonda::proc_scanner
