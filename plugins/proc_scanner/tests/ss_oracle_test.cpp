// The socket table and its owners against `ss -tuanpH` as the oracle, on a
// few thousand sockets this test makes itself (on its own loopback address,
// so other processes on the host cannot disturb the comparison).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <regex>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>

#include "scan.hpp"
#include "test_support.hpp"

namespace sonda::proc_scanner {
namespace {

using testing::bound_socket;
using testing::connected_socket;
using testing::local_port;

/// (protocol, local, remote, state, owner pid); pid 0 = no owner.
using Row = std::tuple<std::string, std::string, std::string, std::string, int>;

class SocketZoo {
 public:
  SocketZoo() {
    // Each zoo gets its own 127.X.Y.0/24 (from the pid and an instance
    // counter): TIME_WAIT sockets of an earlier zoo outlive it by 60 s.
    static int instances = 0;
    const int p = static_cast<int>(::getpid());
    const int third = (p / 200 + 37 * instances++) % 250;
    prefix_ = "127." + std::to_string(10 + p % 200) + "." + std::to_string(third) + ".";
    server_ = prefix_ + "1";
    client_ = prefix_ + "2";
  }
  ~SocketZoo() { testing::close_all(fds_); }

  void build() {
    std::vector<uint16_t> listeners4;
    for (int i = 0; i < 40; ++i) {
      listeners4.push_back(keep_port(bound_socket(AF_INET, SOCK_STREAM, server_, 0, 1024)));
    }
    // Established pairs: client end plus the accepted end.
    for (int i = 0; i < 900; ++i) {
      fds_.push_back(connected_socket(AF_INET, SOCK_STREAM, client_, server_, listeners4[i % 40]));
      accept_one(listen_fds_[i % 40]);
    }
    std::vector<uint16_t> listeners6;
    for (int i = 0; i < 20; ++i) {
      const int fd = bound_socket(AF_INET6, SOCK_STREAM, "::1", 0, 1024);
      listeners6.push_back(keep_port(fd));
      v6_tcp_ports_.insert(listeners6.back());
    }
    for (int i = 0; i < 200; ++i) {
      const int fd = connected_socket(AF_INET6, SOCK_STREAM, "::1", "::1", listeners6[i % 20]);
      v6_tcp_ports_.insert(local_port(fd));
      fds_.push_back(fd);
      accept_one(listen_fds_[40 + i % 20]);
    }
    std::vector<uint16_t> udp_ports;
    for (int i = 0; i < 300; ++i) {
      const int fd = bound_socket(AF_INET, SOCK_DGRAM, server_, 0);
      udp_ports.push_back(local_port(fd));
      fds_.push_back(fd);
    }
    for (int i = 0; i < 100; ++i) {
      fds_.push_back(connected_socket(AF_INET, SOCK_DGRAM, client_, server_, udp_ports[i]));
    }
    for (int i = 0; i < 50; ++i) {
      const int fd = bound_socket(AF_INET6, SOCK_DGRAM, "::1", 0);
      v6_udp_ports_.insert(local_port(fd));
      fds_.push_back(fd);
    }
    // TIME_WAIT: the client closes first, then the server; the client end
    // then sits in TIME_WAIT with no fd and no owner.
    for (int i = 0; i < 100; ++i) {
      const int c = connected_socket(AF_INET, SOCK_STREAM, client_, server_, listeners4[i % 40]);
      const int s = ::accept(listen_fds_[i % 40], nullptr, nullptr);
      ::close(c);
      ::close(s);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }

  // IPv4 sockets are ours by their private 127.X.Y.0/24. On ::1 only port
  // numbers tell, and other processes (parallel tests, TIME_WAIT left by
  // earlier ones) reuse them: a ::1 socket is ours when its protocol, its
  // local port and its peer (none, or one of our ports) all match.
  bool ours(const std::string& proto, const std::string& local, const std::string& remote) const {
    if (local.rfind(prefix_, 0) == 0) {
      return true;
    }
    const auto& ports = proto == "tcp" ? v6_tcp_ports_ : v6_udp_ports_;
    const auto port_of = [](const std::string& endpoint) {
      return static_cast<uint16_t>(std::stoi(endpoint.substr(endpoint.rfind(':') + 1)));
    };
    if (local.rfind("[::1]:", 0) != 0 || ports.count(port_of(local)) == 0) {
      return false;
    }
    return remote == "[::]:0" || (remote.rfind("[::1]:", 0) == 0 && ports.count(port_of(remote)));
  }
  // The local-address check alone, for filters that only see one side.
  bool ours(const std::string& local) const {
    if (local.rfind(prefix_, 0) == 0) {
      return true;
    }
    return local.rfind("[::1]:", 0) == 0 && (v6_tcp_ports_.count(static_cast<uint16_t>(
                                                 std::stoi(local.substr(6)))) > 0);
  }
  size_t size() const { return fds_.size(); }

 private:
  uint16_t keep_port(int fd) {
    fds_.push_back(fd);
    listen_fds_.push_back(fd);
    return local_port(fd);
  }
  void accept_one(int listen_fd) {
    const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    ASSERT_GE(fd, 0) << "accept4: " << std::strerror(errno);
    fds_.push_back(fd);
  }

  std::string prefix_;
  std::string server_;
  std::string client_;
  std::vector<int> fds_;
  std::vector<int> listen_fds_;
  std::set<uint16_t> v6_tcp_ports_;
  std::set<uint16_t> v6_udp_ports_;
};

// ss prints "*" for an unspecified port and "addr%dev" for bound devices.
std::string normalise_ss_endpoint(std::string e) {
  if (const auto pct = e.find('%'); pct != std::string::npos) {
    e.erase(pct, e.find(':', pct) - pct);
  }
  if (e.size() >= 2 && e.compare(e.size() - 2, 2, ":*") == 0) {
    e.replace(e.size() - 1, 1, "0");
  }
  if (e == "*:0") {
    e = "0.0.0.0:0";
  }
  return e;
}

std::string normalise_ss_state(const std::string& proto, std::string state) {
  if (state == "ESTAB") {
    return "ESTABLISHED";
  }
  if (state == "UNCONN") {
    return proto == "udp" ? "UNCONN" : "CLOSE";
  }
  for (char& c : state) {
    c = c == '-' ? '_' : c;
  }
  return state == "FIN_WAIT_1" ? "FIN_WAIT1" : state == "FIN_WAIT_2" ? "FIN_WAIT2" : state;
}

std::set<Row> rows_from_ss(const SocketZoo& zoo) {
  const auto ss = testing::run_command("ss -tuanpH 2>/dev/null");
  EXPECT_EQ(ss.exit_code, 0) << "ss -tuanpH failed";
  const std::string& out = ss.out;
  std::set<Row> rows;
  std::istringstream lines(out);
  std::string line;
  const std::regex pid_re("pid=([0-9]+)");
  while (std::getline(lines, line)) {
    std::istringstream f(line);
    std::string proto, state, rq, sq, local, remote;
    f >> proto >> state >> rq >> sq >> local >> remote;
    local = normalise_ss_endpoint(local);
    remote = normalise_ss_endpoint(remote);
    if (!zoo.ours(proto, local, remote)) {
      continue;
    }
    state = normalise_ss_state(proto, state);
    std::string users;
    std::getline(f, users);
    bool any = false;
    for (std::sregex_iterator it(users.begin(), users.end(), pid_re), end; it != end; ++it) {
      rows.emplace(proto, local, remote, state, std::stoi((*it)[1]));
      any = true;
    }
    if (!any) {
      rows.emplace(proto, local, remote, state, 0);
    }
  }
  return rows;
}

std::set<Row> rows_from_scan(const SocketZoo& zoo, const ScanResult& result) {
  std::set<Row> rows;
  for (const SocketEntry& s : result.sockets) {
    const std::string local = format_endpoint(s.family, s.local_addr, s.local_port);
    const std::string proto = s.protocol == IPPROTO_TCP ? "tcp" : "udp";
    const std::string remote = format_endpoint(s.family, s.remote_addr, s.remote_port);
    if (!zoo.ours(proto, local, remote)) {
      continue;
    }
    const std::string state = state_name(s.protocol, s.state);
    const auto [first, last] = result.owners.owners_of(s.inode);
    if (s.inode == 0 || first == last) {
      rows.emplace(proto, local, remote, state, 0);
    }
    for (size_t i = first; s.inode != 0 && i < last; ++i) {
      rows.emplace(proto, local, remote, state,
                   result.owners.processes[result.owners.inode_owners[i].second].pid);
    }
  }
  return rows;
}

std::string describe_difference(const std::set<Row>& a, const std::set<Row>& b) {
  std::ostringstream out;
  int shown = 0;
  for (const Row& r : a) {
    if (b.count(r) == 0 && shown++ < 10) {
      out << "  " << std::get<0>(r) << " " << std::get<1>(r) << " " << std::get<2>(r) << " "
          << std::get<3>(r) << " pid " << std::get<4>(r) << "\n";
    }
  }
  return out.str();
}

TEST(SsOracle, SameSocketsStatesAndOwnersAsSs) {
  SocketZoo zoo;
  ASSERT_NO_FATAL_FAILURE(zoo.build());
  const ScanResult result = collect_scan(ScanOptions{});
  const std::set<Row> ss_rows = rows_from_ss(zoo);
  const std::set<Row> our_rows = rows_from_scan(zoo, result);
  EXPECT_EQ(result.source, SocketSource::kSockDiag);
  // 40+900*2+20+200*2+300+100+50 sockets with fds, plus 100 TIME_WAIT.
  EXPECT_GE(our_rows.size(), 2710u);
  EXPECT_EQ(our_rows, ss_rows) << "only in the scan:\n"
                               << describe_difference(our_rows, ss_rows) << "only in ss:\n"
                               << describe_difference(ss_rows, our_rows);
  std::set<std::string> states;
  for (const Row& r : our_rows) {
    states.insert(std::get<3>(r));
  }
  EXPECT_EQ(states, (std::set<std::string>{"ESTABLISHED", "LISTEN", "TIME_WAIT", "UNCONN"}));
}

TEST(SsOracle, ProcfsFallbackListsTheSameSockets) {
  SocketZoo zoo;
  ASSERT_NO_FATAL_FAILURE(zoo.build());
  ScanOptions procfs;
  procfs.force_procfs = true;
  const ScanResult via_netlink = collect_scan(ScanOptions{});
  const ScanResult via_procfs = collect_scan(procfs);
  EXPECT_EQ(via_procfs.source, SocketSource::kProcfs);
  const std::set<Row> procfs_rows = rows_from_scan(zoo, via_procfs);
  const std::set<Row> netlink_rows = rows_from_scan(zoo, via_netlink);
  EXPECT_EQ(procfs_rows, netlink_rows) << "only from /proc/net:\n"
                                       << describe_difference(procfs_rows, netlink_rows)
                                       << "only from sock_diag:\n"
                                       << describe_difference(netlink_rows, procfs_rows);
}

TEST(SsOracle, FiltersKeepOnlyWhatTheyName) {
  SocketZoo zoo;
  ASSERT_NO_FATAL_FAILURE(zoo.build());
  ScanOptions listening;
  listening.listening_only = true;
  listening.tcp = true;
  listening.udp = false;
  listening.pid = static_cast<int>(::getpid());
  const ScanResult result = collect_scan(listening);
  size_t ours = 0;
  for (const SocketEntry& s : result.sockets) {
    EXPECT_EQ(s.protocol, IPPROTO_TCP);
    EXPECT_STREQ(state_name(s.protocol, s.state), "LISTEN");
    ours += zoo.ours(format_endpoint(s.family, s.local_addr, s.local_port)) ? 1 : 0;
  }
  EXPECT_EQ(ours, 60u);  // 40 IPv4 + 20 IPv6 listeners

  ScanOptions time_wait = ScanOptions::bind({{"state", {"time-wait"}}, {"protocol", "tcp"}});
  const ScanResult tw = collect_scan(time_wait);
  size_t our_tw = 0;
  for (const SocketEntry& s : tw.sockets) {
    EXPECT_STREQ(state_name(s.protocol, s.state), "TIME_WAIT");
    // IPv4 only: ::1 ports of earlier zoos' TIME_WAIT sockets can repeat.
    our_tw += s.family == AF_INET && zoo.ours(format_endpoint(s.family, s.local_addr,
                                                              s.local_port))
                  ? 1
                  : 0;
  }
  EXPECT_EQ(our_tw, 100u);
}

}  // namespace
}  // namespace sonda::proc_scanner
