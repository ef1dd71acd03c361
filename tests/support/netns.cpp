#include "netns.hpp"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <tuple>

#include "process.hpp"

namespace sonda::testing {

NetnsGuard::NetnsGuard(const std::string& name) {
  previous_fd_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (previous_fd_ < 0) {
    throw std::runtime_error(std::string("open(/proc/thread-self/ns/net): ") + std::strerror(errno));
  }
  const std::string path = "/run/netns/" + name;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  const int open_errno = errno;
  if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) {
    const int err = fd < 0 ? open_errno : errno;
    if (fd >= 0) {
      ::close(fd);
    }
    ::close(previous_fd_);
    throw std::runtime_error(std::string(fd < 0 ? "open(" : "setns(") + path + "): " + std::strerror(err));
  }
  ::close(fd);
}

NetnsGuard::~NetnsGuard() {
  // Going back cannot fail for a namespace we were in, short of a kernel bug.
  (void)::setns(previous_fd_, CLONE_NEWNET);
  ::close(previous_fd_);
}

namespace {

/// "<pid>x<n>": unique per process and call.
std::string unique_id() {
  static std::atomic<int> counter{0};
  return std::to_string(::getpid()) + "x" + std::to_string(counter++);
}

}  // namespace

Netns::Netns(const std::string& tag) : name_("sonda-" + tag + unique_id()) {
  check_command("ip netns add " + name_);
  try {
    check_command("ip -n " + name_ + " link set lo up");
  } catch (...) {
    run_command("ip netns del " + name_);
    throw;
  }
}

Netns::~Netns() { run_command("ip netns del " + name_); }

VethPair::VethPair(const std::string& tag) {
  // Interface names have at most 15 characters.
  const std::string id = unique_id();
  ns_a = "sonda-" + tag + id + "a";
  ns_b = "sonda-" + tag + id + "b";
  dev_a = (tag.substr(0, 2) + id).substr(0, 14) + "a";
  dev_b = (tag.substr(0, 2) + id).substr(0, 14) + "b";
  try {
    check_command("ip netns add " + ns_a);
    check_command("ip netns add " + ns_b);
    check_command("ip link add " + dev_a + " netns " + ns_a + " type veth peer name " + dev_b + " netns " + ns_b);
  } catch (...) {
    remove();
    throw;
  }
}

VethPair::~VethPair() { remove(); }

void VethPair::configure(const std::string& cidr_a, const std::string& cidr_b) {
  for (const auto& [ns, dev, cidr] : {std::tuple{ns_a, dev_a, cidr_a}, std::tuple{ns_b, dev_b, cidr_b}}) {
    check_command("ip -n " + ns + " addr add " + cidr + " dev " + dev);
    check_command("ip -n " + ns + " link set " + dev + " up");
    check_command("ip -n " + ns + " link set lo up");
  }
  ip_a = cidr_a.substr(0, cidr_a.find('/'));
  ip_b = cidr_b.substr(0, cidr_b.find('/'));
}

void VethPair::remove() {
  for (const std::string& ns : {ns_a, ns_b}) {
    if (!ns.empty()) {
      run_command("ip netns del " + ns);
    }
  }
  ns_a.clear();
  ns_b.clear();
}

}  // namespace sonda::testing
