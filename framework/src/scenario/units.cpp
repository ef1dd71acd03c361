// Parsing of durations, sizes and rates. Numbers are parsed as decimal
// integer + fraction digits and scaled in 128-bit integers, so "1.5GiB" and
// "9223372036s" are exact or refused, never silently rounded by a double.
#include "units.hpp"

#include <array>
#include <cctype>
#include <optional>
#include <utility>

namespace sonda::units {
namespace {

using u128 = unsigned __int128;

constexpr char kDurationHelp[] = "expected a number followed by ns, us, ms, s, m or h";
constexpr char kSizeHelp[] =
    "expected a number followed by B, kB, MB, GB, TB, KiB, MiB, GiB or TiB (a bare number is "
    "bytes)";
constexpr char kRateHelp[] =
    "expected a number followed by bit, kbit, Mbit, Gbit (or bps, kbps, Mbps, Gbps), Bps, kBps, "
    "MBps, GBps (bytes/s), pps, kpps, Mpps, or 'unlimited'";

/// A non-negative decimal number as written: whole + frac / 10^frac_digits.
struct Decimal {
  uint64_t whole = 0;
  uint64_t frac = 0;
  uint64_t frac_scale = 1;  // 10^frac_digits
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) {
    s.remove_prefix(1);
  }
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) {
    s.remove_suffix(1);
  }
  return s;
}

/// Splits "1.5 GiB" into the number and the unit ("GiB"). nullopt when the
/// text does not start with a well-formed number.
std::optional<std::pair<Decimal, std::string_view>> split_number(std::string_view text) {
  text = trim(text);
  Decimal d;
  size_t i = 0;
  size_t whole_digits = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    if (whole_digits >= 18) {
      return std::nullopt;  // beyond any quantity we accept; avoids overflow
    }
    d.whole = d.whole * 10 + static_cast<uint64_t>(text[i] - '0');
    ++whole_digits;
    ++i;
  }
  size_t frac_digits = 0;
  if (i < text.size() && text[i] == '.') {
    ++i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      if (frac_digits < 18) {
        d.frac = d.frac * 10 + static_cast<uint64_t>(text[i] - '0');
        d.frac_scale *= 10;
        ++frac_digits;
      }
      ++i;
    }
    if (frac_digits == 0) {
      return std::nullopt;  // "5." is a typo, not a number
    }
  }
  if (whole_digits == 0 && frac_digits == 0) {
    return std::nullopt;
  }
  return std::make_pair(d, trim(text.substr(i)));
}

/// d * multiplier, rounded half up. nullopt when it does not fit int64.
/// `exact` is cleared when rounding was needed.
std::optional<int64_t> scale(const Decimal& d, uint64_t multiplier, bool* exact) {
  const u128 whole = static_cast<u128>(d.whole) * multiplier;
  const u128 frac_num = static_cast<u128>(d.frac) * multiplier;
  const u128 frac_part = frac_num / d.frac_scale;
  const u128 remainder = frac_num % d.frac_scale;
  u128 total = whole + frac_part;
  if (remainder != 0) {
    *exact = false;
    if (remainder * 2 >= d.frac_scale) {
      ++total;
    }
  }
  if (total > static_cast<u128>(INT64_MAX)) {
    return std::nullopt;
  }
  return static_cast<int64_t>(total);
}

std::string bad(std::string_view what, std::string_view text, std::string_view help) {
  return "bad " + std::string(what) + " '" + std::string(text) + "': " + std::string(help);
}

struct UnitFactor {
  std::string_view unit;
  uint64_t multiplier;
};

