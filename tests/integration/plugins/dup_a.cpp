// One of two different files that both call themselves "dup".
#define RAW_NAME "dup"
#include "raw_descriptor.hpp"
