// libFuzzer entry point (clang, -DSONDA_BUILD_FUZZ=ON). Run:
//   build-fuzz/bin/scenario_fuzz tests/fuzz/corpus/scenario -max_total_time=60
#include "scenario_fuzz_body.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sonda::fuzz::fuzz_one(data, size);
  return 0;
}
