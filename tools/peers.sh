#!/bin/sh
# Every peer comparison through `sonda run`; see tools/peers.py --help.
exec python3 "$(dirname "$0")/peers.py" "$@"
