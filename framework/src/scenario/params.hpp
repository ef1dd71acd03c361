// Normalising one parameter value against its sonda_param_spec: the encoding
// plugins receive (abi.h), plus type, range and choice checks.
#pragma once

#include <sonda/abi.h>

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace sonda::scenario {

/// A value that does not fit its parameter; what() is the message without
/// location, e.g. "parameter 'payload': bad size '64 bytes': expected ...".
class ParamError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// Normalises `value` for `spec`. `written` is the scalar text exactly as the
/// user wrote it (YAML), or nullptr for values that came from a record; a bare
/// number is nanoseconds for a duration from a record but ambiguous (an error,
/// except 0) when written. Throws ParamError.
nlohmann::json normalise_param(const sonda_param_spec& spec, const nlohmann::json& value,
                               const std::string* written);

/// The spec's default_value as the user would have written it, normalised.
/// Throws ParamError (a plugin bug: its own default does not validate).
nlohmann::json normalise_default(const sonda_param_spec& spec);

/// Short name of a parameter type: "duration", "size", ...
const char* param_type_name(sonda_param_type type);

}  // namespace sonda::scenario
