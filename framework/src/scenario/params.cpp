#include "params.hpp"

#include <cmath>
#include <string_view>

#include "scenario/suggest.hpp"
#include "units.hpp"

namespace sonda::scenario {
namespace {

std::string describe(const nlohmann::json& v, const std::string* written) {
  if (written != nullptr) {
    return "'" + *written + "'";
  }
  if (v.is_string()) {
    return "'" + v.get<std::string>() + "'";
  }
  if (v.is_array()) {
    return "a list";
  }
  if (v.is_object()) {
    return "a map";
  }
  return v.dump();
}

[[noreturn]] void fail(const sonda_param_spec& spec, const std::string& message) {
  throw ParamError("parameter '" + std::string(spec.name) + "': " + message);
}

[[noreturn]] void wrong_type(const sonda_param_spec& spec, const char* expected,
                             const nlohmann::json& v, const std::string* written) {
  fail(spec, std::string("expected ") + expected + ", got " + describe(v, written));
}

/// The text of a scalar for the unit parsers: as written, or the JSON value.
std::string scalar_text(const nlohmann::json& v, const std::string* written) {
  if (written != nullptr) {
    return *written;
  }
  if (v.is_string()) {
    return v.get<std::string>();
  }
  return v.dump();
}

std::optional<int64_t> as_integer(const nlohmann::json& v) {
  if (v.is_number_integer()) {
    return v.get<int64_t>();
  }
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    size_t used = 0;
    try {
      int64_t n = std::stoll(s, &used);
      if (used == s.size()) {
        return n;
      }
    } catch (const std::exception&) {
    }
  }
  return std::nullopt;
}

std::optional<double> as_number(const nlohmann::json& v) {
  if (v.is_number()) {
    return v.get<double>();
  }
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    size_t used = 0;
    try {
      double d = std::stod(s, &used);
      if (used == s.size() && std::isfinite(d)) {
        return d;
      }
    } catch (const std::exception&) {
    }
  }
  return std::nullopt;
}

std::string as_string(const sonda_param_spec& spec, const nlohmann::json& v,
                      const std::string* written) {
  if (written != nullptr) {
    return *written;
  }
  if (v.is_string()) {
    return v.get<std::string>();
  }
  if (v.is_number() || v.is_boolean()) {
    return v.dump();
  }
  wrong_type(spec, "a string", v, written);
}

void check_choice(const sonda_param_spec& spec, const std::string& s) {
  if (spec.choices == nullptr) {
    return;
  }
  std::vector<std::string> choices;
  std::string_view all = spec.choices;
  while (true) {
    size_t bar = all.find('|');
    choices.emplace_back(all.substr(0, bar));
    if (bar == std::string_view::npos) {
      break;
    }
    all.remove_prefix(bar + 1);
  }
  for (const auto& c : choices) {
    if (c == s) {
      return;
    }
  }
  fail(spec, "'" + s + "' is not allowed" + did_you_mean(s, choices));
}

/// How a limit reads for this type: "64KiB", "1s", "100Mbit".
std::string format_limit(const sonda_param_spec& spec, double limit) {
  const auto whole = static_cast<int64_t>(limit);
  if (static_cast<double>(whole) == limit) {
    switch (spec.type) {
      case SONDA_PARAM_DURATION:
        return units::format_duration_ns(whole);
      case SONDA_PARAM_SIZE:
        return units::format_size_bytes(whole);
      case SONDA_PARAM_RATE:
        return units::format_rate({{"bits_per_sec", whole}});
      default:
        return std::to_string(whole);
    }
  }
  nlohmann::json j = limit;
  return j.dump();
}

void check_range(const sonda_param_spec& spec, double normalised, const std::string& shown) {
  if (!(spec.min < spec.max)) {
    return;
  }
  if (normalised < spec.min || normalised > spec.max) {
    fail(spec, shown + " is out of range; expected " + format_limit(spec, spec.min) + " to " +
                   format_limit(spec, spec.max));
  }
}

nlohmann::json normalise_scalar_list(const sonda_param_spec& spec, const nlohmann::json& v,
                                     bool integers) {
  nlohmann::json items = v.is_array() ? v : nlohmann::json::array({v});
  nlohmann::json out = nlohmann::json::array();
  for (const auto& item : items) {
    if (integers) {
      auto n = as_integer(item);
      if (!n) {
        wrong_type(spec, "a list of integers", item, nullptr);
      }
      check_range(spec, static_cast<double>(*n), std::to_string(*n));
      out.push_back(*n);
    } else {
      if (item.is_array() || item.is_object() || item.is_null()) {
        wrong_type(spec, "a list of strings", item, nullptr);
      }
      std::string s = item.is_string() ? item.get<std::string>() : item.dump();
      check_choice(spec, s);
      out.push_back(s);
    }
  }
  return out;
}

