#include "test_support.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace sonda::tcp::test {

const sonda_plugin& plugin() {
  static const sonda_plugin& p = sonda::testing::load_plugin(TCP_TRANSPORT_SO);
  return p;
}

json run_action(const std::string& action, const json& params, std::vector<json>* samples) {
  return sonda::testing::run_action(plugin(), action, params, samples);
}

StepError run_expect_error(const std::string& action, const json& params) {
  try {
    run_action(action, params);
  } catch (const StepError& e) {
    return e;
  }
  ADD_FAILURE() << "action succeeded; expected a StepError for " << params.dump();
  return StepError("no error");
}

PythonEchoServer::PythonEchoServer(const std::vector<std::string>& extra_args)
    : child_([&] {
        std::vector<std::string> argv = {"python3", TCP_TRANSPORT_TEST_DIR "/echo_server.py"};
        argv.insert(argv.end(), extra_args.begin(), extra_args.end());
        return argv;
      }()) {
  // The interpreter gets up to 10 s to start.
  const std::string line = child_.read_line(10000);
  if (line.empty()) {
    throw std::runtime_error("echo_server.py did not print its port within 10 s");
  }
  port_ = static_cast<uint16_t>(std::stoi(line));
}

uint16_t closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

}  // namespace sonda::tcp::test
