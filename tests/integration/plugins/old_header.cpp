// A descriptor built against the header before figures existed: it ends
// where `figures` begins. It must load, with no figures.
#include <cstddef>

#include <sonda/abi.h>
#define RAW_NAME "old_header"
#define RAW_STRUCT_SIZE offsetof(sonda_plugin, figures)
#include "raw_descriptor.hpp"