void check_endpoint(const sonda_param_spec& spec, const std::string& s) {
  std::string_view text = s;
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      fail(spec, "bad endpoint '" + s + "': expected [ipv6]:port");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon) {
      fail(spec, "bad endpoint '" + s + "': expected host:port or [ipv6]:port");
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (host.empty()) {
    fail(spec, "bad endpoint '" + s + "': the host is empty");
  }
  int port_number = -1;
  if (!port.empty() && port.size() <= 5 && port.find_first_not_of("0123456789") == std::string_view::npos) {
    port_number = std::stoi(std::string(port));
  }
  if (port_number < 0 || port_number > 65535) {
    fail(spec, "bad endpoint '" + s + "': the port must be a number from 0 to 65535");
  }
}

}  // namespace

const char* param_type_name(sonda_param_type type) {
  switch (type) {
    case SONDA_PARAM_BOOL: return "bool";
    case SONDA_PARAM_INT: return "int";
    case SONDA_PARAM_FLOAT: return "float";
    case SONDA_PARAM_STRING: return "string";
    case SONDA_PARAM_DURATION: return "duration";
    case SONDA_PARAM_SIZE: return "size";
    case SONDA_PARAM_RATE: return "rate";
    case SONDA_PARAM_ENDPOINT: return "endpoint";
    case SONDA_PARAM_STRING_LIST: return "string list";
    case SONDA_PARAM_INT_LIST: return "int list";
  }
  return "unknown";
}

nlohmann::json normalise_param(const sonda_param_spec& spec, const nlohmann::json& v,
                               const std::string* written) {
  const bool scalar = !v.is_array() && !v.is_object() && !v.is_null();
  try {
    switch (spec.type) {
      case SONDA_PARAM_BOOL:
        if (v.is_boolean()) {
          return v;
        }
        if (v.is_string() && (v == "true" || v == "false")) {
          return v == "true";
        }
        wrong_type(spec, "true or false", v, written);
      case SONDA_PARAM_INT: {
        auto n = as_integer(v);
        if (!n) {
          wrong_type(spec, "an integer", v, written);
        }
        check_range(spec, static_cast<double>(*n), std::to_string(*n));
        return *n;
      }
      case SONDA_PARAM_FLOAT: {
        auto d = as_number(v);
        if (!d) {
          wrong_type(spec, "a number", v, written);
        }
        check_range(spec, *d, scalar_text(v, written));
        return *d;
      }
      case SONDA_PARAM_STRING: {
        if (!scalar) {
          wrong_type(spec, "a string", v, written);
        }
        std::string s = as_string(spec, v, written);
        check_choice(spec, s);
        return s;
      }
      case SONDA_PARAM_DURATION: {
        if (!scalar) {
          wrong_type(spec, "a duration", v, written);
        }
        int64_t ns = written == nullptr && v.is_number_integer()
                         ? v.get<int64_t>()
                         : units::parse_duration_ns(scalar_text(v, written));
        check_range(spec, static_cast<double>(ns), scalar_text(v, written));
        return ns;
      }
      case SONDA_PARAM_SIZE: {
        if (!scalar) {
          wrong_type(spec, "a size", v, written);
        }
        int64_t bytes = units::parse_size_bytes(scalar_text(v, written));
        check_range(spec, static_cast<double>(bytes), scalar_text(v, written));
        return bytes;
      }
      case SONDA_PARAM_RATE: {
        if (v.is_object() && written == nullptr) {
          return v;  // already normalised (a reference to another step's rate)
        }
        if (!scalar) {
          wrong_type(spec, "a rate", v, written);
        }
        nlohmann::json rate = units::parse_rate(scalar_text(v, written));
        if (rate.contains("bits_per_sec")) {
          check_range(spec, rate["bits_per_sec"].get<double>(), scalar_text(v, written));
        }
        return rate;
      }
      case SONDA_PARAM_ENDPOINT: {
        if (!scalar || v.is_boolean()) {
          wrong_type(spec, "an endpoint host:port", v, written);
        }
        std::string s = as_string(spec, v, written);
        check_endpoint(spec, s);
        return s;
      }
      case SONDA_PARAM_STRING_LIST:
        return normalise_scalar_list(spec, v, false);
      case SONDA_PARAM_INT_LIST:
        return normalise_scalar_list(spec, v, true);
    }
  } catch (const units::UnitError& e) {
    fail(spec, e.what());
  }
  fail(spec, "has an unknown type");
}

nlohmann::json normalise_default(const sonda_param_spec& spec) {
  const std::string text = spec.default_value;
  // Read it as a plain YAML scalar would be: "true" is a bool, "5" an int.
  nlohmann::json value = text;
  if (text == "true" || text == "false") {
    value = text == "true";
  } else if (!text.empty() && text.find_first_not_of("-0123456789") == std::string::npos) {
    try {
      value = std::stoll(text);
    } catch (const std::exception&) {
    }
  }
  return normalise_param(spec, value, &text);
}

}  // namespace sonda::scenario