constexpr std::array<UnitFactor, 7> kDurationUnits{{{"ns", 1},
                                                    {"us", 1'000},
                                                    {"\xC2\xB5s", 1'000},  // µs
                                                    {"ms", 1'000'000},
                                                    {"s", 1'000'000'000},
                                                    {"m", 60'000'000'000},
                                                    {"h", 3'600'000'000'000}}};

constexpr std::array<UnitFactor, 16> kSizeUnits{{{"", 1},
                                                {"B", 1},
                                                {"k", 1'000},
                                                {"K", 1'000},
                                                {"kB", 1'000},
                                                {"KB", 1'000},
                                                {"KiB", 1ull << 10},
                                                {"M", 1'000'000},
                                                {"MB", 1'000'000},
                                                {"MiB", 1ull << 20},
                                                {"G", 1'000'000'000},
                                                {"GB", 1'000'000'000},
                                                {"GiB", 1ull << 30},
                                                {"T", 1'000'000'000'000},
                                                {"TB", 1'000'000'000'000},
                                                {"TiB", 1ull << 40}}};

template <size_t N>
std::optional<uint64_t> find_factor(const std::array<UnitFactor, N>& table, std::string_view unit) {
  for (const auto& u : table) {
    if (u.unit == unit) {
      return u.multiplier;
    }
  }
  return std::nullopt;
}

/// What a rate's unit means: a multiplier into bits/s or packets/s.
struct RateUnit {
  bool packets = false;
  uint64_t multiplier = 1;
};

/// "Mbit" -> bits x1e6, "MBps" -> bits x8e6, "kpps" -> packets x1e3, "G" -> bits x1e9.
/// The SI prefix is case-insensitive (no one means milli-bits); b/B is not.
std::optional<RateUnit> parse_rate_unit(std::string_view unit) {
  uint64_t prefix = 1;
  if (!unit.empty()) {
    switch (unit.front()) {
      case 'k': case 'K': prefix = 1'000; break;
      case 'm': case 'M': prefix = 1'000'000; break;
      case 'g': case 'G': prefix = 1'000'000'000; break;
      case 't': case 'T': prefix = 1'000'000'000'000; break;
      default: break;
    }
  }
  std::string_view rest = prefix == 1 ? unit : unit.substr(1);
  bool binary = false;
  if (prefix != 1 && !rest.empty() && rest.front() == 'i') {
    binary = true;  // KiBps, MiB/s: powers of 1024, only for bytes
    rest.remove_prefix(1);
    prefix = prefix == 1'000 ? 1ull << 10
             : prefix == 1'000'000 ? 1ull << 20
             : prefix == 1'000'000'000 ? 1ull << 30
                                       : 1ull << 40;
  }
  if (!binary && (rest.empty() || rest == "bit" || rest == "bps" || rest == "bit/s" ||
                  rest == "b/s")) {
    return RateUnit{false, prefix};
  }
  if (rest == "Bps" || rest == "B/s") {
    return RateUnit{false, prefix * 8};
  }
  if (!binary && rest == "pps") {
    return RateUnit{true, prefix};
  }
  return std::nullopt;
}

template <size_t N>
std::string format_exact(int64_t value, const std::array<UnitFactor, N>& table) {
  // The table is ordered from the smallest unit; pick the largest exact one.
  std::string best = std::to_string(value) + std::string(table.front().unit);
  if (value == 0) {
    return best;
  }
  for (const auto& u : table) {
    if (u.multiplier != 0 && value % static_cast<int64_t>(u.multiplier) == 0) {
      best = std::to_string(value / static_cast<int64_t>(u.multiplier)) + std::string(u.unit);
    }
  }
  return best;
}

}  // namespace

int64_t parse_duration_ns(std::string_view text) {
  auto parsed = split_number(text);
  if (!parsed) {
    throw UnitError(bad("duration", text, kDurationHelp));
  }
  auto [number, unit] = *parsed;
  if (unit.empty()) {
    if (number.whole == 0 && number.frac == 0) {
      return 0;
    }
    throw UnitError(bad("duration", text, std::string(kDurationHelp) +
                                              " (a bare number is ambiguous)"));
  }
  auto multiplier = find_factor(kDurationUnits, unit);
  if (!multiplier) {
    throw UnitError(bad("duration", text, kDurationHelp));
  }
  bool exact = true;
  auto ns = scale(number, *multiplier, &exact);
  if (!ns) {
    throw UnitError(bad("duration", text, "too large (at most about 292 years)"));
  }
  return *ns;
}

int64_t parse_size_bytes(std::string_view text) {
  auto parsed = split_number(text);
  if (!parsed) {
    throw UnitError(bad("size", text, kSizeHelp));
  }
  auto [number, unit] = *parsed;
  auto multiplier = find_factor(kSizeUnits, unit);
  if (!multiplier) {
    throw UnitError(bad("size", text, kSizeHelp));
  }
  bool exact = true;
  auto bytes = scale(number, *multiplier, &exact);
  if (!bytes) {
    throw UnitError(bad("size", text, "too large"));
  }
  if (!exact) {
    throw UnitError(bad("size", text, "not a whole number of bytes"));
  }
  return *bytes;
}

nlohmann::json parse_rate(std::string_view text) {
  const std::string_view trimmed = trim(text);
  if (trimmed == "unlimited") {
    return {{"unlimited", true}};
  }
  auto parsed = split_number(trimmed);
  if (!parsed) {
    throw UnitError(bad("rate", text, kRateHelp));
  }
  auto [number, unit] = *parsed;
  if (unit.empty() && number.whole == 0 && number.frac == 0) {
    return {{"unlimited", true}};
  }
  auto rate_unit = parse_rate_unit(unit);
  if (!rate_unit) {
    throw UnitError(bad("rate", text, kRateHelp));
  }
  bool exact = true;
  auto value = scale(number, rate_unit->multiplier, &exact);
  if (!value) {
    throw UnitError(bad("rate", text, "too large"));
  }
  if (*value == 0) {
    throw UnitError(bad("rate", text, "rounds to zero; write 0 or 'unlimited' for no limit"));
  }
  return {{rate_unit->packets ? "packets_per_sec" : "bits_per_sec", *value}};
}

nlohmann::json parse_quantity(std::string_view text) {
  auto parsed = split_number(text);
  if (parsed && parsed->second.empty()) {
    const Decimal& d = parsed->first;
    if (d.frac == 0) {
      return static_cast<int64_t>(d.whole);
    }
    return static_cast<double>(d.whole) +
           static_cast<double>(d.frac) / static_cast<double>(d.frac_scale);
  }
  try {
    return parse_duration_ns(text);
  } catch (const UnitError&) {
  }
  try {
    return parse_size_bytes(text);
  } catch (const UnitError&) {
  }
  try {
    nlohmann::json rate = parse_rate(text);
    if (!rate.contains("unlimited")) {
      return rate.begin().value();
    }
  } catch (const UnitError&) {
  }
  throw UnitError("bad quantity '" + std::string(text) +
                  "': expected a number, optionally with a duration (ms), size (MiB) or rate "
                  "(Mbit, kpps) unit");
}

std::string format_duration_ns(int64_t ns) {
  static constexpr std::array<UnitFactor, 6> kUnits{{{"ns", 1},
                                                      {"us", 1'000},
                                                      {"ms", 1'000'000},
                                                      {"s", 1'000'000'000},
                                                      {"m", 60'000'000'000},
                                                      {"h", 3'600'000'000'000}}};
  return format_exact(ns, kUnits);
}

std::string format_size_bytes(int64_t bytes) {
  static constexpr std::array<UnitFactor, 9> kUnits{{{"B", 1},
                                                     {"kB", 1'000},
                                                     {"KiB", 1ull << 10},
                                                     {"MB", 1'000'000},
                                                     {"MiB", 1ull << 20},
                                                     {"GB", 1'000'000'000},
                                                     {"GiB", 1ull << 30},
                                                     {"TB", 1'000'000'000'000},
                                                     {"TiB", 1ull << 40}}};
  return format_exact(bytes, kUnits);
}

std::string format_rate(const nlohmann::json& rate) {
  if (!rate.is_object() || rate.contains("unlimited")) {
    return "unlimited";
  }
  if (rate.contains("packets_per_sec") && rate["packets_per_sec"].is_number_integer()) {
    static constexpr std::array<UnitFactor, 3> kUnits{
        {{"pps", 1}, {"kpps", 1'000}, {"Mpps", 1'000'000}}};
    return format_exact(rate["packets_per_sec"].get<int64_t>(), kUnits);
  }
  if (rate.contains("bits_per_sec") && rate["bits_per_sec"].is_number_integer()) {
    static constexpr std::array<UnitFactor, 5> kUnits{{{"bit", 1},
                                                       {"kbit", 1'000},
                                                       {"Mbit", 1'000'000},
                                                       {"Gbit", 1'000'000'000},
                                                       {"Tbit", 1'000'000'000'000}}};
    return format_exact(rate["bits_per_sec"].get<int64_t>(), kUnits);
  }
  return rate.dump();
}

}  // namespace sonda::units
