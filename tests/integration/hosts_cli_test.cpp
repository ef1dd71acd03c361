// Scenarios across hosts through the real binary. The hosts are network
// namespaces this test makes (veth pair 10.99.<n>.1 <-> .2) and reaches with
// `ip netns exec`, the same stdio channel ssh or `docker exec -i` would give.
// Traffic stays between the two namespaces; they are removed afterwards.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include "cli_harness.hpp"
#include "support/netns.hpp"
#include "support/process.hpp"

namespace sonda::testing {
namespace {

using nlohmann::json;

/// Two namespaces joined by a veth pair: a (10.99.N.1/24) and b (10.99.N.2/24).
class HostsCli : public ::testing::Test {
 protected:
  void SetUp() override {
    subnet_ = "10.99." + std::to_string(getpid() % 200 + 20);
    link_ = std::make_unique<VethPair>("h");
    link_->configure(subnet_ + ".1/24", subnet_ + ".2/24");
    ns_a_ = link_->ns_a;
    ns_b_ = link_->ns_b;
    veth_a_ = link_->dev_a;
    veth_b_ = link_->dev_b;
  }
  void TearDown() override { link_.reset(); }

  /// The scenario header with hosts a and b.
  std::string hosts_yaml(const std::string& name) const {
    return "name: " + name + "\nhosts:\n  a: { via: [ip, netns, exec, " + ns_a_ +
           "] }\n  b: { via: [ip, netns, exec, " + ns_b_ + "] }\n";
  }
  SondaResult run(const std::string& name, const std::string& yaml) {
    return run_sonda({"run", dir_.write(name + ".yaml", yaml), "-o", out()}, {{"SONDA_TEST_MARK", dir_.path()}});
  }
  std::string out() const { return dir_.path() + "/out"; }

