#include "tests/fake_vm/rfb_protocol.h"

#include <gtest/gtest.h>

namespace pvb {
namespace {

TEST(RfbVersion, ParsesKnownVersions) {
  EXPECT_EQ(parse_rfb_version("RFB 003.008\n"), RfbVersion::v3_8);
  EXPECT_EQ(parse_rfb_version("RFB 003.007\n"), RfbVersion::v3_7);
  EXPECT_EQ(parse_rfb_version("RFB 003.003\n"), RfbVersion::v3_3);
  for (RfbVersion v : {RfbVersion::v3_3, RfbVersion::v3_7, RfbVersion::v3_8}) {
    EXPECT_EQ(parse_rfb_version(rfb_version_string(v)), v);
    EXPECT_EQ(rfb_version_string(v).size(), kRfbVersionLength);
  }
}

TEST(RfbVersion, OtherVersionsMapAsTheRfcSays) {
  EXPECT_EQ(parse_rfb_version("RFB 003.005\n"), RfbVersion::v3_3);  // RFC 6143 7.1.1
  EXPECT_EQ(parse_rfb_version("RFB 003.889\n"), RfbVersion::v3_8);  // Apple Remote Desktop
  EXPECT_EQ(parse_rfb_version("RFB 004.001\n"), RfbVersion::v3_8);
}

TEST(RfbVersion, RejectsMalformed) {
  EXPECT_FALSE(parse_rfb_version("RFB 003.008"));
  EXPECT_FALSE(parse_rfb_version("RFB 003.008\r"));
  EXPECT_FALSE(parse_rfb_version("RFB 0x3.008\n"));
  EXPECT_FALSE(parse_rfb_version("SSH-2.0-ab\r\n"));
  EXPECT_FALSE(parse_rfb_version("GET / HTTP/1"));
}

TEST(PixelFormat, WireRoundTrip) {
  uint8_t wire[PixelFormat::kWireLength];
  PixelFormat::rgb888().write(wire);
  const uint8_t expected[] = {32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0};
  EXPECT_EQ(0, memcmp(wire, expected, sizeof expected));
  PixelFormat f = PixelFormat::rgb565();
  f.big_endian = true;
  f.write(wire);
  EXPECT_EQ(PixelFormat::read(wire), f);
}

TEST(PixelFormat, EncodesAndDecodes) {
  uint8_t out[4];
  PixelFormat::rgb888().encode(0x123456, out);
  EXPECT_EQ(out[0], 0x56);
  EXPECT_EQ(out[1], 0x34);
  EXPECT_EQ(out[2], 0x12);
  EXPECT_EQ(out[3], 0x00);
  EXPECT_EQ(PixelFormat::rgb888().decode(out), 0x123456u);

  PixelFormat f16 = PixelFormat::rgb565();
  f16.encode(0xFF0000, out);
  EXPECT_EQ(out[0], 0x00);
  EXPECT_EQ(out[1], 0xF8);
  EXPECT_EQ(f16.decode(out), 0xFF0000u);
  f16.encode(0xFFFFFF, out);
  EXPECT_EQ(get_u16(out), 0xFFFF);
  f16.big_endian = true;
  f16.encode(0x0000FF, out);
  EXPECT_EQ(out[0], 0x00);
  EXPECT_EQ(out[1], 0x1F);
}

TEST(PixelFormat, RejectsWhatItCannotProduce) {
  EXPECT_FALSE(PixelFormat::rgb888().unsupported_reason());
  EXPECT_FALSE(PixelFormat::rgb565().unsupported_reason());
  PixelFormat f = PixelFormat::rgb888();
  f.bits_per_pixel = 24;
  EXPECT_TRUE(f.unsupported_reason());
  f = PixelFormat::rgb888();
  f.true_colour = false;
  EXPECT_TRUE(f.unsupported_reason());
  f = PixelFormat::rgb565();
  f.red_shift = 12;  // 5 bits at 12 overflow 16
  EXPECT_TRUE(f.unsupported_reason());
  f = PixelFormat::rgb888();
  f.blue_max = 0;
  EXPECT_TRUE(f.unsupported_reason());
}

TEST(ByteHelpers, BigEndianAndPeekAcrossSlices) {
  uint8_t b[4];
  put_u32(b, 0x01020304);
  EXPECT_EQ(b[0], 1);
  EXPECT_EQ(get_u32(b), 0x01020304u);
  put_u16(b, 0xBEEF);
  EXPECT_EQ(get_u16(b), 0xBEEF);

  ByteChain chain;
  chain.append("ab");
  ByteChain tail("cdef");
  chain.move_from(tail);
  uint64_t copied_before = copy_stats().bytes;
  uint8_t out[5];
  take_bytes(chain, out, 5);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(out), 5), "abcde");
  EXPECT_EQ(chain.to_string(), "f");
  EXPECT_EQ(copy_stats().bytes, copied_before + 1);  // only to_string counted
}

}  // namespace
}  // namespace pvb
