#include "tests/mock_pveproxy/totp.h"

#include <gtest/gtest.h>

namespace pvb::mock {
namespace {

constexpr std::string_view kRfcSecret = "12345678901234567890";

TEST(Base32, DecodesRfc4648Vectors) {
  EXPECT_EQ(base32_decode(""), "");
  EXPECT_EQ(base32_decode("MY======"), "f");
  EXPECT_EQ(base32_decode("MZXQ===="), "fo");
  EXPECT_EQ(base32_decode("MZXW6==="), "foo");
  EXPECT_EQ(base32_decode("MZXW6YQ="), "foob");
  EXPECT_EQ(base32_decode("MZXW6YTB"), "fooba");
  EXPECT_EQ(base32_decode("MZXW6YTBOI======"), "foobar");
}

TEST(Base32, AcceptsLowercaseAndSpacesAsAppsShowThem) {
  EXPECT_EQ(base32_decode("gezd gnbv gy3t qojq gezd gnbv gy3t qojq"), kRfcSecret);
}

TEST(Base32, RejectsForeignCharactersAndTruncation) {
  EXPECT_FALSE(base32_decode("MZXW1"));  // '1' is not in the alphabet
  EXPECT_FALSE(base32_decode("MZ!W"));
  EXPECT_FALSE(base32_decode("MZ"));  // 10 bits: the 2 left over are not zero padding
}

TEST(Hotp, MatchesRfc4226AppendixD) {
  const uint32_t expected[] = {755224, 287082, 359152, 969429, 338314,
                               254676, 287922, 162583, 399871, 520489};
  for (uint64_t counter = 0; counter < 10; ++counter) {
    EXPECT_EQ(hotp(kRfcSecret, counter, 6), expected[counter]) << "counter " << counter;
  }
}

TEST(Totp, MatchesRfc6238Sha1Vectors) {
  struct Vector {
    int64_t time;
    const char* code;
  };
  const Vector vectors[] = {{59, "94287082"},         {1111111109, "07081804"},
                            {1111111111, "14050471"}, {1234567890, "89005924"},
                            {2000000000, "69279037"}, {20000000000, "65353130"}};
  TotpParams eight_digits;
  eight_digits.digits = 8;
  for (const Vector& v : vectors) {
    EXPECT_EQ(totp_code(kRfcSecret, v.time, eight_digits), v.code) << "time " << v.time;
  }
}

TEST(Totp, SixDigitCodesAreZeroPadded) {
  // RFC 6238's 1111111109 vector reduces to 081804 with six digits.
  EXPECT_EQ(totp_code(kRfcSecret, 1111111109), "081804");
}

TEST(Totp, VerifyAcceptsOneStepEitherSide) {
  const int64_t now = 1700000000;
  EXPECT_TRUE(totp_verify(kRfcSecret, totp_code(kRfcSecret, now), now));
  EXPECT_TRUE(totp_verify(kRfcSecret, totp_code(kRfcSecret, now - 30), now));
  EXPECT_TRUE(totp_verify(kRfcSecret, totp_code(kRfcSecret, now + 30), now));
  EXPECT_FALSE(totp_verify(kRfcSecret, totp_code(kRfcSecret, now - 60), now));
  EXPECT_FALSE(totp_verify(kRfcSecret, totp_code(kRfcSecret, now + 60), now));
}

TEST(Totp, VerifyRejectsMalformedCodes) {
  const int64_t now = 1700000000;
  std::string code = totp_code(kRfcSecret, now);
  EXPECT_FALSE(totp_verify(kRfcSecret, code.substr(1), now));
  EXPECT_FALSE(totp_verify(kRfcSecret, code + "0", now));
  EXPECT_FALSE(totp_verify(kRfcSecret, "12a456", now));
  EXPECT_FALSE(totp_verify(kRfcSecret, "", now));
}

}  // namespace
}  // namespace pvb::mock