  ScratchDir dir_;
  std::unique_ptr<VethPair> link_;
  std::string ns_a_, ns_b_, veth_a_, veth_b_, subnet_;
};

TEST_F(HostsCli, ServerOnOneHostClientOnAnotherAndPreflightRecordsEachHost) {
  const auto r = run("two", hosts_yaml("two") + "steps:\n"
      "  - { id: srv, on: b, use: tcp_transport.server, with: { listen: \"" + subnet_ + ".2:5201\", mode: sink } }\n"
      "  - { id: load, on: a, use: tcp_transport.stream, with: { target: \"" + subnet_ + ".2:5201\", duration: 500ms } }\n"
      "  - { id: ifs_b, on: b, use: iface_scanner.scan }\n");
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  const json j = latest_run(out(), "two");
  EXPECT_GT(step_of(j, "load")["record"]["bits_per_sec"].get<double>(), 1e6);
  EXPECT_GT(step_of(j, "srv")["record"]["bytes_in"].get<double>(), 0) << step_of(j, "srv")["record"].dump();
  // The scan ran inside b: b's veth is there, the runner's own interfaces are not.
  const json ifs = step_of(j, "ifs_b")["record"]["interfaces"];
  std::string names;
  for (const auto& i : ifs) {
    names += i["name"].get<std::string>() + " ";
  }
  EXPECT_NE(names.find(veth_b_), std::string::npos) << names;
  EXPECT_EQ(names.find(veth_a_), std::string::npos) << names;
  for (const char* h : {"a", "b"}) {
    const json host = j["context"]["hosts"][h];
    EXPECT_EQ(host["agent"]["protocol"], 1) << host.dump();
    EXPECT_TRUE(host["agent"]["sonda"].is_string());
    EXPECT_TRUE(host["context"]["kernel"]["release"].is_string());
    EXPECT_FALSE(host["plugins"].empty());
    EXPECT_EQ(host["clock"]["samples"], 8);
    EXPECT_EQ(host["clock"]["same_kernel_as_runner"], true) << "a namespace shares the runner's kernel";
    // Same machine, same clock: the estimate must hold 0 within its bound.
    EXPECT_LE(std::abs(host["clock"]["offset_ns"].get<int64_t>()), host["clock"]["uncertainty_ns"].get<int64_t>() + 1000);
  }
}

TEST_F(HostsCli, StreamOverATbfShapedLinkReportsTheShapedRate) {
  // 100 Mbit/s on a's egress: TCP payload is 1448 of every 1514 bytes on the wire.
  // The shaper's capacity is only the truth while it stays backlogged, as in
  // the plugin's own shaping test: a bucket of the rate/HZ tc-tbf(8) asks for
  // (64 KB: a late qdisc timer on a busy VM wastes no tokens; at most 0.2 %
  // over 3 s), cubic's standing queue (bbr, the default here, idles the link
  // ~2 % of the time) and a 4 MiB send buffer. With 32 KB and the defaults a
  // CI run measured 89.8 Mbit/s.
  check_command("ip netns exec " + ns_a_ + " tc qdisc add dev " + veth_a_ + " root tbf rate 100mbit burst 64kb latency 50ms");
  const auto r = run("tbf", hosts_yaml("tbf") + "steps:\n"
      "  - { id: srv, on: b, use: tcp_transport.server, with: { listen: \"" + subnet_ + ".2:5201\", mode: sink } }\n"
      "  - { id: load, on: a, use: tcp_transport.stream, with: { target: \"" + subnet_ + ".2:5201\", duration: 3s,"
      " congestion: cubic, sndbuf: 4MiB } }\n");
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  const double bps = step_of(latest_run(out(), "tbf"), "load")["record"]["bits_per_sec"].get<double>();
  const double want = 100e6 * 1448.0 / 1514.0;
  std::printf("shaped stream through hosts: %.2f Mbit/s (expected %.2f)\n", bps / 1e6, want / 1e6);
  EXPECT_NEAR(bps, want, want * 0.03) << "measured " << bps / 1e6 << " Mbit/s";
}

TEST_F(HostsCli, UdpStreamThroughADroppingNftablesRuleLosesExactlyTheRulesCount) {
  // b drops ~2 % of the stream's datagrams at input; the rule's counter is the truth.
  check_command("ip netns exec " + ns_b_ + " nft add table inet sonda_test");
  check_command("ip netns exec " + ns_b_ + " nft 'add chain inet sonda_test in { type filter hook input priority 0; }'");
  check_command("ip netns exec " + ns_b_ + " nft add rule inet sonda_test in udp dport 5301 numgen random mod 100 '<' 2 counter drop");
  const auto r = run("udpdrop", hosts_yaml("udpdrop") + "steps:\n"
      "  - { id: srv, on: b, use: udp_transport.server, with: { listen: \"" + subnet_ + ".2:5301\" } }\n"
      "  - { id: load, on: a, use: udp_transport.stream, with: { target: \"" + subnet_ + ".2:5301\", rate: 20kpps, duration: 1s } }\n");
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  const json rule = json::parse(check_command("ip netns exec " + ns_b_ + " nft -j list chain inet sonda_test in"));
  int64_t dropped = -1;
  for (const auto& item : rule["nftables"]) {
    if (item.contains("rule")) {
      for (const auto& expr : item["rule"]["expr"]) {
        if (expr.contains("counter")) {
          dropped = expr["counter"]["packets"].get<int64_t>();
        }
      }
    }
  }
  const json rec = step_of(latest_run(out(), "udpdrop"), "load")["record"];
  ASSERT_GT(dropped, 100) << rule.dump();
  EXPECT_EQ(rec["receiver"]["lost"].get<int64_t>(), dropped) << rec["receiver"].dump();
  EXPECT_EQ(rec["receiver"]["received"].get<int64_t>() + dropped, rec["sender"]["sent"].get<int64_t>());
}

TEST_F(HostsCli, SigintStopsEveryHostWithin1s) {
  const std::string file = dir_.write("intr.yaml", hosts_yaml("intr") + "steps:\n"
      "  - { id: srv, on: b, use: tcp_transport.server, with: { listen: \"" + subnet_ + ".2:5201\", mode: sink } }\n"
      "  - { id: load, on: a, use: tcp_transport.stream, with: { target: \"" + subnet_ + ".2:5201\", duration: 30s } }\n");
  SondaChild child = start_sonda({"run", file, "-o", out()}, dir_.path(), {{"SONDA_TEST_MARK", dir_.path()}});
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  // The first interval sample: the stream is up and has a partial record to keep.
  while (!any_event_line(out() + "/intr", "\"event\":\"sample\"", "\"id\":\"load\"") && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto sent = std::chrono::steady_clock::now();
  kill(child.pid, SIGINT);
  EXPECT_EQ(wait_sonda(child), 130) << read_text(child.err_path);
  EXPECT_LT(std::chrono::steady_clock::now() - sent, std::chrono::milliseconds(1000));
  const json j = latest_run(out(), "intr");
  const json load = step_of(j, "load");
  EXPECT_EQ(load["status"], "interrupted") << load.dump();
  EXPECT_GT(load["record"].value("bytes", 0.0), 0) << "the partial stream is kept: " << load.dump();
}

TEST_F(HostsCli, UnreachableHostFailsBeforeAnythingRunsWithExit6AndItsStderr) {
  const auto r = run("gone", "name: gone\nhosts:\n  far: { via: [ip, netns, exec, sonda-no-such-ns] }\nsteps:\n"
                             "  - { id: here, use: iface_scanner.scan }\n  - { id: there, on: far, use: iface_scanner.scan }\n");
  EXPECT_EQ(r.exit_code, 6) << r.err;
  EXPECT_NE(r.err.find("host far"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("ip netns exec sonda-no-such-ns"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Cannot open network namespace"), std::string::npos) << r.err;
  const json j = latest_run(out(), "gone");
  EXPECT_EQ(j["status"], "host_unreachable");
  EXPECT_EQ(step_of(j, "here")["status"], "skipped");
}

TEST_F(HostsCli, UnknownHostIsAValidationErrorWithDidYouMean) {
  const auto r = run("typo", hosts_yaml("typo") + "steps:\n  - { id: s, on: bb, use: iface_scanner.scan }\n");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown host 'bb'; did you mean 'b'?"), std::string::npos) << r.err;
}

TEST_F(HostsCli, KillingAHostsAgentFailsItsStepsAndTheRunGoesOnWithNothingLeft) {
  const std::string file = dir_.write("kill.yaml", hosts_yaml("kill") + "steps:\n"
      "  - { id: nap, on: b, spawn: { cmd: [sleep, \"60\"] } }\n"
      "  - { id: srv, on: b, use: tcp_transport.server, with: { listen: \"" + subnet_ + ".2:5201\", mode: sink } }\n"
      "  - { id: load, on: a, use: tcp_transport.stream, with: { target: \"" + subnet_ + ".2:5201\", duration: 3s } }\n"
      "  - { id: later_b, on: b, use: iface_scanner.scan }\n"
      "  - { id: later_a, on: a, use: iface_scanner.scan }\n");
  SondaChild child = start_sonda({"run", file, "-o", out()}, dir_.path(), {{"SONDA_TEST_MARK", dir_.path()}});
  // b's agent pid comes with its hello, in the `host` event.
  pid_t agent_b = 0;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (agent_b == 0 && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::error_code ec;  // the run directory appears once sonda has started
    for (const auto& entry : std::filesystem::directory_iterator(out() + "/kill", ec)) {
      std::istringstream lines(read_text(entry.path().string() + "/events.jsonl"));
      bool streaming = false;
      pid_t pid = 0;
      for (std::string line; std::getline(lines, line);) {
        const json e = json::parse(line, nullptr, false);
        if (e.is_object() && e.value("event", "") == "host" && e.value("host", "") == "b") {
          pid = e["agent"]["pid"].get<pid_t>();
        }
        streaming = streaming || (e.is_object() && e.value("event", "") == "step_start" && e.value("id", "") == "load");
      }
      if (streaming && pid > 0) {
        agent_b = pid;
      }
    }
  }
  ASSERT_GT(agent_b, 0) << read_text(child.err_path);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // mid-stream
  ASSERT_EQ(kill(agent_b, SIGKILL), 0);
  EXPECT_EQ(wait_sonda(child), 4) << read_text(child.err_path);
  const json j = latest_run(out(), "kill");
  EXPECT_EQ(step_of(j, "srv")["status"], "failed");
  EXPECT_NE(step_of(j, "srv")["reason"].get<std::string>().find("host b lost: its agent"), std::string::npos)
      << step_of(j, "srv")["reason"];
  EXPECT_NE(step_of(j, "srv")["reason"].get<std::string>().find("killed by SIGKILL"), std::string::npos);
  EXPECT_EQ(step_of(j, "later_b")["status"], "failed");
  // A program b's agent started goes with it (it dies with its parent).
  EXPECT_EQ(step_of(j, "nap")["status"], "failed");
  EXPECT_NE(step_of(j, "nap")["reason"].get<std::string>().find("host b lost"), std::string::npos)
      << step_of(j, "nap")["reason"];
  EXPECT_EQ(step_of(j, "later_a")["status"], "ok") << step_of(j, "later_a").dump();
  // Nothing of this run is left (sonda and every agent carry the mark).
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const std::string mark = "SONDA_TEST_MARK=" + dir_.path();
  for (const auto& p : std::filesystem::directory_iterator("/proc")) {
    const std::string env = read_text(p.path().string() + "/environ");
    EXPECT_EQ(env.find(mark), std::string::npos) << "left behind: " << p.path();
  }
}

TEST_F(HostsCli, HostReferencesNameOnlyKnownHostsWithDidYouMean) {
  const auto r = run("ref", hosts_yaml("ref") + "steps:\n"
      "  - { id: s, on: a, use: tcp_transport.stream, with: { target: \"${hosts.bb.ipv4}:5201\" } }\n"
      "  - { id: hosts, use: iface_scanner.scan }\n");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("'${hosts.bb.ipv4}': unknown host 'bb'; did you mean 'b'?"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("id 'hosts' is reserved"), std::string::npos) << r.err;
}

/// Three namespaces on a bridge (in a fourth): a .1, b .2, c .3. Host a's
/// agents run with their UDP wire clock shifted by +7 s
/// (SONDA_UDP_TEST_CLOCK_SKEW_NS), standing in for a machine with its own
/// kernel: one-way delay from a must be corrected, from c it is one clock.
class ThreeHostsCli : public ::testing::Test {
 protected:
  void SetUp() override {
    tag_ = std::to_string(getpid() % 100000);
    subnet_ = "10.98." + std::to_string(getpid() % 200 + 20);
    TearDown();
    check_command("ip netns add " + ns("br"));
    check_command("ip -n " + ns("br") + " link add br0 type bridge");
    check_command("ip -n " + ns("br") + " link set br0 up");
    int n = 1;
    for (const char* h : {"a", "b", "c"}) {
      const std::string inner = std::string("s3") + h + tag_;
      const std::string outer = std::string("s3") + h + "p" + tag_;
      check_command("ip netns add " + ns(h));
      check_command("ip link add " + inner + " type veth peer name " + outer);
      check_command("ip link set " + inner + " netns " + ns(h));
      check_command("ip link set " + outer + " netns " + ns("br"));
      check_command("ip -n " + ns("br") + " link set " + outer + " master br0 up");
      check_command("ip -n " + ns(h) + " addr add " + subnet_ + "." + std::to_string(n++) + "/24 dev " + inner);
      check_command("ip -n " + ns(h) + " link set " + inner + " up");
      check_command("ip -n " + ns(h) + " link set lo up");
    }
  }
  void TearDown() override {
    for (const char* h : {"a", "b", "c", "br"}) {
      run_command("ip netns del " + ns(h));
    }
  }
  std::string ns(const std::string& h) const { return "sonda-3" + h + "-" + tag_; }
  std::string out() const { return dir_.path() + "/out"; }

  ScratchDir dir_;
  std::string tag_, subnet_;
};

TEST_F(ThreeHostsCli, SpawnOnAHostReferencesToHostAddressesAndOneWayDelayOnWhichClock) {
  // c: an echo server someone else wrote (a spawn step, run by c's agent)
  // and a UDP sender on c's clock; b: sonda's UDP server; a: clients.
  const std::string echo =
      "import socket,sys\n"
      "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
      "s.bind(('0.0.0.0', 7100)); s.listen()\n"
      "print('echo listening', flush=True); print('echo stderr', file=sys.stderr, flush=True)\n"
      "while True:\n"
      "  c,_=s.accept()\n"
      "  while True:\n"
      "    d=c.recv(65536)\n"
      "    if not d: break\n"
      "    c.sendall(d)\n";
  const std::string yaml = "name: three\nhosts:\n"
      "  a: { via: [env, SONDA_UDP_TEST_CLOCK_SKEW_NS=7000000000, ip, netns, exec, " + ns("a") + "] }\n"
      "  b: { via: [ip, netns, exec, " + ns("b") + "] }\n"
      "  c: { via: [ip, netns, exec, " + ns("c") + "] }\n"
      "steps:\n"
      "  - id: echo\n    on: c\n    spawn:\n      cmd: [python3, -c, " + json(echo).dump() + "]\n"
      "      ready: { tcp_listen: 7100 }\n"
      "  - { id: rr, on: a, use: tcp_transport.rr, with: { target: \"${hosts.c.ipv4}:7100\", duration: 300ms } }\n"
      "  - { id: who, on: c, use: proc_scanner.scan, with: { protocol: tcp, listening: true, port: 7100 } }\n"
      "  - { id: usrv, on: b, use: udp_transport.server, background: true, with: { listen: \"0.0.0.0:5301\" } }\n"
      "  - { id: skewed, on: a, use: udp_transport.stream,\n"
      "      with: { target: \"${hosts.b.ipv4}:5301\", duration: 500ms, rate: 10kpps } }\n"
      "  - { id: skewed_rev, on: a, use: udp_transport.stream,\n"
      "      with: { target: \"${hosts.b.ipv4}:5301\", duration: 500ms, rate: 10kpps, reverse: true } }\n"
      "  - { id: shared, on: c, use: udp_transport.stream,\n"
      "      with: { target: \"${hosts.b.interfaces.s3b" + tag_ + ".ipv4[0]}:5301\", duration: 500ms, rate: 10kpps } }\n";
  const auto r = run_sonda({"run", dir_.write("three.yaml", yaml), "-o", out()}, {{"SONDA_TEST_MARK", dir_.path()}});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  const json j = latest_run(out(), "three");
  // The spawn ran on c: its output came back, its pid is the one c's socket
  // table shows on the port, and a's client reached it at c's address.
  const json echo_rec = step_of(j, "echo")["record"];
  EXPECT_EQ(echo_rec["host"], "c");
  EXPECT_EQ(read_text(echo_rec["stdout"].get<std::string>()), "echo listening\n");
  EXPECT_EQ(read_text(echo_rec["stderr"].get<std::string>()), "echo stderr\n");
  EXPECT_EQ(echo_rec["exit_signal"], SIGTERM) << echo_rec.dump();
  EXPECT_EQ(step_of(j, "echo")["status"], "ok");
  EXPECT_EQ(step_of(j, "echo")["reason"], "") << "an ok step has nothing to explain";
  EXPECT_GT(step_of(j, "rr")["record"]["transactions"].get<double>(), 0) << step_of(j, "rr").dump();
  EXPECT_EQ(step_of(j, "rr")["params"]["target"], subnet_ + ".3:7100");
  const json sockets = step_of(j, "who")["record"]["sockets"];
  ASSERT_FALSE(sockets.empty()) << step_of(j, "who").dump();
  EXPECT_EQ(sockets[0]["owners"][0]["pid"], echo_rec["pid"]) << sockets.dump();
  // One-way delay: from a, corrected; the measured offset holds the true
  // -7 s within its own stated uncertainty (NTP's bound: half the round trip).
  for (const char* id : {"skewed", "skewed_rev"}) {
    const json recv = step_of(j, id)["record"]["receiver"];
    const json clock = recv["one_way_delay_clock"];
    ASSERT_EQ(clock["basis"], "corrected") << id << ": " << recv.dump();
    // offset: b's clock minus a's, whichever way the datagrams went.
    EXPECT_LE(std::abs(clock["offset_ns"].get<int64_t>() + 7'000'000'000LL), clock["uncertainty_ns"].get<int64_t>())
        << id << ": " << clock.dump();
    EXPECT_GT(recv["one_way_delay"]["count"].get<uint64_t>(), 0u) << id;
    EXPECT_LT(recv["one_way_delay"]["p50_ns"].get<double>(), 10e6) << id << ": corrected delays are not seconds off";
  }
  const json shared = step_of(j, "shared")["record"]["receiver"];
  EXPECT_EQ(shared["one_way_delay_clock"]["basis"], "one clock") << shared.dump();
  EXPECT_EQ(shared["one_way_delay"]["anomalies"], 0);
  EXPECT_NE(step_of(j, "skewed")["record"]["summary"].get<std::string>().find("clocks corrected, +/-"), std::string::npos);
  // Nothing of the run is left on any host, the spawned server included.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const std::string mark = "SONDA_TEST_MARK=" + dir_.path();
  for (const auto& p : std::filesystem::directory_iterator("/proc")) {
    EXPECT_EQ(read_text(p.path().string() + "/environ").find(mark), std::string::npos) << "left behind: " << p.path();
  }
}


/// A real OpenSSH server (Debian's openssh-server) in namespace b on port
/// 2222 with a host key and an authorised client key made by the test; the
/// runner reaches it with Debian's ssh client from namespace a.
class SshHostCli : public HostsCli {
 protected:
  void SetUp() override {
    HostsCli::SetUp();
    ASSERT_EQ(access("/usr/sbin/sshd", X_OK), 0) << "/usr/sbin/sshd missing: install openssh-server (tools/setup.sh does)";
    const std::string d = dir_.path();
    check_command("ssh-keygen -q -t ed25519 -N '' -f " + d + "/host_key");
    check_command("ssh-keygen -q -t ed25519 -N '' -f " + d + "/client_key");
    check_command("ssh-keygen -q -t ed25519 -N '' -f " + d + "/wrong_key");
    check_command("cp " + d + "/client_key.pub " + d + "/authorized_keys && chmod 600 " + d + "/authorized_keys");
    check_command("mkdir -p /run/sshd");
    dir_.write("sshd_config", "Port 2222\nListenAddress " + subnet_ + ".2\nHostKey " + d +
                                  "/host_key\nAuthorizedKeysFile " + d + "/authorized_keys\nPidFile " + d +
                                  "/sshd.pid\nStrictModes no\nUsePAM no\nPermitRootLogin prohibit-password\n"
                                  "PasswordAuthentication no\nKbdInteractiveAuthentication no\n");
    check_command("ip netns exec " + ns_b_ + " /usr/sbin/sshd -f " + d + "/sshd_config -E " + d + "/sshd.log");
  }
  void TearDown() override {
    const std::string pid = read_text(dir_.path() + "/sshd.pid");
    if (!pid.empty()) {
      kill(std::stoi(pid), SIGTERM);
    }
    HostsCli::TearDown();
  }
  /// hosts: b reached by ssh from inside a, with `key`.
  std::string ssh_yaml(const std::string& name, const std::string& key) const {
    return "name: " + name + "\nhosts:\n  a: { via: [ip, netns, exec, " + ns_a_ + "] }\n  b: { via: [ip, netns, exec, " +
           ns_a_ + ", ssh, -i, " + dir_.path() + "/" + key +
           ", -p, \"2222\", -o, BatchMode=yes, -o, StrictHostKeyChecking=no, -o, UserKnownHostsFile=/dev/null, "
           "-o, LogLevel=ERROR, root@" + subnet_ + ".2] }\n";
  }
};

TEST_F(SshHostCli, ServerOverSshClientInANamespaceAndTheAgentEndsWithTheSession) {
  const auto r = run("ssh", ssh_yaml("ssh", "client_key") + "steps:\n"
      "  - { id: srv, on: b, use: tcp_transport.server, with: { listen: \"" + subnet_ + ".2:5201\", mode: sink } }\n"
      "  - { id: load, on: a, use: tcp_transport.stream, with: { target: \"" + subnet_ + ".2:5201\", duration: 500ms } }\n");
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out << read_text(dir_.path() + "/sshd.log");
  const json j = latest_run(out(), "ssh");
  EXPECT_GT(step_of(j, "load")["record"]["bits_per_sec"].get<double>(), 1e6);
  EXPECT_GT(step_of(j, "srv")["record"]["bytes_in"].get<double>(), 0);
  // The agent over ssh ran under sshd; it is gone once the session closed.
  const pid_t remote = j["context"]["hosts"]["b"]["agent"]["pid"].get<pid_t>();
  EXPECT_GT(remote, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_NE(kill(remote, 0), 0) << "the agent behind ssh outlived its session";
}

TEST_F(SshHostCli, WrongKeyFailsPreflightWithSshsOwnWords) {
  const auto r = run("sshbad", ssh_yaml("sshbad", "wrong_key") + "steps:\n  - { id: s, on: b, use: iface_scanner.scan }\n");
  EXPECT_EQ(r.exit_code, 6) << r.err;
  EXPECT_NE(r.err.find("host b is unreachable"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Permission denied (publickey)"), std::string::npos) << r.err;
}

/// A real Docker engine (Debian's docker.io): started by the suite when none
/// answers (and stopped again), sonda's own image built offline by
/// tools/make_image.sh and imported, one bridged container made from it per
/// test and removed afterwards.
class DockerHostCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (std::system("docker version >/dev/null 2>&1") != 0) {
      started_dockerd_ = true;
      std::system("(dockerd --data-root /var/lib/sonda-test-docker --pidfile /run/sonda-test-dockerd.pid "
                  ">/tmp/sonda-test-dockerd.log 2>&1 &)");
      for (int i = 0; i < 300 && std::system("docker version >/dev/null 2>&1") != 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
    image_ = "sonda:test-" + std::to_string(getpid());
    image_built_ = std::system(("docker version >/dev/null 2>&1 && " SONDA_SOURCE_DIR "/tools/make_image.sh --build " SONDA_BUILD_DIR
                                " --tag " + image_ + " >/tmp/sonda-test-image.log 2>&1").c_str()) == 0;
  }
  static void TearDownTestSuite() {
    std::system(("docker rmi -f " + image_ + " >/dev/null 2>&1").c_str());
    if (started_dockerd_) {
      // Gone before the next suite (or a second test run) looks for an engine.
      std::system("pid=$(cat /run/sonda-test-dockerd.pid 2>/dev/null) && kill $pid && "
                  "for i in $(seq 100); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done");
    }
  }
  void SetUp() override {
    ASSERT_EQ(std::system("docker version >/dev/null 2>&1"), 0)
        << "no Docker engine: dockerd did not start; its log:\n" << read_text("/tmp/sonda-test-dockerd.log");
    ASSERT_TRUE(image_built_) << "tools/make_image.sh failed:\n" << read_text("/tmp/sonda-test-image.log");
    container_ = "sonda-test-" + std::to_string(getpid());
    std::system(("docker rm -f " + container_ + " >/dev/null 2>&1").c_str());
    check_command("docker run -d --name " + container_ + " " + image_);
    ip_ = run_command("docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' " + container_).out;
    while (!ip_.empty() && (ip_.back() == '\n' || ip_.back() == ' ')) {
      ip_.pop_back();
    }
    ASSERT_FALSE(ip_.empty());
  }
  void TearDown() override { std::system(("docker rm -f " + container_ + " >/dev/null 2>&1").c_str()); }
  SondaResult run(const std::string& name, const std::string& yaml) {
    return run_sonda({"run", dir_.write(name + ".yaml", yaml), "-o", out()});
  }
  std::string out() const { return dir_.path() + "/out"; }

  static inline bool started_dockerd_ = false;
  static inline bool image_built_ = false;
  static inline std::string image_;
  ScratchDir dir_;
  std::string container_, ip_;
};

TEST_F(DockerHostCli, DockerExecAndContainerHostsBothWork) {
  const auto r = run("docker", "name: docker\nhosts:\n"
      "  c: { via: [docker, exec, -i, " + container_ + "], sonda: /usr/local/bin/sonda }\n"
      "  w: { container: " + container_ + " }\nsteps:\n"
      "  - { id: srv, on: c, use: tcp_transport.server, with: { listen: \"0.0.0.0:5201\", mode: sink } }\n"
      "  - { id: load, use: tcp_transport.stream, with: { target: \"" + ip_ + ":5201\", duration: 500ms } }\n"
      "  - { id: ifs, on: w, use: iface_scanner.scan }\n");
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  const json j = latest_run(out(), "docker");
  EXPECT_GT(step_of(j, "srv")["record"]["bytes_in"].get<double>(), 0);
  EXPECT_EQ(j["context"]["hosts"]["c"]["agent"]["sonda"], j["sonda"]["version"]);
  // `container:` entered the container's namespace: its address is there.
  EXPECT_NE(step_of(j, "ifs")["record"].dump().find("\"" + ip_ + "\""), std::string::npos);
  EXPECT_EQ(j["context"]["hosts"]["w"]["via"][0], "nsenter");
}

TEST_F(DockerHostCli, AContainerThatDoesNotRunIsUnreachable) {
  const auto r = run("nocont", "name: nocont\nhosts:\n  w: { container: sonda-no-such-container }\nsteps:\n"
                               "  - { id: s, on: w, use: iface_scanner.scan }\n");
  EXPECT_EQ(r.exit_code, 6) << r.err;
  EXPECT_NE(r.err.find("container 'sonda-no-such-container' is not running"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace sonda::testing
