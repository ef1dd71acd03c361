// Containers (a real cgroup named like docker's) and network namespaces (a
// real one made with `ip netns`), both created and removed by the test.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <sstream>

#include "cgroup.hpp"
#include "support/netns.hpp"
#include "proc_table.hpp"
#include <sonda/plugin.hpp>

#include "port_lookup.hpp"
#include "scan.hpp"
#include "test_support.hpp"

namespace sonda::proc_scanner {
namespace {

using nlohmann::json;

std::string cgroup2_mount() {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    // "... mountpoint options - fstype source superopts"
    const auto dash = line.find(" - ");
    if (dash == std::string::npos || line.compare(dash + 3, 8, "cgroup2 ") != 0) {
      continue;
    }
    std::istringstream f(line);
    std::string id, parent, dev, root, mount;
    f >> id >> parent >> dev >> root >> mount;
    return mount;
  }
  return "";
}

std::string random_hex64() {
  std::random_device rd;
  std::string hex;
  for (int i = 0; i < 64; ++i) {
    hex.push_back("0123456789abcdef"[rd() % 16]);
  }
  return hex;
}

TEST(Cgroup, ClassifiesRuntimePaths) {
  const std::string id(64, 'a');
  EXPECT_EQ(classify_cgroup_path("/system.slice/docker-" + id + ".scope").container_runtime, "docker");
  EXPECT_EQ(classify_cgroup_path("/system.slice/docker-" + id + ".scope").container_id, id);
  EXPECT_EQ(classify_cgroup_path("/docker/" + id).container_id, id);
  EXPECT_EQ(classify_cgroup_path("/kubepods.slice/kubepods-pod1.slice/cri-containerd-" + id +
                                 ".scope")
                .container_runtime,
            "containerd");
  EXPECT_EQ(classify_cgroup_path("/machine.slice/libpod-" + id + ".scope").container_runtime,
            "podman");
  const CgroupIdentity nspawn =
      classify_cgroup_path("/machine.slice/machine-deb\\x2dtest.scope/payload");
  EXPECT_EQ(nspawn.container_runtime, "systemd-nspawn");
  EXPECT_EQ(nspawn.container_id, "deb-test");
  const CgroupIdentity ssh = classify_cgroup_path("/system.slice/ssh.service");
  EXPECT_EQ(ssh.container_runtime, "");
  EXPECT_EQ(ssh.unit, "ssh.service");
  EXPECT_EQ(classify_cgroup_path("/user.slice/user-0.slice/session-3.scope").container_runtime, "");
}

TEST(Cgroup, HybridHostsUseTheSystemdHierarchyWhenV2SaysRoot) {
  const CgroupIdentity id = parse_cgroup_file(
      "12:memory:/system.slice/cron.service\n1:name=systemd:/system.slice/cron.service\n0::/\n");
  EXPECT_EQ(id.unit, "cron.service");
}

// A child moved into <cgroup2>/sonda-proc-<pid>.slice/docker-<hex>.scope is
// attributed to container <hex>.
class DockerLikeCgroup : public ::testing::Test {
 protected:
  void TearDown() override {
    if (child_) {
      child_->stop();
    }
    if (!scope_.empty()) {
      ::rmdir(scope_.c_str());
    }
    if (!slice_.empty()) {
      ::rmdir(slice_.c_str());
    }
  }
  std::string slice_;
  std::string scope_;
  std::unique_ptr<testing::ChildProcess> child_;
};

TEST_F(DockerLikeCgroup, ListenerInsideIsAttributedToTheContainerId) {
  const std::string mount = cgroup2_mount();
  if (mount.empty()) {
    FAIL() << "cannot run: " << "no cgroup2 mount in /proc/self/mountinfo";
  }
  const std::string id = random_hex64();
  slice_ = mount + "/sonda-proc-" + std::to_string(::getpid()) + ".slice";
  if (::mkdir(slice_.c_str(), 0755) != 0) {
    const std::string reason = std::strerror(errno);
    slice_.clear();
    FAIL() << "cannot run: " << "cannot create a cgroup under " << mount << ": " << reason;
  }
  scope_ = slice_ + "/docker-" + id + ".scope";
  ASSERT_EQ(::mkdir(scope_.c_str(), 0755), 0) << std::strerror(errno);
  child_ = std::make_unique<testing::ChildProcess>(std::vector<std::string>{
      testing::python3(), "-c",
      "import socket,sys,time\n"
      "s=socket.socket(); s.bind(('127.0.0.1',0)); s.listen()\n"
      "print(s.getsockname()[1], flush=True); time.sleep(60)"});
  const std::string port = child_->read_line();
  ASSERT_FALSE(port.empty()) << "child did not start";
  {
    std::ofstream procs(scope_ + "/cgroup.procs");
    procs << child_->pid() << "\n";
    procs.flush();
    if (!procs) {
      FAIL() << "cannot run: " << "cannot move a process into " << scope_;
    }
  }
  const json record = run_scan(ScanOptions::bind(
      {{"pid", child_->pid()}, {"port", std::stoi(port)}, {"protocol", "tcp"}, {"listening", true}}));
  ASSERT_EQ(record["sockets"].size(), 1u) << record.dump(2);
  // The socket names its owner; the process table says the rest, once.
  EXPECT_EQ(record["sockets"][0]["owners"][0], json({{"pid", child_->pid()}, {"process", "python3"}}))
      << record.dump(2);
  ASSERT_EQ(record["processes"].size(), 1u) << record.dump(2);
  const json& owner = record["processes"][0];
  EXPECT_EQ(owner["pid"], child_->pid());
  EXPECT_EQ(owner["container"]["runtime"], "docker");
  EXPECT_EQ(owner["container"]["id"], id);
  EXPECT_EQ(owner["unit"], "docker-" + id + ".scope");
  EXPECT_EQ(record["services"][0]["container"]["id"], id);
}

// A listener inside a test-made namespace, on the same address and port as
// one in ours: the all-namespaces scan finds both, told apart by netns.
class TestNetns : public ::testing::Test {
 protected:
  void SetUp() override {
    // Throws, failing the test, with `ip`'s reason (e.g. not root).
    netns_ = std::make_unique<sonda::testing::Netns>("ps");
    name_ = netns_->name();
  }
  void TearDown() override {
    if (child_) {
      child_->stop();
    }
    netns_.reset();
  }
  std::unique_ptr<sonda::testing::Netns> netns_;
  std::string name_;
  std::unique_ptr<testing::ChildProcess> child_;
};

TEST_F(TestNetns, OwnerSaysAPortFreeHereIsHeldInAnotherNamespaceAndByWhom) {
  const uint16_t port = testing::free_tcp_port();
  child_ = std::make_unique<testing::ChildProcess>(std::vector<std::string>{
      "ip", "netns", "exec", name_, testing::python3(), "-c",
      "import socket,sys,time\n"
      "s=socket.socket(); s.bind(('127.0.0.1'," + std::to_string(port) + ")); s.listen()\n"
      "print('ready', flush=True); time.sleep(60)"});
  ASSERT_EQ(child_->read_line(), "ready");
  const json record = find_port_owner(port, "tcp");
  EXPECT_EQ(record["found"], false);
  EXPECT_NE(record["summary"].get<std::string>().find(" is free in this network namespace, but held in network "
                                                      "namespace " + name_ + " ("),
            std::string::npos)
      << record.dump(2);
  ASSERT_EQ(record["elsewhere"].size(), 1u) << record.dump(2);
  EXPECT_EQ(record["elsewhere"][0]["netns_name"], name_);
  EXPECT_EQ(record["elsewhere"][0]["owners"][0]["pid"], child_->pid());
  // wait_for gives up, and says where the port is.
  WaitSpec spec;
  spec.port = port;
  spec.timeout_ns = 100'000'000;
  try {
    wait_for_port(spec, [] { return false; });
    FAIL() << "wait_for found a listener in another namespace";
  } catch (const sonda::StepError& e) {
    EXPECT_NE(std::string(e.what()).find("(the port is held in network namespace " + name_), std::string::npos)
        << e.what();
  }
}

TEST_F(TestNetns, WaitForWithAllNetnsAcceptsAListenerInAnotherNamespace) {
  const uint16_t port = testing::free_tcp_port();
  // Listens after 0.3 s, so wait_for has to poll the other namespace.
  child_ = std::make_unique<testing::ChildProcess>(std::vector<std::string>{
      "ip", "netns", "exec", name_, testing::python3(), "-c",
      "import socket,sys,time\n"
      "time.sleep(0.3)\n"
      "s=socket.socket(); s.bind(('127.0.0.1'," + std::to_string(port) + ")); s.listen()\n"
      "print('ready', flush=True); time.sleep(60)"});
  WaitSpec spec;
  spec.port = port;
  spec.timeout_ns = 10'000'000'000;
  spec.all_netns = true;
  spec.pid = child_->pid();  // ip netns exec execs python3: the same pid
  const json record = wait_for_port(spec, [] { return false; });
  EXPECT_EQ(record["pid"], child_->pid()) << record.dump(2);
  EXPECT_EQ(record["process"], "python3");
  EXPECT_EQ(record["local"], "127.0.0.1:" + std::to_string(port));
  EXPECT_EQ(record["netns_name"], name_);
  struct stat st {};
  ASSERT_EQ(::stat(("/run/netns/" + name_).c_str(), &st), 0);
  EXPECT_EQ(record["netns"], st.st_ino);
  EXPECT_GT(record["waited_ns"].get<int64_t>(), 200'000'000);
  // Without all_netns the same wait times out: the port is not listening here.
  spec.all_netns = false;
  spec.timeout_ns = 100'000'000;
  EXPECT_THROW(wait_for_port(spec, [] { return false; }), sonda::StepError);
}

TEST_F(TestNetns, AllNetnsScanFindsTheListenerInsideWithItsNamespace) {
  const int here = testing::bound_socket(AF_INET, SOCK_STREAM, "127.0.0.1", 0, 16);
  const uint16_t port = testing::local_port(here);
  child_ = std::make_unique<testing::ChildProcess>(std::vector<std::string>{
      "ip", "netns", "exec", name_, testing::python3(), "-c",
      "import socket,sys,time\n"
      "s=socket.socket(); s.bind(('127.0.0.1'," + std::to_string(port) + ")); s.listen()\n"
      "print('ready', flush=True); time.sleep(60)"});
  ASSERT_EQ(child_->read_line(), "ready");
  struct stat st {};
  ASSERT_EQ(::stat(("/run/netns/" + name_).c_str(), &st), 0);
  const uint64_t inside = st.st_ino;

  const json own_only = run_scan(
      ScanOptions::bind({{"port", port}, {"protocol", "tcp"}, {"listening", true}}));
  EXPECT_EQ(own_only["sockets"].size(), 1u);

  const json all = run_scan(
      ScanOptions::bind(
          {{"port", port}, {"protocol", "tcp"}, {"listening", true}, {"all_netns", true}}));
  ASSERT_EQ(all["sockets"].size(), 2u) << all.dump(2);
  bool found_inside = false;
  for (const json& s : all["sockets"]) {
    EXPECT_EQ(s["local"]["address"], "127.0.0.1");
    if (s["netns"] == inside) {
      found_inside = true;
      ASSERT_EQ(s["owners"].size(), 1u);
      EXPECT_EQ(s["owners"][0]["process"], "python3");
    } else {
      EXPECT_EQ(s["netns"], current_netns());
      EXPECT_EQ(s["owners"][0]["pid"], static_cast<int>(::getpid()));
    }
  }
  EXPECT_TRUE(found_inside);
  bool named = false;
  for (const json& ns : all["namespaces"]) {
    named = named || (ns.value("name", "") == name_ && ns["inode"] == inside);
  }
  EXPECT_TRUE(named) << all["namespaces"].dump();
  EXPECT_EQ(all["services"].size(), 2u);
  ::close(here);
}

}  // namespace
}  // namespace sonda::proc_scanner
