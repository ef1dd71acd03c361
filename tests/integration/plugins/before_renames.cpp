// A descriptor built against the header before renames existed: it ends
// where `renames` begins. It must load, figures and all, with no renames.
#include <cstddef>

#include <sonda/abi.h>
#define RAW_NAME "before_renames"
#define RAW_STRUCT_SIZE offsetof(sonda_plugin, renames)
#include "raw_descriptor.hpp"
