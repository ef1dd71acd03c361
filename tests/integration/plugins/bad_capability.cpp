// Claims the port_owner capability (abi.h) without the `owner` and
// `wait_for` actions the runner would call: refused at load time, so the
// runner never asks it who holds a port.
#include <sonda/abi.h>

#define RAW_NAME "bad_capability"
#define RAW_CAPS (SONDA_CAP_DISCOVERY | SONDA_CAP_PORT_OWNER)
#include "raw_descriptor.hpp"
