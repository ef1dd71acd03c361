// Hand-made descriptors for hostile test plugins: they bypass SONDA_PLUGIN so
// each can get one thing wrong on purpose. RAW_ABI and RAW_DESCRIPTOR pick
// the fault; the defaults make a well-formed plugin named RAW_NAME.
#pragma once

#include <sonda/abi.h>

#include <boost/dll/alias.hpp>
#include <string>

#ifndef RAW_ABI
#define RAW_ABI SONDA_ABI_VERSION
#endif
#ifndef RAW_NAME
#define RAW_NAME "raw"
#endif
#ifndef RAW_STRUCT_SIZE
#define RAW_STRUCT_SIZE sizeof(sonda_plugin)
#endif
#ifndef RAW_FIGURES
#define RAW_FIGURES nullptr
#define RAW_FIGURE_COUNT 0
#endif
#ifndef RAW_RENAMES
#define RAW_RENAMES nullptr
#define RAW_RENAME_COUNT 0
#endif
#ifndef RAW_RUN
#define RAW_RUN &raw_run
#endif
#ifndef RAW_CAPS
#define RAW_CAPS 0
#endif

namespace raw {

/// The "misbehaving" run: never calls set_result; "silent_fail" returns
/// non-zero without set_error; "bad_json" sets a result that is not JSON.
inline int raw_run(const char* action, const char*, const sonda_host* host) {
  const std::string a = action;
  if (a == "silent_fail") {
    return 7;
  }
  if (a == "bad_json") {
    host->set_result(host->ctx, "{not json");
    return 0;
  }
  return 0;  // "no_result": success without a record
}

inline const sonda_action_spec kActions[] = {
    {.name = "no_result", .doc = "Returns 0 without set_result"},
    {.name = "silent_fail", .doc = "Returns 7 without set_error"},
    {.name = "bad_json", .doc = "set_result with malformed JSON"}};

inline const sonda_plugin kDescriptor = {RAW_ABI, static_cast<uint32_t>(RAW_STRUCT_SIZE), RAW_NAME, "0.0.1",
                                         "hand-made descriptor", RAW_CAPS, kActions, 3, RAW_RUN,
                                         RAW_FIGURES, RAW_FIGURE_COUNT, RAW_RENAMES, RAW_RENAME_COUNT};

extern "C" const sonda_plugin* raw_entry() { return &kDescriptor; }
extern "C" const uint32_t raw_abi = RAW_ABI;

}  // namespace raw

BOOST_DLL_ALIAS(raw::raw_entry, sonda_plugin_entry)
BOOST_DLL_ALIAS(raw::raw_abi, sonda_abi_version)
