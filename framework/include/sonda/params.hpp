// Typed parameter binding: one table per action that is both the schema the
// host validates from (sonda_param_spec, abi.h) and the decoder that fills the
// action's options struct (fio's option table with offsets, in C++20).
//
//   struct EchoOptions {
//     std::string target;
//     int64_t duration_ns;
//     std::optional<std::string> congestion;   // no default, not required
//   };
//   inline constexpr auto kEchoParams = sonda::params<EchoOptions>(
//       sonda::param<&EchoOptions::target>({.name = "target", .type = SONDA_PARAM_ENDPOINT,
//                                           .required = 1, .doc = "server host:port"}),
//       sonda::param<&EchoOptions::duration_ns>({.name = "duration", .type = SONDA_PARAM_DURATION,
//                                                .default_value = "5s", .unit = "ns", .doc = "..."}),
//       sonda::param<&EchoOptions::congestion>({.name = "congestion", .doc = "..."}));
//   json echo(const EchoOptions& o, sonda::Context& ctx);
//   const sonda::Action kActions[] = {sonda::action<kEchoParams, &echo>({.name = "echo", .doc = "..."})};
//
// Checked at compile time (the table is built by consteval functions): the
// member's type fits the parameter type, a parameter with no default that is
// not required binds to std::optional<T> (or a list, absent = empty; a
// std::optional member of a parameter with a default is always set), the
// default parses and lies in the range, the range fits the member, names are
// unique. At run time bind() trusts nothing: a value of the wrong JSON type,
// out of range or not among the choices fails the step with invalid_param
// naming the parameter. An absent parameter gets the table's default, so
// tests and standalone drivers may pass partial JSON; the host always sends
// every default already normalised.
//
// Include <sonda/plugin.hpp>, which includes this after sonda::invalid_param.
#ifndef SONDA_PARAMS_HPP_
#define SONDA_PARAMS_HPP_

#include <sonda/abi.h>

#include <concepts>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace sonda {

using json = nlohmann::json;

[[noreturn]] inline void invalid_param(const std::string& name, const std::string& why);

/// A SONDA_PARAM_RATE value: unlimited, bits per second or packets per second
/// (abi.h's {"unlimited":true} | {"bits_per_sec":N} | {"packets_per_sec":N}).
struct Rate {
  enum class Unit : uint8_t { kUnlimited, kBitsPerSec, kPacketsPerSec };
  Unit unit = Unit::kUnlimited;
  double value = 0;  ///< per second, in `unit`; 0 when unlimited

  constexpr bool unlimited() const { return unit == Unit::kUnlimited; }
  constexpr double bits_per_sec() const { return unit == Unit::kBitsPerSec ? value : 0; }
  constexpr double packets_per_sec() const { return unit == Unit::kPacketsPerSec ? value : 0; }
  friend constexpr bool operator==(const Rate&, const Rate&) = default;

  /// The abi.h encoding.
  json to_json() const {
    switch (unit) {
      case Unit::kBitsPerSec: return {{"bits_per_sec", value}};
      case Unit::kPacketsPerSec: return {{"packets_per_sec", value}};
      case Unit::kUnlimited: break;
    }
    return {{"unlimited", true}};
  }
  /// Reads the abi.h encoding; anything else (or a negative rate) fails with
  /// invalid_param naming `name`.
  static Rate from_json(const json& j, const std::string& name) {
    if (j.is_object()) {
      if (auto u = j.find("unlimited"); u != j.end() && u->is_boolean() && u->get<bool>() && j.size() == 1) {
        return {};
      }
      for (auto [key, unit] : {std::pair{"bits_per_sec", Unit::kBitsPerSec},
                               std::pair{"packets_per_sec", Unit::kPacketsPerSec}}) {
        if (auto v = j.find(key); v != j.end() && v->is_number() && j.size() == 1) {
          if (v->get<double>() < 0) {
            invalid_param(name, "must not be negative, got " + j.dump());
          }
          return {unit, v->get<double>()};
        }
      }
    }
    invalid_param(name, "expected {bits_per_sec}|{packets_per_sec}|{unlimited}, got " + j.dump());
  }
};

