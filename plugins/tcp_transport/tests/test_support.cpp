#include "test_support.hpp"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>

namespace sonda::tcp::test {

json run_action(json (*fn)(const json&, Context&), const json& params, std::vector<json>* samples) {
  LocalHost host;
  Context ctx(host.host());
  json record = fn(params, ctx);
  if (samples != nullptr) {
    *samples = host.samples();
  }
  return record;
}

StepError run_expect_error(json (*fn)(const json&, Context&), const json& params) {
  try {
    run_action(fn, params);
  } catch (const StepError& e) {
    return e;
  }
  ADD_FAILURE() << "action succeeded; expected a StepError for " << params.dump();
  return StepError("no error");
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv) {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe2 failed");
  }
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    std::vector<char*> args;
    for (const std::string& a : argv) {
      args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::close(out[1]);
  // Read the first line, giving the interpreter up to 10 s to start.
  char c;
  pollfd p{out[0], POLLIN, 0};
  while (::poll(&p, 1, 10000) > 0 && ::read(out[0], &c, 1) == 1 && c != '\n') {
    first_line_ += c;
  }
  ::close(out[0]);
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
}

PythonEchoServer::PythonEchoServer(const std::vector<std::string>& extra_args)
    : child_([&] {
        std::vector<std::string> argv = {"python3", TCP_TRANSPORT_TEST_DIR "/echo_server.py"};
        argv.insert(argv.end(), extra_args.begin(), extra_args.end());
        return argv;
      }()) {
  if (child_.first_line().empty()) {
    throw std::runtime_error("echo_server.py did not print its port");
  }
  port_ = static_cast<uint16_t>(std::stoi(child_.first_line()));
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
