#include "test_support.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <thread>

namespace sonda::iface::testing {

std::string run_command(const std::string& command) {
  const std::string err_file = "/tmp/sonda-iface-test-" + std::to_string(::getpid()) + ".err";
  FILE* pipe = ::popen((command + " 2>" + err_file).c_str(), "r");
  if (pipe == nullptr) {
    throw std::runtime_error("popen(" + command + ") failed");
  }
  std::string out;
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) {
    out.append(buf.data(), n);
  }
  const int status = ::pclose(pipe);
  std::string err;
  if (FILE* f = std::fopen(err_file.c_str(), "r")) {
    while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) {
      err.append(buf.data(), n);
    }
    std::fclose(f);
  }
  ::unlink(err_file.c_str());
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error("`" + command + "` failed (status " + std::to_string(status) +
                             "): " + err);
  }
  return out;
}

json ip_json(const std::string& args) { return json::parse(run_command("ip -j " + args)); }

common::Fd bound_udp_socket(const std::string& ip, uint16_t port) {
  const common::SockAddr local = common::resolve(ip, port, SOCK_DGRAM);
  common::Fd fd(::socket(local.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) {
    common::throw_sys("socket", "(UDP)", errno);
  }
  if (::bind(fd.get(), local.get(), local.len) != 0) {
    common::throw_sys("bind", local.to_string(), errno);
  }
  return fd;
}

void send_datagrams(int fd, const common::SockAddr& to, int count, size_t payload_bytes) {
  const std::string payload(payload_bytes, 'x');
  for (int i = 0; i < count; ++i) {
    if (::sendto(fd, payload.data(), payload.size(), 0, to.get(), to.len) < 0) {
      common::throw_sys("sendto", to.to_string(), errno);
    }
  }
}

int receive_datagrams(int fd, int count, int timeout_ms) {
  std::array<char, 65536> buf{};
  int received = 0;
  while (received < count) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) {
      break;
    }
    if (::recv(fd, buf.data(), buf.size(), 0) >= 0) {
      ++received;
    }
  }
  return received;
}

VethNamespaces::VethNamespaces() {
  const std::string pid = std::to_string(::getpid());
  netns_a = "sonda-t" + pid + "a";
  netns_b = "sonda-t" + pid + "b";
  veth_a = "sv" + pid + "a";
  veth_b = "sv" + pid + "b";
  // A previous run with the same pid that was SIGKILLed may have left these.
  run_command("ip netns del " + netns_a + " 2>/dev/null || true");
  run_command("ip netns del " + netns_b + " 2>/dev/null || true");
  created_ = true;
  run_command("ip netns add " + netns_a);
  run_command("ip netns add " + netns_b);
  run_command("ip link add " + veth_a + " netns " + netns_a + " type veth peer name " + veth_b +
              " netns " + netns_b);
}

VethNamespaces::~VethNamespaces() {
  try {
    remove();
  } catch (...) {
  }
}

void VethNamespaces::remove() {
  if (!created_) {
    return;
  }
  created_ = false;
  run_command("ip netns del " + netns_a + " 2>/dev/null || true");
  run_command("ip netns del " + netns_b + " 2>/dev/null || true");
}

std::string VethNamespaces::ip_a(const std::string& args) const {
  return run_command("ip -n " + netns_a + " " + args);
}

std::string VethNamespaces::ip_b(const std::string& args) const {
  return run_command("ip -n " + netns_b + " " + args);
}

FakeHost::FakeHost() {
  host_.abi_version = SONDA_ABI_VERSION;
  host_.ctx = this;
  host_.stop_flag = &stop_flag_;
  host_.deadline_ns = 0;
  host_.log = &on_log;
  host_.ready = &on_ready;
  host_.sample = &on_sample;
  host_.set_result = &on_set_result;
  host_.set_error = &on_set_error;
}

json FakeHost::wait_ready(int timeout_ms) {
  for (int waited = 0;; waited += 5) {
    {
      std::lock_guard lock(mutex_);
      if (!ready_.is_null()) {
        return ready_;
      }
    }
    if (waited >= timeout_ms) {
      return nullptr;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

std::vector<json> FakeHost::samples() const {
  std::lock_guard lock(mutex_);
  return samples_;
}

void FakeHost::on_log(void*, int, const char*) {}

void FakeHost::on_ready(void* ctx, const char* info) {
  auto* self = static_cast<FakeHost*>(ctx);
  std::lock_guard lock(self->mutex_);
  self->ready_ = json::parse(info);
}

void FakeHost::on_sample(void* ctx, const char* sample) {
  auto* self = static_cast<FakeHost*>(ctx);
  std::lock_guard lock(self->mutex_);
  self->samples_.push_back(json::parse(sample));
}

void FakeHost::on_set_result(void*, const char*) {}
void FakeHost::on_set_error(void*, const char*) {}

}  // namespace sonda::iface::testing
