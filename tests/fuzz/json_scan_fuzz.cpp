// libFuzzer target for the record validator (json_scan.cpp): a plugin's
// record text is untrusted bytes. Differential: scan_json must say what
// nlohmann::json::accept says about every input, and when the input is a
// JSON object, keep the skeleton a full parse gives. Run:
//   build-fuzz/bin/json_scan_fuzz tests/fuzz/corpus/json_scan -max_total_time=60
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "json_scan.hpp"

namespace {

using json = nlohmann::json;

json without_arrays(const json& object) {
  json out = json::object();
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (it->is_array()) continue;
    out[it.key()] = it->is_object() ? without_arrays(*it) : *it;
  }
  return out;
}

[[noreturn]] void disagree(const char* what, const std::string& input) {
  std::fprintf(stderr, "json_scan disagrees with nlohmann (%s) on %zu bytes\n", what, input.size());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  std::string text = input;
  json skeleton;
  const sonda::JsonRoot root = sonda::scan_json(text, &skeleton);
  // The read-only check (an agent's, on text it does not own) says the same
  // and writes nothing.
  json checked_skeleton;
  if (sonda::check_json(input.c_str(), input.size(), &checked_skeleton) != root) disagree("check_json", input);
  if (checked_skeleton != skeleton) disagree("check_json skeleton", input);
  // Streamed in pieces (a record a plugin hands over as it renders it): the
  // same verdict and skeleton, whatever the cut points and scan spacing.
  for (const size_t every : {size_t{1}, size_t{1} + size % 61}) {
    json streamed_skeleton;
    sonda::JsonStreamCheck stream(&streamed_skeleton, every);
    const size_t piece = 1 + (size / 3) % 17;
    for (size_t at = 0; at < size; at += piece) {
      stream.feed(std::string_view(input).substr(at, piece));
    }
    if (stream.finish() != root) disagree("streamed check", input);
    if (streamed_skeleton != skeleton) disagree("streamed skeleton", input);
  }
  // nlohmann stops reading at a NUL byte (end of a C string) and accepts
  // what came before; in a record a NUL is never valid: what follows it
  // would be spliced into the result files.
  const bool accepted = input.find('\0') == std::string::npos && json::accept(input);
  if ((root != sonda::JsonRoot::kInvalid) != accepted) disagree("accept", input);
  if (!accepted) return 0;
  const json value = json::parse(input);
  if (json::parse(text) != value) disagree("layout rewrite changed a value", input);
  if (value.is_object() && skeleton != without_arrays(value)) disagree("skeleton", input);
  return 0;
}
