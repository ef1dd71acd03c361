// A netlink dump loop shared by iface_scanner (rtnetlink) and proc_scanner
// (sock_diag).
#pragma once

#include <linux/netlink.h>

#include <cstdint>
#include <functional>
#include <string>

namespace sonda::common {

/// Sends one NLM_F_DUMP request on a fresh NETLINK_<protocol> socket and calls
/// `on_message` for every reply message until NLMSG_DONE. Dumps span several
/// recv() calls; the loop handles that and ENOBUFS-free re-reads. Throws
/// std::system_error naming the call on failure; an NLMSG_ERROR reply throws
/// with the kernel's errno.
/// A dump request as the kernel reads it: the netlink header, then the
/// family's request struct (`body`, zeroed: set its fields).
template <typename Body>
struct DumpRequest {
  nlmsghdr header;
  Body body;
};

/// A DumpRequest<Body> with the header filled in for an NLM_F_DUMP of `type`.
template <typename Body>
DumpRequest<Body> make_dump_request(uint16_t type, uint32_t seq = 0) {
  DumpRequest<Body> r{};
  r.header.nlmsg_len = sizeof r;
  r.header.nlmsg_type = type;
  r.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  r.header.nlmsg_seq = seq;
  return r;
}

void netlink_dump(int protocol, const void* request, size_t request_len,
                  const std::function<void(const nlmsghdr*)>& on_message);

}  // namespace sonda::common
