#include "unix_table.hpp"

#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <tuple>

#include "sonda_common/netlink.hpp"

namespace sonda::proc_scanner {
namespace {

constexpr uint8_t kStateEstablished = 1;
constexpr uint8_t kStateListen = 10;

}  // namespace

bool parse_unix_diag(const nlmsghdr* message, uint64_t netns, UnixSocketEntry& out) {
  if (message->nlmsg_len < NLMSG_LENGTH(sizeof(unix_diag_msg))) {
    return false;
  }
  const auto* m = static_cast<const unix_diag_msg*>(NLMSG_DATA(message));
  out = UnixSocketEntry{};
  out.type = m->udiag_type;
  out.state = m->udiag_state;
  out.inode = m->udiag_ino;
  out.netns = netns;
  common::for_each_attr(message, sizeof(unix_diag_msg), [&](const rtattr* attr) {
    switch (attr->rta_type) {
      case UNIX_DIAG_NAME:
        if (RTA_PAYLOAD(attr) > 0) {
          // Abstract names begin with a NUL; ss prints them with '@'.
          out.path.assign(static_cast<const char*>(RTA_DATA(attr)), RTA_PAYLOAD(attr));
          if (out.path[0] == '\0') {
            out.path[0] = '@';
          }
          if (const size_t nul = out.path.find('\0'); nul != std::string::npos) {
            out.path.resize(nul);
          }
        }
        break;
      case UNIX_DIAG_PEER:
        out.peer_inode = common::attr_value<uint32_t>(attr).value_or(0);
        break;
      case UNIX_DIAG_RQLEN:
        if (const auto q = common::attr_value<unix_diag_rqlen>(attr)) {
          out.recv_q = q->udiag_rqueue;
          out.send_q = q->udiag_wqueue;
        }
        break;
      default:
        break;
    }
  });
  return true;
}

void dump_unix_sockets(uint64_t netns, std::vector<UnixSocketEntry>& out) {
  auto msg = common::make_dump_request<unix_diag_req>(SOCK_DIAG_BY_FAMILY);
  msg.body.sdiag_family = AF_UNIX;
  msg.body.udiag_states = ~0u;
  msg.body.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN;
  UnixSocketEntry entry;
  common::netlink_dump(NETLINK_SOCK_DIAG, &msg, sizeof msg, [&](const nlmsghdr* h) {
    if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY && parse_unix_diag(h, netns, entry)) {
      out.push_back(std::move(entry));
    }
  });
}

const char* unix_type_name(uint8_t type) {
  switch (type) {
    case SOCK_STREAM:
      return "stream";
    case SOCK_DGRAM:
      return "dgram";
    case SOCK_SEQPACKET:
      return "seqpacket";
    default:
      return "unknown";
  }
}

const char* unix_state_name(uint8_t state) {
  if (state == kStateListen) {
    return "LISTEN";
  }
  return state == kStateEstablished ? "ESTABLISHED" : "UNCONN";
}

void sort_unix_sockets(std::vector<UnixSocketEntry>& sockets) {
  std::sort(sockets.begin(), sockets.end(), [](const UnixSocketEntry& a, const UnixSocketEntry& b) {
    return std::tie(a.netns, a.path, a.type, a.inode) < std::tie(b.netns, b.path, b.type, b.inode);
  });
}

}  // namespace sonda::proc_scanner
