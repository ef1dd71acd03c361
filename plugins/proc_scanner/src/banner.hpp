// Opt-in banner read from a TCP listener on this host: what the service
// says first (SSH, SMTP, FTP), or, when allowed, its answer to one HTTP HEAD.
#pragma once

#include <cstdint>
#include <string>

#include "socket_table.hpp"

namespace sonda::proc_scanner {

/// What a banner read got.
struct BannerResult {
  std::string text;   ///< first line the service sent, or the HTTP "Server:" value
  std::string error;  ///< why nothing was read ("" on success)
  bool http = false;  ///< true when the text came from an HTTP response
};

/// Connects to `listener` (a wildcard address becomes loopback of the same
/// family), waits up to half the timeout for an unsolicited greeting and, if
/// none came and `send_http_head` is set, sends "HEAD / HTTP/1.0" and reads
/// the reply for the rest of the timeout. Never sends anything else. Never
/// throws.
BannerResult read_banner(const SocketEntry& listener, bool send_http_head, int64_t timeout_ns);

}  // namespace sonda::proc_scanner
