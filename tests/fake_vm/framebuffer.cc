#include "tests/fake_vm/framebuffer.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstring>
#include <string>

#include "tests/fake_vm/font5x7.h"

namespace pvb {

Framebuffer::Framebuffer(uint16_t width, uint16_t height)
    : width_(width), height_(height), pixels_(static_cast<size_t>(width) * height, 0) {}

Framebuffer Framebuffer::test_pattern(uint16_t width, uint16_t height, std::string_view name,
                                      int reserved_bottom) {
  Framebuffer fb(width, height);
  // The classic SMPTE-like bars: white, yellow, cyan, green, magenta, red, blue, black.
  static constexpr uint32_t kBars[] = {0xFFFFFF, 0xFFFF00, 0x00FFFF, 0x00FF00,
                                       0xFF00FF, 0xFF0000, 0x0000FF, 0x000000};
  constexpr int kBarCount = sizeof kBars / sizeof kBars[0];
  const int bars_height = height * 2 / 3;
  for (int i = 0; i < kBarCount; ++i) {
    int x0 = width * i / kBarCount;
    int x1 = width * (i + 1) / kBarCount;
    fb.fill_rect(x0, 0, x1 - x0, bars_height, kBars[i]);
  }
  // A dark blue panel for the text, so the name reads well and is never on black.
  const int panel_y = bars_height;
  fb.fill_rect(0, panel_y, width, height - bars_height, 0x102040);
  const int panel_h = std::max(0, height - bars_height - reserved_bottom);

  // The name as large as fits in the panel's upper part; the size line small below it.
  std::string size_line = std::to_string(width) + "x" + std::to_string(height);
  const int margin = std::max(1, width / 32);
  int name_scale = 1;
  if (!name.empty()) {
    int by_width = (width - 2 * margin) / std::max(1, text_width(name, 1));
    int by_height = panel_h * 2 / 3 / (kGlyphHeight + 2);
    name_scale = std::max(1, std::min(by_width, by_height));
  }
  const int size_scale = std::max(1, name_scale / 3);
  const int name_h = name.empty() ? 0 : kGlyphHeight * name_scale;
  const int gap = name.empty() ? 0 : std::max(1, name_scale);
  const int block_h = name_h + gap + kGlyphHeight * size_scale;
  const int top = panel_y + std::max(0, (panel_h - block_h) / 2);
  fb.draw_text((width - text_width(name, name_scale)) / 2, top, name, name_scale, 0xFFFFFF);
  fb.draw_text((width - text_width(size_line, size_scale)) / 2, top + name_h + gap, size_line,
               size_scale, 0xFFD040);
  return fb;
}

void Framebuffer::fill_rect(int x, int y, int w, int h, uint32_t rgb) {
  const int x0 = std::max(0, x), y0 = std::max(0, y);
  const int x1 = std::min<int>(width_, x + w), y1 = std::min<int>(height_, y + h);
  for (int row = y0; row < y1; ++row) {
    uint32_t* line = pixels_.data() + static_cast<size_t>(row) * width_;
    std::fill(line + x0, line + std::max(x0, x1), rgb);
  }
}

int Framebuffer::text_width(std::string_view text, int scale) {
  if (text.empty()) return 0;
  return static_cast<int>(text.size()) * (kGlyphWidth + 1) * scale - scale;
}

void Framebuffer::draw_text(int x, int y, std::string_view text, int scale, uint32_t rgb) {
  for (size_t i = 0; i < text.size(); ++i) {
    const int gx = x + static_cast<int>(i) * (kGlyphWidth + 1) * scale;
    for (int col = 0; col < kGlyphWidth; ++col) {
      for (int row = 0; row < kGlyphHeight; ++row) {
        if (glyph_pixel(text[i], col, row)) {
          fill_rect(gx + col * scale, y + row * scale, scale, scale, rgb);
        }
      }
    }
  }
}

void Framebuffer::encode_rect(const PixelFormat& format, uint16_t x, uint16_t y, uint16_t w,
                              uint16_t h, ByteChain& out) const {
  assert(x + w <= width_ && y + h <= height_);
  assert(!format.unsupported_reason());
  // Our pixels already are little-endian 0x00RRGGBB words: on a little-endian host the default
  // format is a straight copy of each row (this is what the throughput benchmarks pull).
  const bool verbatim =
      std::endian::native == std::endian::little && format == PixelFormat::rgb888();
  const size_t bpp = format.bytes_per_pixel();
  // Fill reserved block space directly: the encoding is the only write, no staging buffer.
  std::span<uint8_t> room;
  size_t used = 0;
  for (int row = y; row < y + h; ++row) {
    const uint32_t* line = pixels_.data() + static_cast<size_t>(row) * width_;
    for (int col = x; col < x + w;) {
      if (room.size() - used < bpp) {
        if (used > 0) out.commit(used);
        room = out.reserve(bpp);
        used = 0;
      }
      if (verbatim) {
        const size_t n = std::min<size_t>((room.size() - used) / bpp, x + w - col);
        std::memcpy(room.data() + used, line + col, n * bpp);
        used += n * bpp;
        col += static_cast<int>(n);
      } else {
        format.encode(line[col], room.data() + used);
        used += bpp;
        ++col;
      }
    }
  }
  if (used > 0) out.commit(used);
}

}  // namespace pvb