namespace detail {

// ---- compile-time diagnostics: calling one in a consteval function is a
// compile error that shows its name.
inline void param_member_type_does_not_match_param_type() {}
inline void param_without_default_needs_std_optional_member() {}
inline void param_required_must_not_be_std_optional() {}
inline void param_default_value_is_not_understood() {}
inline void param_default_value_is_out_of_range() {}
inline void param_range_does_not_fit_member_type() {}
inline void param_needs_a_name() {}
inline void param_name_is_used_twice() {}
inline void param_member_belongs_to_another_options_struct() {}
inline void action_spec_must_not_set_params() {}

template <class M>
struct member_traits;
template <class C, class T>
struct member_traits<T C::*> {
  using owner = C;
  using type = T;
};

template <class T>
struct unwrap_optional {
  using type = T;
  static constexpr bool optional = false;
};
template <class T>
struct unwrap_optional<std::optional<T>> {
  using type = T;
  static constexpr bool optional = true;
};

template <class T>
struct list_of {
  static constexpr bool list = false;
};
template <class T>
struct list_of<std::vector<T>> {
  static constexpr bool list = true;
  using item = T;
};

template <class T>
concept Integer = std::integral<T> && !std::same_as<T, bool>;

/// A default value parsed from its text at compile time.
struct DefaultValue {
  bool present = false;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  Rate rate;
};

/// "1.5" -> {15, 10}: a decimal as a fraction, so units scale it exactly.
struct Decimal {
  bool ok = false;
  int64_t num = 0;
  int64_t den = 1;
  std::string_view rest;
};

constexpr Decimal parse_decimal(std::string_view s) {
  Decimal d;
  bool negative = false;
  size_t i = 0;
  if (i < s.size() && s[i] == '-') {
    negative = true;
    ++i;
  }
  bool digits = false;
  bool point = false;
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (c >= '0' && c <= '9') {
      d.num = d.num * 10 + (c - '0');
      if (point) {
        d.den *= 10;
      }
      digits = true;
    } else if (c == '.' && !point) {
      point = true;
    } else {
      break;
    }
  }
  d.ok = digits;
  d.num = negative ? -d.num : d.num;
  d.rest = s.substr(i);
  return d;
}

/// `d` times `scale` when it is a whole number.
constexpr std::optional<int64_t> scaled(const Decimal& d, int64_t scale) {
  const int64_t n = d.num * scale;
  if (n % d.den != 0) {
    return std::nullopt;
  }
  return n / d.den;
}

struct UnitScale {
  std::string_view suffix;
  int64_t scale;
};

