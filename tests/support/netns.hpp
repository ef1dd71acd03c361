// Network namespaces for tests: entering one on the calling thread (and
// leaving it again), and a throwaway pair of namespaces joined by veth.
#pragma once

#include <string>

namespace sonda::testing {

/// Moves the calling thread into /run/netns/<name>; the destructor moves it
/// back to the namespace it was in. Throws std::runtime_error naming the
/// call and errno (e.g. not root, no such namespace).
class NetnsGuard {
 public:
  explicit NetnsGuard(const std::string& name);
  ~NetnsGuard();
  NetnsGuard(const NetnsGuard&) = delete;
  NetnsGuard& operator=(const NetnsGuard&) = delete;

 private:
  int previous_fd_ = -1;
};

/// A network namespace made with `ip netns add`, loopback up, named after
/// `tag`, the pid and a per-process counter (unique across parallel runs);
/// deleted on destruction. Throws std::runtime_error with `ip`'s stderr.
class Netns {
 public:
  explicit Netns(const std::string& tag);
  ~Netns();
  Netns(const Netns&) = delete;
  Netns& operator=(const Netns&) = delete;
  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

/// Two namespaces ns_a/ns_b joined by veth dev_a (in a) <-> dev_b (in b),
/// named after `tag`, the pid and a per-process counter so parallel runs and
/// several pairs in one test never collide. Made with `ip`; the constructor
/// throws std::runtime_error with the failing command and its stderr (a
/// test that needs the pair fails with that reason). Everything is removed on
/// destruction: deleting a namespace deletes its veth end and the peer.
class VethPair {
 public:
  explicit VethPair(const std::string& tag);
  ~VethPair();
  VethPair(const VethPair&) = delete;
  VethPair& operator=(const VethPair&) = delete;

  /// Puts `cidr_a` ("10.77.0.1/24") on dev_a and `cidr_b` on dev_b and brings
  /// both ends and both loopbacks up; sets ip_a/ip_b (the bare addresses).
  void configure(const std::string& cidr_a, const std::string& cidr_b);
  /// Deletes both namespaces now; safe to call twice.
  void remove();

  std::string ns_a, ns_b, dev_a, dev_b, ip_a, ip_b;
};

}  // namespace sonda::testing
