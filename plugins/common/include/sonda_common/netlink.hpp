// A netlink dump loop shared by iface_scanner (rtnetlink) and proc_scanner
// (sock_diag).
#pragma once

#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <string>

namespace sonda::common {

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

/// Calls fn(const rtattr*) for each attribute after a reply's fixed header of
/// `header_len` bytes (rtnetlink and sock_diag attributes share this layout).
template <typename Fn>
void for_each_attr(const nlmsghdr* message, size_t header_len, Fn&& fn) {
  const size_t offset = NLMSG_SPACE(header_len);
  if (message->nlmsg_len < offset) {
    return;
  }
  int remaining = static_cast<int>(message->nlmsg_len - offset);
  const auto* attr =
      reinterpret_cast<const rtattr*>(reinterpret_cast<const char*>(message) + offset);
  for (; RTA_OK(attr, remaining); attr = RTA_NEXT(attr, remaining)) {
    fn(attr);
  }
}

/// The same walk over the attributes nested inside `parent`.
template <typename Fn>
void for_each_nested(const rtattr* parent, Fn&& fn) {
  int remaining = static_cast<int>(RTA_PAYLOAD(parent));
  for (const auto* attr = static_cast<const rtattr*>(RTA_DATA(parent)); RTA_OK(attr, remaining);
       attr = RTA_NEXT(attr, remaining)) {
    fn(attr);
  }
}

/// An attribute's payload as a T, or nullopt when it is too short.
template <typename T>
std::optional<T> attr_value(const rtattr* attr) {
  if (RTA_PAYLOAD(attr) < sizeof(T)) {
    return std::nullopt;
  }
  T value{};
  std::memcpy(&value, RTA_DATA(attr), sizeof value);
  return value;
}

/// Sends one NLM_F_DUMP request on a fresh NETLINK_<protocol> socket and calls
/// `on_message` for every reply message until NLMSG_DONE. Dumps span several
/// recv() calls; the loop handles that and ENOBUFS-free re-reads. Throws
/// std::system_error naming the call on failure; an NLMSG_ERROR reply throws
/// with the kernel's errno.
void netlink_dump(int protocol, const void* request, size_t request_len,
                  const std::function<void(const nlmsghdr*)>& on_message);

}  // namespace sonda::common