inline constexpr UnitScale kDurationUnits[] = {{"ns", 1},
                                               {"us", 1'000},
                                               {"ms", 1'000'000},
                                               {"s", 1'000'000'000},
                                               {"m", 60'000'000'000},
                                               {"h", 3'600'000'000'000}};
inline constexpr UnitScale kSizeUnits[] = {
    {"", 1},           {"B", 1},           {"k", 1'000},         {"kB", 1'000},
    {"K", 1'000},      {"KB", 1'000},      {"M", 1'000'000},     {"MB", 1'000'000},
    {"G", 1'000'000'000}, {"GB", 1'000'000'000}, {"T", 1'000'000'000'000}, {"TB", 1'000'000'000'000},
    {"KiB", 1LL << 10}, {"MiB", 1LL << 20}, {"GiB", 1LL << 30},  {"TiB", 1LL << 40}};
inline constexpr UnitScale kBitRateUnits[] = {
    {"", 1},          {"bit", 1},          {"bps", 1},           {"k", 1'000},
    {"kbit", 1'000},  {"kbps", 1'000},     {"K", 1'000},         {"Kbit", 1'000},
    {"Kbps", 1'000},  {"M", 1'000'000},    {"Mbit", 1'000'000},  {"Mbps", 1'000'000},
    {"G", 1'000'000'000}, {"Gbit", 1'000'000'000}, {"Gbps", 1'000'000'000}};
inline constexpr UnitScale kPacketRateUnits[] = {
    {"pps", 1}, {"kpps", 1'000}, {"Kpps", 1'000}, {"Mpps", 1'000'000}};

template <size_t N>
constexpr std::optional<int64_t> parse_with_units(std::string_view text, const UnitScale (&units)[N]) {
  const Decimal d = parse_decimal(text);
  if (!d.ok) {
    return std::nullopt;
  }
  for (const UnitScale& u : units) {
    if (u.suffix == d.rest) {
      return scaled(d, u.scale);
    }
  }
  return std::nullopt;
}

/// The default text as the host's normaliser reads it (the subset of the
/// unit syntax defaults use; tests/unit/params_binding_test.cpp checks every
/// plugin's defaults against the host). nullopt: not understood.
constexpr std::optional<DefaultValue> parse_default(sonda_param_type type, std::string_view text) {
  DefaultValue v;
  v.present = true;
  std::optional<int64_t> n;
  switch (type) {
    case SONDA_PARAM_BOOL:
      if (text != "true" && text != "false") {
        return std::nullopt;
      }
      v.b = text == "true";
      return v;
    case SONDA_PARAM_INT:
    case SONDA_PARAM_INT_LIST: {
      const Decimal d = parse_decimal(text);
      if (!d.ok || d.den != 1 || !d.rest.empty()) {
        return std::nullopt;
      }
      v.i = d.num;
      return v;
    }
    case SONDA_PARAM_FLOAT: {
      const Decimal d = parse_decimal(text);
      if (!d.ok || !d.rest.empty()) {
        return std::nullopt;
      }
      v.f = static_cast<double>(d.num) / static_cast<double>(d.den);
      return v;
    }
    case SONDA_PARAM_DURATION:
      n = text == "0" ? std::optional<int64_t>(0) : parse_with_units(text, kDurationUnits);
      break;
    case SONDA_PARAM_SIZE:
      n = parse_with_units(text, kSizeUnits);
      break;
    case SONDA_PARAM_RATE:
      if (text == "unlimited" || text == "0") {
        return v;
      }
      if (auto bits = parse_with_units(text, kBitRateUnits)) {
        v.rate = {Rate::Unit::kBitsPerSec, static_cast<double>(*bits)};
        return v;
      }
      if (auto packets = parse_with_units(text, kPacketRateUnits)) {
        v.rate = {Rate::Unit::kPacketsPerSec, static_cast<double>(*packets)};
        return v;
      }
      return std::nullopt;
    case SONDA_PARAM_STRING:
    case SONDA_PARAM_ENDPOINT:
    case SONDA_PARAM_STRING_LIST:
      return v;  // the text itself
  }
  if (!n) {
    return std::nullopt;
  }
  v.i = *n;
  return v;
}

/// Does a C++ type `T` hold a parameter of `type`?
template <class T>
constexpr bool holds(sonda_param_type type) {
  switch (type) {
    case SONDA_PARAM_BOOL: return std::same_as<T, bool>;
    case SONDA_PARAM_INT:
    case SONDA_PARAM_DURATION:
    case SONDA_PARAM_SIZE: return Integer<T>;
    case SONDA_PARAM_FLOAT: return std::floating_point<T>;
    case SONDA_PARAM_STRING:
    case SONDA_PARAM_ENDPOINT: return std::same_as<T, std::string>;
    case SONDA_PARAM_RATE: return std::same_as<T, Rate>;
    case SONDA_PARAM_STRING_LIST: return std::same_as<T, std::vector<std::string>>;
    case SONDA_PARAM_INT_LIST:
      if constexpr (list_of<T>::list) {
        return Integer<typename list_of<T>::item>;
      } else {
        return false;
      }
  }
  return false;
}

inline std::string shown(const json& v) {
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

inline bool in_choices(const char* choices, std::string_view s) {
  if (choices == nullptr) {
    return true;
  }
  std::string_view all = choices;
  while (true) {
    const size_t bar = all.find('|');
    if (all.substr(0, bar) == s) {
      return true;
    }
    if (bar == std::string_view::npos) {
      return false;
    }
    all.remove_prefix(bar + 1);
  }
}

inline std::string number_text(double x) {
  return shown(json(x == static_cast<double>(static_cast<int64_t>(x)) ? json(static_cast<int64_t>(x)) : json(x)));
}

inline void check_range(const sonda_param_spec& spec, double x) {
  if (spec.min < spec.max && (x < spec.min || x > spec.max)) {
    invalid_param(spec.name, number_text(x) + " is out of range; expected " + number_text(spec.min) +
                                 " to " + number_text(spec.max));
  }
}

/// An integer of the JSON value (whole floats too: 5.0 from a JSON writer).
template <Integer T>
T integer_of(const sonda_param_spec& spec, const json& v) {
  int64_t x = 0;
  if (v.is_number_integer()) {
    if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
      invalid_param(spec.name, shown(v) + " is too large");
    }
    x = v.get<int64_t>();
  } else if (v.is_number_float() && v.get<double>() >= -9.2e18 && v.get<double>() <= 9.2e18 &&
             v.get<double>() == static_cast<double>(static_cast<int64_t>(v.get<double>()))) {
    x = static_cast<int64_t>(v.get<double>());
  } else {
    invalid_param(spec.name, "expected an integer, got " + shown(v));
  }
  check_range(spec, static_cast<double>(x));
  if (!std::in_range<T>(x)) {
    invalid_param(spec.name, std::to_string(x) + " does not fit");
  }
  return static_cast<T>(x);
}

inline std::string string_of(const sonda_param_spec& spec, const json& v) {
  if (!v.is_string()) {
    invalid_param(spec.name, "expected a string, got " + shown(v));
  }
  std::string s = v.get<std::string>();
  if (!in_choices(spec.choices, s)) {
    invalid_param(spec.name, "'" + s + "' is not one of " + spec.choices);
  }
  return s;
}

/// Converts one present JSON value to T (the member type, optional removed).
template <class T>
T value_of(const sonda_param_spec& spec, const json& v) {
  if constexpr (std::same_as<T, bool>) {
    if (!v.is_boolean()) {
      invalid_param(spec.name, "expected true or false, got " + shown(v));
    }
    return v.get<bool>();
  } else if constexpr (Integer<T>) {
    return integer_of<T>(spec, v);
  } else if constexpr (std::floating_point<T>) {
    if (!v.is_number()) {
      invalid_param(spec.name, "expected a number, got " + shown(v));
    }
    check_range(spec, v.get<double>());
    return static_cast<T>(v.get<double>());
  } else if constexpr (std::same_as<T, std::string>) {
    return string_of(spec, v);
  } else if constexpr (std::same_as<T, Rate>) {
    Rate r = Rate::from_json(v, spec.name);
    if (r.unit == Rate::Unit::kBitsPerSec) {
      check_range(spec, r.value);
    }
    return r;
  } else {
    static_assert(list_of<T>::list);
    using Item = typename list_of<T>::item;
    T out;
    const json items = v.is_array() ? v : json::array({v});  // a scalar is a list of one
    for (const json& item : items) {
      out.push_back(value_of<Item>(spec, item));
    }
    return out;
  }
}

/// The member a path of member pointers names: param<&A::b, &B::c> is a.b.c.
template <auto First, auto... Rest, class Obj>
constexpr auto& member_at(Obj& obj) {
  if constexpr (sizeof...(Rest) == 0) {
    return obj.*First;
  } else {
    return member_at<Rest...>(obj.*First);
  }
}

template <auto... Path>
struct path_traits;
template <auto Only>
struct path_traits<Only> {
  using owner = typename member_traits<decltype(Only)>::owner;
  using type = typename member_traits<decltype(Only)>::type;
};
template <auto First, auto Second, auto... Rest>
struct path_traits<First, Second, Rest...> {
  using owner = typename member_traits<decltype(First)>::owner;
  using type = typename path_traits<Second, Rest...>::type;
};

}  // namespace detail

/// One parameter bound to a member (or a path of members) of an options
/// struct. Made by sonda::param<&Options::member>(spec).
template <auto... Path>
struct Param {
  using owner = typename detail::path_traits<Path...>::owner;
  using member_type = typename detail::path_traits<Path...>::type;
  using value_type = typename detail::unwrap_optional<member_type>::type;

  sonda_param_spec spec;
  detail::DefaultValue def;

  /// The member this parameter fills.
  template <class Options>
  static constexpr auto& field(Options& o) {
    return detail::member_at<Path...>(o);
  }

  /// Fills the member from the parameters object (absent: the default).
  template <class Options>
  void fill(Options& o, const json& params) const {
    auto& m = field(o);
    const auto it = params.find(spec.name);
    if (it != params.end() && !it->is_null()) {
      m = detail::value_of<value_type>(spec, *it);
      return;
    }
    if (spec.required != 0) {
      invalid_param(spec.name, "is required");
    }
    if (!def.present && detail::unwrap_optional<member_type>::optional) {
      m = member_type{};
    } else if constexpr (std::same_as<value_type, bool>) {
      m = def.b;
    } else if constexpr (detail::Integer<value_type>) {
      m = static_cast<value_type>(def.i);
    } else if constexpr (std::floating_point<value_type>) {
      m = static_cast<value_type>(def.f);
    } else if constexpr (std::same_as<value_type, Rate>) {
      m = def.rate;
    } else if constexpr (std::same_as<value_type, std::string>) {
      m = spec.default_value;
    } else if constexpr (std::same_as<value_type, std::vector<std::string>>) {
      m = def.present ? value_type{spec.default_value} : value_type{};
    } else {
      m = def.present ? value_type{static_cast<typename value_type::value_type>(def.i)} : value_type{};
    }
  }
};

/// Binds `spec` to the member `Path` names. Compile-time checks: see the top
/// of this header.
template <auto... Path>
consteval Param<Path...> param(sonda_param_spec spec) {
  using P = Param<Path...>;
  using V = typename P::value_type;
  constexpr bool kOptional = detail::unwrap_optional<typename P::member_type>::optional;
  if (spec.name == nullptr || spec.name[0] == '\0') {
    detail::param_needs_a_name();
  }
  if (!detail::holds<V>(spec.type)) {
    detail::param_member_type_does_not_match_param_type();
  }
  if (kOptional && spec.required != 0) {
    detail::param_required_must_not_be_std_optional();
  }
  if (!kOptional && spec.required == 0 && spec.default_value == nullptr && !detail::list_of<V>::list) {
    detail::param_without_default_needs_std_optional_member();
  }
  P p{spec, {}};
  if (spec.default_value != nullptr) {
    const auto def = detail::parse_default(spec.type, spec.default_value);
    if (!def) {
      detail::param_default_value_is_not_understood();
    }
    p.def = *def;
    const double x = spec.type == SONDA_PARAM_FLOAT  ? p.def.f
                     : spec.type == SONDA_PARAM_RATE ? p.def.rate.bits_per_sec()
                                                     : static_cast<double>(p.def.i);
    const bool numeric = spec.type != SONDA_PARAM_BOOL && spec.type != SONDA_PARAM_STRING &&
                         spec.type != SONDA_PARAM_ENDPOINT && spec.type != SONDA_PARAM_STRING_LIST;
    if (numeric && spec.min < spec.max && (x < spec.min || x > spec.max)) {
      detail::param_default_value_is_out_of_range();
    }
  }
  if constexpr (detail::Integer<V>) {
    if (spec.min < spec.max && (spec.min < static_cast<double>(std::numeric_limits<V>::min()) ||
                                spec.max > static_cast<double>(std::numeric_limits<V>::max()))) {
      detail::param_range_does_not_fit_member_type();
    }
  }
  return p;
}

/// The parameters of one action: the sonda_param_spec array the host sees
/// (`specs`, in declaration order) and the binder that fills Options.
template <class Options, auto Check, class... Ps>
struct ParamTable {
  using options_type = Options;
  static constexpr size_t size = sizeof...(Ps);

  sonda_param_spec specs[sizeof...(Ps) == 0 ? 1 : sizeof...(Ps)];
  std::tuple<Ps...> params;

  /// Options from a parameters object: host-normalised JSON, or partial JSON
  /// from a test or driver (absent parameters take their defaults), then the
  /// table's cross-parameter Check. Throws StepError kind "invalid_param"
  /// naming the parameter.
  Options bind(const json& j) const {
    static const json kEmpty = json::object();
    const json& obj = j.is_null() ? kEmpty : j;
    if (!obj.is_object()) {
      throw std::invalid_argument("parameters must be a JSON object, got " + detail::shown(j));
    }
    Options o{};
    std::apply([&](const auto&... p) { (p.fill(o, obj), ...); }, params);
    if constexpr (Check != nullptr) {
      Check(o);
    }
    return o;
  }

  /// Calls f(param) for each parameter (tests compare fields through it).
  template <class F>
  void for_each(F&& f) const {
    std::apply([&](const auto&... p) { (f(p), ...); }, params);
  }
};

namespace detail {
template <class T>
constexpr auto as_tuple(const T& p) {
  return std::tuple<T>(p);
}
template <class... Ts>
constexpr auto as_tuple(const std::tuple<Ts...>& group) {
  return group;
}
}  // namespace detail

/// Several params to reuse in more than one table (they may bind members of
/// a base class or of a nested struct through a member path).
template <class... Ps>
consteval std::tuple<Ps...> param_group(Ps... ps) {
  return {ps...};
}

/// The table of an action's parameters bound to Options. Arguments are
/// sonda::param<...>(...) and sonda::param_group(...)s, in the order
/// `sonda plugins describe` lists them. `Check`, when given, is
/// `void(const Options&)`: the rules across parameters the spec cannot say
/// ("bidir cannot be combined with reverse"), run after every bind; it
/// fails with sonda::invalid_param.
template <class Options, auto Check = nullptr, class... Items>
consteval auto params(Items... items) {
  static_assert(std::is_null_pointer_v<decltype(Check)> || std::is_invocable_v<decltype(Check), const Options&>,
                "Check is void(const Options&)");
  auto all = std::tuple_cat(detail::as_tuple(items)...);
  return std::apply(
      [](auto... ps) {
        if (!(std::is_base_of_v<typename decltype(ps)::owner, Options> && ...)) {
          detail::param_member_belongs_to_another_options_struct();
        }
        ParamTable<Options, Check, decltype(ps)...> t{{ps.spec...}, {ps...}};
        for (size_t i = 0; i < t.size; ++i) {
          for (size_t k = 0; k < i; ++k) {
            if (std::string_view(t.specs[i].name) == t.specs[k].name) {
              detail::param_name_is_used_twice();
            }
          }
        }
        return t;
      },
      all);
}

}  // namespace sonda

#endif  // SONDA_PARAMS_HPP_
