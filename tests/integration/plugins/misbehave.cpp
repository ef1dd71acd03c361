// Loads fine; its actions break the run() contract (no result, failure
// without a message, malformed JSON). The host must record them, not crash.
#define RAW_NAME "misbehave"
#include "raw_descriptor.hpp"
