// Real fixtures for proc_scanner tests: loopback sockets and directories the
// test creates and always removes. Child processes, commands and network
// namespaces come from tests/support (sonda::testing).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "support/process.hpp"

namespace sonda::proc_scanner::testing {

/// A TCP or UDP socket bound to `address` ("127.0.0.1", "::1") on `port`
/// (0 = ephemeral). Listens when `listen_backlog` > 0. Returns the fd; fails
/// the test (throws) on error.
int bound_socket(int family, int type, const std::string& address, uint16_t port,
                 int listen_backlog = 0);

/// The local port of a bound socket.
uint16_t local_port(int fd);

/// Connects a new socket bound to `from_address` to `to_address`:`port`.
int connected_socket(int family, int type, const std::string& from_address,
                     const std::string& to_address, uint16_t port);

using sonda::testing::ChildProcess;
using sonda::testing::run_command;

/// The python3 interpreter to start test servers with (/usr/bin/python3
/// when present: its comm is "python3" and it starts fast).
std::string python3();

/// A free TCP port on 127.0.0.1 right now (bound, read, released).
uint16_t free_tcp_port();

/// A fresh directory made with mkdtemp("/tmp/<prefix>-XXXXXX"), removed with
/// everything in it when this goes. Throws when it cannot be made.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

/// Closes every fd in the list.
void close_all(std::vector<int>& fds);

}  // namespace sonda::proc_scanner::testing
