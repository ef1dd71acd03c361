// The iface_scanner MODULE: only the action table and the export. Everything
// it runs lives in iface_scanner_core, which the tests link too.
#include <sonda/plugin.hpp>

#include "actions.hpp"

namespace {

const sonda::Action kActions[] = {
    sonda::action<sonda::iface::kScanParams, &sonda::iface::scan>(
        {.name = "scan",
         .doc = "Interfaces with flags, MTU, state, MAC, qdisc, IPv4/IPv6 addresses and 64-bit "
                "counters (what `ip addr` and `ip -s link` show)"}),
    sonda::action<sonda::iface::kWatchParams, &sonda::iface::watch>(
        {.name = "watch",
         .doc = "Background: interface counter deltas and rates while other steps run",
         .flags = SONDA_ACTION_BACKGROUND}),
};

}  // namespace

SONDA_PLUGIN("iface_scanner", "0.1.0", "Network interfaces, addresses and counters (RTNETLINK)",
             SONDA_CAP_DISCOVERY, kActions)
