// The fake VM's screen: 32-bit 0x00RRGGBB pixels with a test pattern a human recognizes (colour
// bars and the guest's name in large letters), never blank, so a snapshot taken through the
// bridge shows which guest answered and that pixels arrived intact.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "engine/core/byte_chain.h"
#include "tests/fake_vm/rfb_protocol.h"

namespace pvb {

class Framebuffer {
 public:
  Framebuffer(uint16_t width, uint16_t height);
  // Colour bars over the top two thirds; the name, large, and "WIDTHxHEIGHT" below them, centred
  // in the panel above its bottom `reserved_bottom` rows (which stay panel-coloured).
  static Framebuffer test_pattern(uint16_t width, uint16_t height, std::string_view name,
                                  int reserved_bottom = 0);

  uint16_t width() const { return width_; }
  uint16_t height() const { return height_; }
  uint32_t at(int x, int y) const { return pixels_[static_cast<size_t>(y) * width_ + x]; }
  const std::vector<uint32_t>& pixels() const { return pixels_; }

  // Drawing; everything is clipped to the screen.
  void fill_rect(int x, int y, int w, int h, uint32_t rgb);
  // Text in the built-in 5x7 font, each font pixel a scale x scale square, one blank column
  // between glyphs. (x, y) is the top-left corner of the first glyph.
  void draw_text(int x, int y, std::string_view text, int scale, uint32_t rgb);
  static int text_width(std::string_view text, int scale);

  // Appends the rectangle's pixels (row by row, in `format`) to out, written straight into the
  // chain's blocks. The rectangle must lie inside the screen and the format must be supported.
  void encode_rect(const PixelFormat& format, uint16_t x, uint16_t y, uint16_t w, uint16_t h,
                   ByteChain& out) const;

 private:
  uint16_t width_;
  uint16_t height_;
  std::vector<uint32_t> pixels_;
};

}  // namespace pvb
