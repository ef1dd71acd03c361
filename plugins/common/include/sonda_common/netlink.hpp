// A netlink dump loop shared by iface_scanner (rtnetlink) and proc_scanner
// (sock_diag).
#pragma once

#include <linux/netlink.h>

#include <functional>
#include <string>

namespace sonda::common {

/// Sends one NLM_F_DUMP request on a fresh NETLINK_<protocol> socket and calls
/// `on_message` for every reply message until NLMSG_DONE. Dumps span several
/// recv() calls; the loop handles that and ENOBUFS-free re-reads. Throws
/// std::system_error naming the call on failure; an NLMSG_ERROR reply throws
/// with the kernel's errno.
void netlink_dump(int protocol, const void* request, size_t request_len,
                  const std::function<void(const nlmsghdr*)>& on_message);

}  // namespace sonda::common
