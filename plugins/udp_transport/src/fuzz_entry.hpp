// The entry point shared by the libFuzzer target and the corpus-replay test:
// untrusted bytes through the header parser and the receiver accounting.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sonda::udp {

/// Splits `data` into datagrams (each: one length byte, then up to that many
/// bytes), feeds them from two fake sources into a ReceiveTable and checks
/// the accounting invariants (every datagram counted exactly once as valid,
/// duplicate, wild, too old, too short or foreign; lost + received ==
/// expected). Calls abort() on a violation so the fuzzer reports it. Returns 0.
int fuzz_receive_datagrams(const uint8_t* data, size_t size);

}  // namespace sonda::udp
