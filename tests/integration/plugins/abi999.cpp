// Built for a future contract: exports ABI 999. The host must refuse it
// naming both versions, without calling its entry point.
#define RAW_ABI 999u
#define RAW_NAME "abi999"
#include "raw_descriptor.hpp"
