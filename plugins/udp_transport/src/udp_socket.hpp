// UDP socket set-up shared by the sender, receiver, server and rr client.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "sonda_common/net.hpp"

namespace sonda::udp {

/// A datagram socket of `family`; throws StepError naming the call.
common::Fd open_udp(int family);

/// Binds `fd` to `addr`. EADDRINUSE becomes StepError kind "addr_in_use" with
/// details {"port": N, "protocol": protocol}.
void bind_or_throw(int fd, const common::SockAddr& addr, const char* protocol);

/// The address the socket is bound to (getsockname).
common::SockAddr local_address(int fd);

/// Asks for `bytes` of receive (or send) buffer. net.core.rmem_max/wmem_max
/// cap SO_RCVBUF/SO_SNDBUF, so the *FORCE variants are tried first (they need
/// CAP_NET_ADMIN); returns the effective size the kernel reports (which is
/// doubled for bookkeeping, see socket(7)).
int size_buffer(int fd, bool receive, int bytes);

/// Turns on UDP_GRO (receiver coalescing); false when the kernel refuses.
bool enable_gro(int fd);

/// True when `addr` is 127.0.0.0/8 or ::1 (or v4-mapped loopback).
bool is_loopback(const common::SockAddr& addr);

/// /proc/sys/kernel/random/boot_id: two processes with the same boot id read
/// the same CLOCK_MONOTONIC, so one-way delay between them is meaningful.
std::string boot_id();

/// Bytes an Ethernet frame adds around a UDP payload as tc/tbf on a veth
/// counts them: Ethernet header 14 + IPv4 20 (IPv6 40) + UDP 8. Preamble,
/// FCS and inter-frame gap are not in skb->len and are not added.
uint64_t wire_overhead_bytes(int family);

}  // namespace sonda::udp
