#include "tests/fake_vm/framebuffer.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "tests/fake_vm/font5x7.h"

namespace pvb {
namespace {

std::vector<bool> glyph_bits(char c) {
  std::vector<bool> bits;
  for (int x = 0; x < kGlyphWidth; ++x) {
    for (int y = 0; y < kGlyphHeight; ++y) bits.push_back(glyph_pixel(c, x, y));
  }
  return bits;
}

TEST(Font5x7, EveryPrintableGlyphIsDrawnAndDistinct) {
  std::set<std::vector<bool>> seen;
  for (int c = 0x21; c <= 0x7E; ++c) {
    std::vector<bool> bits = glyph_bits(static_cast<char>(c));
    EXPECT_GT(std::count(bits.begin(), bits.end(), true), 0) << "empty glyph for " << char(c);
    EXPECT_TRUE(seen.insert(bits).second) << "glyph for '" << char(c) << "' repeats another";
  }
  std::vector<bool> space = glyph_bits(' ');
  EXPECT_EQ(std::count(space.begin(), space.end(), true), 0);
}

TEST(Font5x7, KnownShapesAndFallback) {
  // 'A': a peak on top, the crossbar in row 4, both legs down to row 6.
  EXPECT_FALSE(glyph_pixel('A', 0, 0));
  EXPECT_TRUE(glyph_pixel('A', 2, 0));
  EXPECT_TRUE(glyph_pixel('A', 0, 6));
  EXPECT_TRUE(glyph_pixel('A', 4, 6));
  EXPECT_TRUE(glyph_pixel('A', 2, 4));
  EXPECT_FALSE(glyph_pixel('A', 2, 3));
  EXPECT_FALSE(glyph_pixel('A', 2, 6));
  // 'T': the top row full, a stem in the middle column only.
  for (int x = 0; x < kGlyphWidth; ++x) EXPECT_TRUE(glyph_pixel('T', x, 0));
  EXPECT_TRUE(glyph_pixel('T', 2, 6));
  EXPECT_FALSE(glyph_pixel('T', 0, 6));
  // Outside the cell, and characters outside printable ASCII.
  EXPECT_FALSE(glyph_pixel('T', 5, 0));
  EXPECT_FALSE(glyph_pixel('T', 0, 7));
  EXPECT_EQ(glyph_bits('\x01'), glyph_bits('?'));
  EXPECT_EQ(glyph_bits('\xE9'), glyph_bits('?'));
}

TEST(Framebuffer, DrawTextScalesGlyphPixels) {
  Framebuffer fb(20, 20);
  fb.draw_text(1, 2, "T", 2, 0xABCDEF);
  // The top row of 'T' at scale 2 covers x 1..10, y 2..3.
  EXPECT_EQ(fb.at(1, 2), 0xABCDEFu);
  EXPECT_EQ(fb.at(10, 3), 0xABCDEFu);
  EXPECT_EQ(fb.at(11, 2), 0u);
  EXPECT_EQ(fb.at(1, 4), 0u);
  // The stem: middle column (x 5..6) down to row 6 (y 14..15).
  EXPECT_EQ(fb.at(5, 15), 0xABCDEFu);
  EXPECT_EQ(fb.at(5, 16), 0u);
  EXPECT_EQ(Framebuffer::text_width("TT", 2), 22);
  // Drawing off the edges is clipped, not a crash.
  fb.draw_text(-7, 15, "WWWW", 3, 0x111111);
}

TEST(Framebuffer, TestPatternHasBarsAndTheName) {
  Framebuffer fb = Framebuffer::test_pattern(640, 480, "web-01");
  EXPECT_EQ(fb.width(), 640);
  EXPECT_EQ(fb.height(), 480);
  EXPECT_EQ(fb.at(0, 0), 0xFFFFFFu);      // white bar
  EXPECT_EQ(fb.at(100, 10), 0xFFFF00u);   // yellow bar
  EXPECT_EQ(fb.at(639, 300), 0x000000u);  // black bar
  std::set<uint32_t> colours(fb.pixels().begin(), fb.pixels().end());
  EXPECT_GE(colours.size(), 10u);
  // The name is drawn in white in the panel below the bars.
  size_t text_pixels = 0;
  for (int y = 320; y < 480; ++y) {
    for (int x = 0; x < 640; ++x) text_pixels += fb.at(x, y) == 0xFFFFFF;
  }
  EXPECT_GT(text_pixels, 1000u);

  Framebuffer other = Framebuffer::test_pattern(640, 480, "db-02");
  EXPECT_NE(other.pixels(), fb.pixels());
}

TEST(Framebuffer, TinyAndLongNamesStillFit) {
  Framebuffer tiny = Framebuffer::test_pattern(3, 2, "a-very-long-guest-name");
  EXPECT_EQ(tiny.pixels().size(), 6u);
  Framebuffer narrow = Framebuffer::test_pattern(64, 48, std::string(200, 'x'));
  std::set<uint32_t> colours(narrow.pixels().begin(), narrow.pixels().end());
  EXPECT_GE(colours.size(), 8u);
}

TEST(Framebuffer, EncodeRectInEachFormat) {
  Framebuffer fb = Framebuffer::test_pattern(640, 480, "enc");
  ByteChain out;
  fb.encode_rect(PixelFormat::rgb888(), 0, 0, 640, 480, out);
  ASSERT_EQ(out.size(), 640u * 480 * 4);
  EXPECT_GT(out.slice_count(), 1u);  // spans many pooled blocks
  std::string bytes = out.to_string();
  for (int y : {0, 200, 479}) {
    for (int x : {0, 321, 639}) {
      uint8_t pix[4];
      PixelFormat::rgb888().encode(fb.at(x, y), pix);
      EXPECT_EQ(0, memcmp(bytes.data() + (y * 640 + x) * 4, pix, 4)) << x << "," << y;
    }
  }

  // A sub-rectangle, in the verbatim format and in a byte-swapped one: the same pixels.
  PixelFormat swapped = PixelFormat::rgb888();
  swapped.big_endian = true;
  ByteChain le, be;
  fb.encode_rect(PixelFormat::rgb888(), 317, 250, 7, 3, le);
  fb.encode_rect(swapped, 317, 250, 7, 3, be);
  ASSERT_EQ(le.size(), 7u * 3 * 4);
  std::string l = le.to_string(), b = be.to_string();
  for (size_t i = 0; i < 7 * 3; ++i) {
    EXPECT_EQ(PixelFormat::rgb888().decode(reinterpret_cast<const uint8_t*>(l.data()) + 4 * i),
              fb.at(317 + static_cast<int>(i % 7), 250 + static_cast<int>(i / 7)));
    EXPECT_EQ(swapped.decode(reinterpret_cast<const uint8_t*>(b.data()) + 4 * i),
              fb.at(317 + static_cast<int>(i % 7), 250 + static_cast<int>(i / 7)));
  }

  ByteChain part;
  fb.encode_rect(PixelFormat::rgb565(), 10, 20, 3, 2, part);
  ASSERT_EQ(part.size(), 3u * 2 * 2);
  std::string p = part.to_string();
  uint8_t pix[2];
  PixelFormat::rgb565().encode(fb.at(12, 21), pix);
  EXPECT_EQ(0, memcmp(p.data() + (1 * 3 + 2) * 2, pix, 2));
}

}  // namespace
}  // namespace pvb
