// libFuzzer target: arbitrary bytes as a sequence of datagrams through the
// header parser and the receiver's accounting (see fuzz_entry.hpp).
#include <cstddef>
#include <cstdint>

#include "fuzz_entry.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return sonda::udp::fuzz_receive_datagrams(data, size);
}
