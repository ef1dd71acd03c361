#include "netns.hpp"

#include <fcntl.h>
#include <sched.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <sonda/plugin.hpp>
#include <sonda_common/net.hpp>
#include <thread>

namespace sonda::iface {

std::string netns_path(const std::string& netns) {
  if (netns.find('/') != std::string::npos) {
    return netns;
  }
  return "/run/netns/" + netns;
}

void run_in_netns(const std::string& netns, const std::function<void()>& fn) {
  if (netns.empty()) {
    fn();
    return;
  }
  const std::string path = netns_path(netns);
  common::Fd ns(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns) {
    const int err = errno;
    const std::string reason = "network namespace '" + netns + "': open(" + path + "): " +
                               std::strerror(err);
    throw StepError(reason, err == ENOENT ? "not_found" : "error",
                    {{"error", {{"errno", err}, {"netns_path", path}}}});
  }
  std::exception_ptr failure;
  std::thread worker([&] {
    try {
      if (::setns(ns.get(), CLONE_NEWNET) != 0) {
        common::throw_sys("setns", "(" + path + ", CLONE_NEWNET)", errno);
      }
      fn();
    } catch (...) {
      failure = std::current_exception();
    }
  });
  worker.join();
  if (failure) {
    std::rethrow_exception(failure);
  }
}

}  // namespace sonda::iface
