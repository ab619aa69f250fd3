// The 16-byte PIXEL_FORMAT of ServerInit and SetPixelFormat: how many bytes a pixel takes on the
// wire (what the delimiters need) and how to turn a colour into those bytes (what the fake VM
// needs).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace pvb {

// The 16-byte PIXEL_FORMAT of ServerInit and SetPixelFormat.
struct PixelFormat {
  uint8_t bits_per_pixel = 32;
  uint8_t depth = 24;
  bool big_endian = false;
  bool true_colour = true;
  uint16_t red_max = 255, green_max = 255, blue_max = 255;
  uint8_t red_shift = 16, green_shift = 8, blue_shift = 0;

  static constexpr size_t kWireLength = 16;
  // 32 bpp, little-endian, 0x00RRGGBB: what QEMU announces and what our client asks for.
  static PixelFormat rgb888() { return {}; }
  // 16 bpp true colour, 5-6-5.
  static PixelFormat rgb565();

  size_t bytes_per_pixel() const { return bits_per_pixel / 8; }
  void write(uint8_t out[kWireLength]) const;
  static PixelFormat read(const uint8_t in[kWireLength]);
  // Why we cannot produce pixels in this format (colour maps, odd sizes), or nullopt if we can.
  std::optional<std::string> unsupported_reason() const;
  // Writes one 0xRRGGBB colour as bytes_per_pixel() bytes; the format must be supported.
  void encode(uint32_t rgb, uint8_t* out) const;
  // The inverse, scaled back to 8 bits per channel (exact for rgb888).
  uint32_t decode(const uint8_t* in) const;

  bool operator==(const PixelFormat&) const = default;
};

}  // namespace pvb
