// Units for people: the text a user writes in a scenario ("500ms", "128KiB",
// "100Mbit") turned into the integers plugins receive (see abi.h), and back
// into short text for messages. Used by scenario validation and the runner.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>

namespace sonda::units {

/// Text that is not a valid quantity. what() is the complete message, e.g.
/// "bad duration '5 sec': expected a number followed by ns, us, ms, s, m or h".
class UnitError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// "500ms", "5s", "2m", "1h", "250us", "100ns", "1.5s" -> nanoseconds.
/// A bare number is accepted only for 0. Throws UnitError.
int64_t parse_duration_ns(std::string_view text);

/// "64B", "128KiB", "1MB", "1.5GiB", "1000" (bare number = bytes) -> bytes.
/// k/kB/K/KB/M/MB/G/GB/T/TB are powers of 1000, KiB/MiB/GiB/TiB of 1024.
/// The result must be a whole number of bytes. Throws UnitError.
int64_t parse_size_bytes(std::string_view text);

/// "100Mbit", "100Mbps", "1Gbps", "1G", "500kbit", "50kpps", "10pps",
/// "12MBps" / "12MB/s" (bytes per second, x8), "unlimited" or "0" ->
/// {"bits_per_sec":N} | {"packets_per_sec":N} | {"unlimited":true}.
/// A bare number is bits per second. Throws UnitError.
nlohmann::json parse_rate(std::string_view text);

/// A number with an optional unit of any kind, as written in `expect:`
/// ("2ms" -> 2000000, "1MB" -> 1000000, "100Mbit" -> 100000000, "0.5" -> 0.5).
/// Tries duration, then size, then rate. The result is an integer JSON number
/// when it is whole. Throws UnitError naming all three forms.
nlohmann::json parse_quantity(std::string_view text);

/// Nanoseconds in the largest unit that shows them exactly: 1500000000 -> "1500ms".
std::string format_duration_ns(int64_t ns);

/// Bytes in the largest unit that shows them exactly: 131072 -> "128KiB".
std::string format_size_bytes(int64_t bytes);

/// A rate in abi.h encoding as short text: {"bits_per_sec":1e8} -> "100Mbit".
std::string format_rate(const nlohmann::json& rate);

}  // namespace sonda::units
