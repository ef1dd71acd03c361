// A descriptor without a run function.
#define RAW_NAME "null_run"
#define RAW_RUN nullptr
#include "raw_descriptor.hpp"
