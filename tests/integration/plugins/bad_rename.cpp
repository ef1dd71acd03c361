// A rename that leads nowhere: no action has the new name. Refused, naming
// the rename, so a plugin author sees the slip at load time, not when a user
// writes the old name.
#include <sonda/abi.h>

namespace {
const sonda_rename_spec kBadRenames[] = {{.action = "no_result", .old_name = "payload", .new_name = "size"}};
}  // namespace

#define RAW_NAME "bad_rename"
#define RAW_RENAMES kBadRenames
#define RAW_RENAME_COUNT 1
#include "raw_descriptor.hpp"
