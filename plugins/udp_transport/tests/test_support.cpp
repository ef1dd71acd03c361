#include "test_support.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <stdexcept>

namespace sonda::udp::test {

CmdResult run_cmd(const std::string& cmd) {
  CmdResult r;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) {
    return r;
  }
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) {
    r.output.append(buf.data(), n);
  }
  const int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

void enter_netns(const std::string& name) {
  const std::string path = "/run/netns/" + name;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) {
    if (fd >= 0) {
      ::close(fd);
    }
    throw std::runtime_error("setns " + path + " failed");
  }
  ::close(fd);
}

ServerThread::ServerThread(nlohmann::json params, std::string netns) {
  thread_ = std::thread([this, params = std::move(params), netns = std::move(netns)] {
    if (!netns.empty()) {
      enter_netns(netns);
    }
    record_ = host_.run(&server_action, params);
    done_ = true;
  });
  std::optional<nlohmann::json> r;
  for (int waited = 0; waited < 5000 && !r && !done_; waited += 20) {
    r = host_.wait_ready(20);
  }
  if (!r) {
    host_.stop();
    thread_.join();
    throw std::runtime_error("server did not become ready: " + record_.dump());
  }
  ready_ = *r;
}

ServerThread::~ServerThread() { stop(); }

nlohmann::json ServerThread::stop() {
  host_.stop();
  if (thread_.joinable()) {
    thread_.join();
  }
  return record_;
}

nlohmann::json run_in_netns(const std::string& netns, ActionFn fn, const nlohmann::json& params) {
  nlohmann::json out;
  std::thread t([&] {
    if (!netns.empty()) {
      enter_netns(netns);
    }
    LocalHost host;
    out = host.run(fn, params);
  });
  t.join();
  return out;
}

VethPair::VethPair(const std::string& tag) {
  const std::string pid = std::to_string(::getpid());
  ns_a = tag + "a" + pid;
  ns_b = tag + "b" + pid;
  dev_a = "v" + tag + "a" + pid;
  dev_b = "v" + tag + "b" + pid;
  const std::string net = "10." + std::to_string(100 + ::getpid() % 100) + "." +
                          std::to_string(::getpid() / 100 % 250) + ".";
  ip_a = net + "1";
  ip_b = net + "2";
  const std::vector<std::string> steps = {
      "ip netns add " + ns_a,
      "ip netns add " + ns_b,
      "ip link add " + dev_a + " netns " + ns_a + " type veth peer name " + dev_b + " netns " + ns_b,
      "ip -n " + ns_a + " addr add " + ip_a + "/24 dev " + dev_a,
      "ip -n " + ns_b + " addr add " + ip_b + "/24 dev " + dev_b,
      "ip -n " + ns_a + " link set " + dev_a + " up",
      "ip -n " + ns_b + " link set " + dev_b + " up",
      "ip -n " + ns_a + " link set lo up",
      "ip -n " + ns_b + " link set lo up",
  };
  for (const std::string& s : steps) {
    const CmdResult r = run_cmd(s);
    if (r.status != 0) {
      error = s + ": " + r.output;
      return;
    }
  }
}

VethPair::~VethPair() {
  // Deleting a namespace destroys its end of the veth, and with it the peer.
  run_cmd("ip netns del " + ns_a);
  run_cmd("ip netns del " + ns_b);
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv) {
  int out[2];
  int in[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(in, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe2 failed");
  }
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(out[1], 1);
    ::dup2(in[0], 0);
    std::vector<char*> args;
    for (const std::string& a : argv) {
      args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(in[0]);
  out_fd_ = out[0];
  in_fd_ = in[1];
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
  }
  ::close(out_fd_);
  ::close(in_fd_);
}

std::string ChildProcess::read_line(int timeout_ms) {
  for (int waited = 0; waited <= timeout_ms; waited += 50) {
    const auto nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return line;
    }
    pollfd p{out_fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) > 0) {
      char chunk[512];
      const ssize_t n = ::read(out_fd_, chunk, sizeof chunk);
      if (n <= 0) {
        break;
      }
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }
  return "";
}

nlohmann::json bits_per_sec(double v) { return {{"bits_per_sec", v}}; }
nlohmann::json packets_per_sec(double v) { return {{"packets_per_sec", v}}; }

}  // namespace sonda::udp::test
