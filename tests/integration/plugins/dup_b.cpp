// The second "dup": refused as a duplicate of dup_a.so (loaded first).
#define RAW_NAME "dup"
#include "raw_descriptor.hpp"
