#include "engine/rfb/vnc_auth.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace pvb {
namespace {

std::string hex(std::span<const uint8_t> bytes) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (uint8_t b : bytes) {
    s += digits[b >> 4];
    s += digits[b & 15];
  }
  return s;
}

std::array<uint8_t, 16> from_hex16(std::string_view h) {
  std::array<uint8_t, 16> out{};
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<uint8_t>(std::stoi(std::string(h.substr(2 * i, 2)), nullptr, 16));
  }
  return out;
}

std::string response(std::string_view password, std::string_view challenge_hex) {
  std::array<uint8_t, 16> challenge = from_hex16(challenge_hex);
  return hex(vnc_auth_response(password, challenge));
}

// Expected values computed independently with OpenSSL's DES (legacy provider), keyed with the
// password bytes bit-reversed:  openssl enc -des-ecb -nopad -K <reversed key hex>.
TEST(VncAuth, MatchesIndependentDesVectors) {
  EXPECT_EQ(response("password", "000102030405060708090a0b0c0d0e0f"),
            "b866924125c8eebb9debc1db61c538e2");
  EXPECT_EQ(response("pw", "ffeeddccbbaa99887766554433221100"), "6284e44d7d6a0f2a1650914febb2bfee");
  EXPECT_EQ(response("", "0123456789abcdef0123456789abcdef"), "617b3a0ce8f07100617b3a0ce8f07100");
}

TEST(VncAuth, OnlyTheFirstEightBytesOfThePasswordCount) {
  const char* zero = "00000000000000000000000000000000";
  EXPECT_EQ(response("12345678", zero), "d29f6e7f0456f8ded29f6e7f0456f8de");
  EXPECT_EQ(response("12345678tail", zero), response("12345678", zero));
  EXPECT_NE(response("1234567", zero), response("12345678", zero));
}

TEST(VncAuth, EachChallengeBlockIsEncryptedSeparately) {
  // ECB: equal halves give equal halves, and changing one half leaves the other alone.
  std::string same = response("key",
                              "0011223344556677"
                              "0011223344556677");
  EXPECT_EQ(same.substr(0, 16), same.substr(16));
  std::string other = response("key",
                               "0011223344556677"
                               "8899aabbccddeeff");
  EXPECT_EQ(other.substr(0, 16), same.substr(0, 16));
  EXPECT_NE(other.substr(16), same.substr(16));
}

// Expected values from tightvncpasswd:  printf PASSWORD | vncpasswd -f | xxd -p
TEST(VncAuth, PasswordFileMatchesVncpasswd) {
  EXPECT_EQ(hex(vnc_password_file_bytes("password")), "dbd83cfd727a1458");
  EXPECT_EQ(hex(vnc_password_file_bytes("secret")), "2e2dbf576eb06c9e");
  EXPECT_EQ(hex(vnc_password_file_bytes("password-is-longer")), "dbd83cfd727a1458");
}

// The same check live against the installed vncpasswd, with a password not hard-coded above.
TEST(VncAuth, PasswordFileMatchesInstalledVncpasswd) {
  if (std::system("command -v vncpasswd >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "vncpasswd is not installed";
  }
  FILE* p = popen("printf 'Zq9!x' | vncpasswd -f", "r");
  ASSERT_NE(p, nullptr);
  uint8_t buf[16];
  size_t n = fread(buf, 1, sizeof buf, p);
  ASSERT_EQ(pclose(p), 0);
  ASSERT_EQ(n, 8u);
  EXPECT_EQ(hex(std::span<const uint8_t>(buf, n)), hex(vnc_password_file_bytes("Zq9!x")));
}

}  // namespace
}  // namespace pvb
