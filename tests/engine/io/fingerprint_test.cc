#include "engine/io/fingerprint.h"

#include <gtest/gtest.h>

namespace pvb {
namespace {

constexpr const char* kColons =
    "01:23:45:67:89:AB:CD:EF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:FE:DC:BA:98:76:54:32:"
    "10";
constexpr const char* kPlainLower =
    "0123456789abcdef00112233445566778899aabbccddeefffedcba9876543210";

TEST(Fingerprint, ParsesColonSeparated) {
  auto fp = parse_fingerprint(kColons);
  ASSERT_TRUE(fp.ok()) << fp.error().message();
  EXPECT_EQ((*fp)[0], 0x01);
  EXPECT_EQ((*fp)[5], 0xAB);
  EXPECT_EQ((*fp)[31], 0x10);
  EXPECT_EQ(format_fingerprint(*fp), kColons);
}

TEST(Fingerprint, ParsesPlainHexAnyCase) {
  auto lower = parse_fingerprint(kPlainLower);
  ASSERT_TRUE(lower.ok()) << lower.error().message();
  EXPECT_EQ(format_fingerprint(*lower), kColons);
  auto lower_colons = parse_fingerprint(
      "01:23:45:67:89:ab:cd:ef:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:fe:dc:ba:98:76:54:"
      "32:10");
  ASSERT_TRUE(lower_colons.ok());
  EXPECT_EQ(*lower_colons, *lower);
  auto padded = parse_fingerprint(std::string("  ") + kPlainLower + "\n");
  ASSERT_TRUE(padded.ok());
  EXPECT_EQ(*padded, *lower);
}

TEST(Fingerprint, RejectsWrongLength) {
  std::string short_hex(kPlainLower, 62);
  auto r = parse_fingerprint(short_hex);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::usage);
  EXPECT_NE(r.error().message().find("32 bytes"), std::string::npos);
  EXPECT_FALSE(parse_fingerprint(std::string(kPlainLower) + "00").ok());
  EXPECT_FALSE(parse_fingerprint(std::string(kColons) + ":00").ok());
  EXPECT_FALSE(parse_fingerprint("").ok());
  // SHA-1 sized (20 bytes), as older tools print.
  EXPECT_FALSE(
      parse_fingerprint("01:23:45:67:89:AB:CD:EF:00:11:22:33:44:55:66:77:88:99:AA:BB").ok());
}

TEST(Fingerprint, RejectsJunk) {
  std::string bad = kPlainLower;
  bad[10] = 'g';
  EXPECT_FALSE(parse_fingerprint(bad).ok());
  std::string bad_sep = kColons;
  bad_sep[2] = '-';  // one separator wrong, the rest colons
  EXPECT_FALSE(parse_fingerprint(bad_sep).ok());
  std::string spaces = kColons;
  for (char& c : spaces) {
    if (c == ':') c = ' ';
  }
  EXPECT_FALSE(parse_fingerprint(spaces).ok());
  EXPECT_FALSE(parse_fingerprint("sha256:0123").ok());
}

TEST(Fingerprint, Sha256OfBytes) {
  // SHA-256("abc"), FIPS 180-2 test vector.
  const uint8_t abc[] = {'a', 'b', 'c'};
  EXPECT_EQ(format_fingerprint(sha256_fingerprint(abc)),
            "BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:"
            "F2:00:15:AD");
}

}  // namespace
}  // namespace pvb
