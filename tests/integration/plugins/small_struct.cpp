// A descriptor claiming to be smaller than this host's sonda_plugin.
#define RAW_NAME "small_struct"
#define RAW_STRUCT_SIZE 16
#include "raw_descriptor.hpp"
