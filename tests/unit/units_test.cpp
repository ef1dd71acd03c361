// Units for people: every accepted spelling, the edges, and the error text.
#include "units.hpp"

#include <gtest/gtest.h>

namespace sonda::units {
namespace {

using nlohmann::json;

TEST(ParseDuration, ConvertsEveryUnitToNanoseconds) {
  EXPECT_EQ(parse_duration_ns("100ns"), 100);
  EXPECT_EQ(parse_duration_ns("250us"), 250'000);
  EXPECT_EQ(parse_duration_ns("500ms"), 500'000'000);
  EXPECT_EQ(parse_duration_ns("5s"), 5'000'000'000);
  EXPECT_EQ(parse_duration_ns("2m"), 120'000'000'000);
  EXPECT_EQ(parse_duration_ns("1h"), 3'600'000'000'000);
}

TEST(ParseDuration, AcceptsFractionsExactly) {
  EXPECT_EQ(parse_duration_ns("1.5s"), 1'500'000'000);
  EXPECT_EQ(parse_duration_ns("0.25ms"), 250'000);
  EXPECT_EQ(parse_duration_ns(".5s"), 500'000'000);
  EXPECT_EQ(parse_duration_ns("1.0000000015s"), 1'000'000'002);  // rounds half up
}

TEST(ParseDuration, AcceptsZeroWithoutUnitAndSpacesAroundUnit) {
  EXPECT_EQ(parse_duration_ns("0"), 0);
  EXPECT_EQ(parse_duration_ns(" 5 s "), 5'000'000'000);
}

TEST(ParseDuration, RejectsWithHelpfulMessage) {
  try {
    parse_duration_ns("5 sec");
    FAIL() << "accepted '5 sec'";
  } catch (const UnitError& e) {
    EXPECT_STREQ(e.what(),
                 "bad duration '5 sec': expected a number followed by ns, us, ms, s, m or h");
  }
  EXPECT_THROW(parse_duration_ns("5"), UnitError);
  EXPECT_THROW(parse_duration_ns("-5s"), UnitError);
  EXPECT_THROW(parse_duration_ns("s"), UnitError);
  EXPECT_THROW(parse_duration_ns(""), UnitError);
  EXPECT_THROW(parse_duration_ns("5.s"), UnitError);
  EXPECT_THROW(parse_duration_ns("1e3s"), UnitError);
}

TEST(ParseDuration, RejectsOverflowInsteadOfWrapping) {
  EXPECT_EQ(parse_duration_ns("9223372036s"), 9'223'372'036'000'000'000);
  EXPECT_THROW(parse_duration_ns("9223372037s"), UnitError);
  EXPECT_THROW(parse_duration_ns("99999999999999999999h"), UnitError);
}

TEST(ParseSize, ConvertsSiAndBinaryUnits) {
  EXPECT_EQ(parse_size_bytes("64B"), 64);
  EXPECT_EQ(parse_size_bytes("1000"), 1000);
  EXPECT_EQ(parse_size_bytes("1kB"), 1000);
  EXPECT_EQ(parse_size_bytes("1k"), 1000);
  EXPECT_EQ(parse_size_bytes("128KiB"), 131072);
  EXPECT_EQ(parse_size_bytes("1MB"), 1'000'000);
  EXPECT_EQ(parse_size_bytes("1M"), 1'000'000);
  EXPECT_EQ(parse_size_bytes("2MiB"), 2 * 1048576);
  EXPECT_EQ(parse_size_bytes("1.5GiB"), 1610612736);
  EXPECT_EQ(parse_size_bytes("1G"), 1'000'000'000);
  EXPECT_EQ(parse_size_bytes("1TiB"), int64_t{1} << 40);
}

TEST(ParseSize, RejectsFractionalBytesAndUnknownUnits) {
  EXPECT_THROW(parse_size_bytes("1.5B"), UnitError);
  EXPECT_THROW(parse_size_bytes("64b"), UnitError);  // bits are not a size
  EXPECT_THROW(parse_size_bytes("64 bytes"), UnitError);
  try {
    parse_size_bytes("12Q");
    FAIL();
  } catch (const UnitError& e) {
    EXPECT_STREQ(e.what(),
                 "bad size '12Q': expected a number followed by B, kB, MB, GB, TB, KiB, MiB, GiB "
                 "or TiB (a bare number is bytes)");
  }
}

TEST(ParseRate, ConvertsBitsBytesAndPackets) {
  EXPECT_EQ(parse_rate("100Mbit"), (json{{"bits_per_sec", 100'000'000}}));
  EXPECT_EQ(parse_rate("100Mbps"), (json{{"bits_per_sec", 100'000'000}}));
  EXPECT_EQ(parse_rate("1Gbps"), (json{{"bits_per_sec", 1'000'000'000}}));
  EXPECT_EQ(parse_rate("1G"), (json{{"bits_per_sec", 1'000'000'000}}));
  EXPECT_EQ(parse_rate("500kbit"), (json{{"bits_per_sec", 500'000}}));
  EXPECT_EQ(parse_rate("2.5Gbit/s"), (json{{"bits_per_sec", 2'500'000'000}}));
  EXPECT_EQ(parse_rate("1000"), (json{{"bits_per_sec", 1000}}));
  EXPECT_EQ(parse_rate("50kpps"), (json{{"packets_per_sec", 50'000}}));
  EXPECT_EQ(parse_rate("10pps"), (json{{"packets_per_sec", 10}}));
}

TEST(ParseRate, TreatsCapitalBAsBytesPerSecond) {
  EXPECT_EQ(parse_rate("12MBps"), (json{{"bits_per_sec", 96'000'000}}));
  EXPECT_EQ(parse_rate("12MB/s"), (json{{"bits_per_sec", 96'000'000}}));
  EXPECT_EQ(parse_rate("1MiB/s"), (json{{"bits_per_sec", 8 * 1048576}}));
  EXPECT_EQ(parse_rate("100Bps"), (json{{"bits_per_sec", 800}}));
}

TEST(ParseRate, ZeroAndUnlimitedMeanNoLimit) {
  EXPECT_EQ(parse_rate("unlimited"), (json{{"unlimited", true}}));
  EXPECT_EQ(parse_rate("0"), (json{{"unlimited", true}}));
}

TEST(ParseRate, RejectsUnknownUnits) {
  EXPECT_THROW(parse_rate("100Mbytes"), UnitError);
  EXPECT_THROW(parse_rate("fast"), UnitError);
  EXPECT_THROW(parse_rate("1Mipps"), UnitError);
  EXPECT_THROW(parse_rate("0.0001bit"), UnitError);
}

TEST(ParseQuantity, NormalisesAnyUnitForExpectations) {
  EXPECT_EQ(parse_quantity("2ms"), json(2'000'000));
  EXPECT_EQ(parse_quantity("1MB"), json(1'000'000));
  EXPECT_EQ(parse_quantity("100Mbit"), json(100'000'000));
  EXPECT_EQ(parse_quantity("50kpps"), json(50'000));
  EXPECT_EQ(parse_quantity("0.001"), json(0.001));
  EXPECT_EQ(parse_quantity("42"), json(42));
  EXPECT_THROW(parse_quantity("12 parsecs"), UnitError);
}

TEST(FormatUnits, PicksLargestExactUnit) {
  EXPECT_EQ(format_duration_ns(1'500'000'000), "1500ms");
  EXPECT_EQ(format_duration_ns(120'000'000'000), "2m");
  EXPECT_EQ(format_duration_ns(7), "7ns");
  EXPECT_EQ(format_duration_ns(0), "0ns");
  EXPECT_EQ(format_size_bytes(131072), "128KiB");
  EXPECT_EQ(format_size_bytes(1'000'000), "1MB");
  EXPECT_EQ(format_size_bytes(65), "65B");
  EXPECT_EQ(format_rate(json{{"bits_per_sec", 100'000'000}}), "100Mbit");
  EXPECT_EQ(format_rate(json{{"packets_per_sec", 50'000}}), "50kpps");
  EXPECT_EQ(format_rate(json{{"unlimited", true}}), "unlimited");
}

TEST(FormatUnits, RoundTripsThroughParse) {
  for (const char* text : {"250us", "3h", "17ms", "128KiB", "3GB", "9B"}) {
    const std::string s = text;
    if (s.back() == 'B') {
      EXPECT_EQ(format_size_bytes(parse_size_bytes(s)), s);
    } else {
      EXPECT_EQ(format_duration_ns(parse_duration_ns(s)), s);
    }
  }
}

}  // namespace
}  // namespace sonda::units
