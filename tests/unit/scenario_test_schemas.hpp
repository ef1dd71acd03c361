// A fake plugin registry for scenario tests, benchmarks and the fuzzer:
// static sonda_param_spec tables shaped like the real plugins'.
#pragma once

#include <sonda/abi.h>

#include <string>
#include <string_view>
#include <vector>

#include "scenario.hpp"

namespace sonda::testing {

inline constexpr sonda_param_spec kRrParams[] = {
    {.name = "target", .type = SONDA_PARAM_ENDPOINT, .required = 1, .doc = "server host:port"},
    {.name = "size", .type = SONDA_PARAM_SIZE, .default_value = "64B", .min = 1, .max = 65536,
     .unit = "bytes"},
    {.name = "duration", .type = SONDA_PARAM_DURATION, .default_value = "5s", .min = 1e6,
     .max = 3.6e12, .unit = "ns"},
    {.name = "rate", .type = SONDA_PARAM_RATE, .default_value = "unlimited"},
    {.name = "parallel", .type = SONDA_PARAM_INT, .default_value = "1", .min = 1, .max = 1024},
    {.name = "verify_echo", .type = SONDA_PARAM_BOOL, .default_value = "true"},
    {.name = "warmup_ratio", .type = SONDA_PARAM_FLOAT, .default_value = "0.1", .min = 0,
     .max = 0.5},
};
inline constexpr sonda_param_spec kServerParams[] = {
    {.name = "listen", .type = SONDA_PARAM_ENDPOINT, .required = 1},
    {.name = "mode", .type = SONDA_PARAM_STRING, .default_value = "echo",
     .choices = "echo|discard|source"},
};
inline constexpr sonda_param_spec kStreamParams[] = {
    {.name = "target", .type = SONDA_PARAM_ENDPOINT, .required = 1},
    {.name = "duration", .type = SONDA_PARAM_DURATION, .default_value = "5s"},
    {.name = "rate", .type = SONDA_PARAM_RATE, .default_value = "unlimited"},
};
inline constexpr sonda_action_spec kTcpActions[] = {
    {.name = "rr", .params = kRrParams, .param_count = std::size(kRrParams)},
    {.name = "server", .flags = SONDA_ACTION_BACKGROUND, .params = kServerParams,
     .param_count = std::size(kServerParams)},
    {.name = "stream", .params = kStreamParams, .param_count = std::size(kStreamParams)},
};

inline constexpr sonda_param_spec kIfaceScanParams[] = {
    {.name = "interface", .type = SONDA_PARAM_STRING},
    {.name = "families", .type = SONDA_PARAM_STRING_LIST, .default_value = "inet",
     .choices = "inet|inet6|link"},
};
inline constexpr sonda_action_spec kIfaceActions[] = {
    {.name = "scan", .params = kIfaceScanParams, .param_count = std::size(kIfaceScanParams)},
};

inline constexpr sonda_param_spec kProcScanParams[] = {
    {.name = "port", .type = SONDA_PARAM_INT, .min = 1, .max = 65535},
    {.name = "ports", .type = SONDA_PARAM_INT_LIST, .min = 1, .max = 65535},
    {.name = "during", .type = SONDA_PARAM_STRING},
    {.name = "duration", .type = SONDA_PARAM_DURATION, .default_value = "1s"},
};
inline constexpr sonda_param_spec kOwnerParams[] = {
    {.name = "port", .type = SONDA_PARAM_INT, .required = 1, .min = 1, .max = 65535},
    {.name = "protocol", .type = SONDA_PARAM_STRING, .default_value = "tcp", .choices = "tcp|udp"},
};
inline constexpr sonda_action_spec kProcActions[] = {
    {.name = "scan", .params = kProcScanParams, .param_count = std::size(kProcScanParams)},
    {.name = "owner", .params = kOwnerParams, .param_count = std::size(kOwnerParams)},
};

/// Renames as a plugin declares them: one for an action, one for every
/// action that has the new name.
inline constexpr sonda_rename_spec kTcpRenames[] = {
    {.action = "rr", .old_name = "connections", .new_name = "parallel"},
    {.action = nullptr, .old_name = "message_size", .new_name = "size"},
};

inline int fake_run(const char*, const char*, const sonda_host*) { return 1; }

inline const sonda_plugin kFakePlugins[] = {
    {SONDA_ABI_VERSION, sizeof(sonda_plugin), "tcp_transport", "1.0", "tcp", SONDA_CAP_TRANSPORT,
     kTcpActions, std::size(kTcpActions), fake_run, nullptr, 0, kTcpRenames, std::size(kTcpRenames)},
    {SONDA_ABI_VERSION, sizeof(sonda_plugin), "iface_scanner", "1.0", "ifaces",
     SONDA_CAP_DISCOVERY, kIfaceActions, std::size(kIfaceActions), fake_run, nullptr, 0, nullptr, 0},
    {SONDA_ABI_VERSION, sizeof(sonda_plugin), "proc_scanner", "1.0", "procs", SONDA_CAP_DISCOVERY,
     kProcActions, std::size(kProcActions), fake_run, nullptr, 0, nullptr, 0},
};

/// SchemaSource over kFakePlugins.
class FakeSchemas : public SchemaSource {
 public:
  std::vector<std::string> plugin_names() const override {
    std::vector<std::string> names;
    for (const auto& p : kFakePlugins) {
      names.emplace_back(p.name);
    }
    return names;
  }
  const sonda_plugin* find_plugin(std::string_view name) const override {
    for (const auto& p : kFakePlugins) {
      if (name == p.name) {
        return &p;
      }
    }
    return nullptr;
  }
};

}  // namespace sonda::testing
